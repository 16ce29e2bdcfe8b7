"""Exports (API.md, "Reporting, exports and the registry"): files made in the background, the 360Giving
package and the list of operations."""

from __future__ import annotations

import json

from flask import current_app, url_for
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.api.openapi import file_download
from grants.calls.models import Programme
from grants.core.db import db, today
from grants.core.errors import NotFound, PermissionDenied
from grants.core.paging import page_of, page_schema
from grants.core.security import require_roles
from grants.core.uploads import download_response
from grants.exports import services
from grants.exports.datasets import OPERATION_COLUMNS, operation_rows
from grants.exports.schemas import ExportListArgs, ExportRequestSchema, ExportSchema, OperationsArgs, ProgrammeArgs
from grants.exports.streams import download as send_chunks
from grants.exports.streams import table_chunks
from grants.exports.threesixty import count_awards, package_chunks

blp = Blueprint("api_exports", __name__, description="Exports: CSV, XLSX and JSON files of the data (in the "
                                                     "background when Redis is configured), 360Giving, the list "
                                                     "of operations")


def _programme(programme_id: int) -> Programme:
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound()
    return programme


def _visible(export_id: int):
    export = services.get_export(export_id)
    if not services.can_see(current_user, export):
        raise NotFound()
    return export


@blp.route("/exports", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*services.EXPORTERS)
@blp.arguments(ExportRequestSchema)
@blp.response(202, ExportSchema)
@blp.alt_response(422, description="An unknown kind, a format it does not come in, or a wrong filter (`fields`).")
def request_export(data):
    """Ask for an export; 202 with its state. Without Redis it is made at once (state `done` or `failed`); with
    Redis a worker makes it (`make run-worker`): follow `GET /exports/{id}`."""
    export = services.request_export(current_user, data["kind"], data["format"], data["filters"])
    db.session.commit()
    services.start(export)
    db.session.refresh(export)
    return export, 202, {"Location": url_for("api_exports.read", export_id=export.id)}


@blp.route("/exports", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*services.EXPORTERS)
@blp.arguments(ExportListArgs, location="query")
@blp.response(200, page_schema(ExportSchema))
def list_exports(args):
    """The caller's exports (auditors and admins: everyone's), newest first."""
    return page_of(services.exports_query(current_user), args["page"], args["per_page"])


@blp.route("/exports/<int:export_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*services.EXPORTERS)
@blp.response(200, ExportSchema)
def read(export_id: int):
    """The export's state and progress; once done, `download_url`; when failed, `error`. An export whose worker
    stopped reporting is started again."""
    export = _visible(export_id)
    if export.state == "running" and services.requeue_stale():
        db.session.refresh(export)
    return export


@blp.route("/exports/<int:export_id>/download", methods=["GET"])
@blp.doc(security=BEARER, responses=file_download("The file.", services.CONTENT_TYPES.values()))
@authenticated(*services.EXPORTERS)
@blp.alt_response(409, description="Not ready yet.")
def download(export_id: int):
    """The finished file (its download is audited)."""
    export = _visible(export_id)
    handle = services.open_file(export, current_user)
    db.session.commit()
    return download_response(handle, filename=export.filename, content_type=export.content_type)


@blp.route("/exports/<int:export_id>/retry", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*services.EXPORTERS)
@blp.response(202, ExportSchema)
@blp.alt_response(409, description="It has not failed.")
def retry(export_id: int):
    """Try a failed export again, from the start."""
    export = _visible(export_id)
    services.retry(export, current_user)
    db.session.commit()
    services.start(export)
    db.session.refresh(export)
    return export


@blp.route("/exports/360giving", methods=["GET"])
@blp.doc(security=BEARER, responses={"200": {"description": "A 360Giving data package: {version, publisher, "
                                                            "grants: [...]}", "content": {"application/json": {}}}})
@authenticated(*services.EXPORTERS)
@blp.arguments(ProgrammeArgs, location="query")
@blp.alt_response(404, description="No such programme, or it has awarded no grant yet.")
def threesixtygiving(args):
    """The programme's awarded grants as a 360Giving data package (schema 1.4), streamed."""
    programme = _programme(args["programme_id"])
    if not count_awards(programme.id):
        raise NotFound("The programme has not awarded any grant yet.")
    services.record_download(current_user, "threesixtygiving", {"programme_id": programme.id})
    db.session.commit()
    return send_chunks(package_chunks(programme, issued=today()), export_format="json",
                    filename=f"360giving-{programme.code}.json")


@blp.route("/exports/operations", methods=["GET"])
@blp.doc(responses=file_download("The list of operations (CSV, XLSX or JSON).", services.CONTENT_TYPES.values()))
@blp.arguments(OperationsArgs, location="query")
@blp.alt_response(401, description="Not yet published: sign in as officer, auditor or admin.")
@blp.alt_response(403, description="Not yet published, and the caller is no officer, auditor or admin.")
@blp.alt_response(404, description="No such programme.")
def operations(args):
    """The programme's list of operations (beneficiary, operation, purpose, dates, total eligible cost, fund,
    co-financing rate, location, intervention field): public once an officer published it."""
    programme = _programme(args["programme_id"])
    if not services.may_read_operations(current_user, programme):
        require_roles(current_user, services.EXPORTERS)
        raise PermissionDenied()
    services.record_download(current_user, "operations", {"programme_id": programme.id, "format": args["format"]})
    db.session.commit()
    rows = operation_rows(programme.id, current_app.config["OPERATIONS_INTERVENTION_FIELD"])
    chunks = table_chunks(OPERATION_COLUMNS, rows, args["format"], title=programme.code,
                          json_head='{"programme":' + json.dumps(programme.code) + ',"operations":[')
    return send_chunks(chunks, export_format=args["format"], filename=f"operations-{programme.code}.{args['format']}")


@blp.route("/programmes/<int:programme_id>/operations/publish", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated("officer")
@blp.response(204)
def publish_operations(programme_id: int):
    """Publish the programme's list of operations: anyone may download it from now on."""
    services.publish_operations(_programme(programme_id), current_user)
    db.session.commit()
