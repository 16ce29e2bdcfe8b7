"""Export pages: ask for a file, follow its progress, download it, retry a failed one; the 360Giving package
and the list of operations of each programme (public once published)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.applications.listing import BULK_ROLES, read_selection
from grants.calls.models import Call, Programme
from grants.core.db import db, today
from grants.core.errors import Conflict, GrantsError, NotFound, PermissionDenied, UserInputError
from grants.core.forms import BaseForm
from grants.core.paging import count_of, window
from grants.core.security import roles_required
from grants.core.uploads import download_response
from grants.exports import services
from grants.exports.datasets import DATASETS, OPERATION_COLUMNS, operation_rows
from grants.exports.forms import ExportForm
from grants.exports.models import Export
from grants.exports.streams import download as send_chunks
from grants.exports.streams import selected_applications_csv, table_chunks
from grants.exports.threesixty import count_awards, package_chunks

bp = Blueprint("exports", __name__, url_prefix="/exports")

PER_PAGE = 30


def _form(formdata=None) -> ExportForm:
    form = ExportForm(formdata=formdata) if formdata is not None else ExportForm()
    form.kind.choices = [(kind, str(found.title)) for kind, found in DATASETS.items()]
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.code)).all()
    calls = db.session.scalars(sa.select(Call).order_by(Call.code)).unique().all()
    form.programme_id.choices = [(0, _("All programmes"))] + [(p.id, f"{p.code} {p.title}") for p in programmes]
    form.call_id.choices = [(0, _("All calls"))] + [(c.id, f"{c.code} {c.title}") for c in calls]
    return form


def _page(form: ExportForm, status: int = 200):
    page = max(request.args.get("page", 1, type=int), 1)
    query = services.exports_query(current_user)
    exports = db.session.scalars(window(query, page, PER_PAGE)).all()
    total = count_of(query)
    programmes = db.session.scalars(sa.select(Programme).order_by(Programme.code)).all()
    busy = any(export.state in ("queued", "running") for export in exports)
    return render_template("exports/index.html", form=form, exports=exports, page=page,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), programmes=programmes, busy=busy,
                           titles={kind: str(found.title) for kind, found in DATASETS.items()},
                           may_publish=current_user.has_role("officer"), confirm=BaseForm()), status


@bp.get("/")
@login_required
@roles_required(*services.EXPORTERS)
def index():
    return _page(_form())


@bp.post("/")
@login_required
@roles_required(*services.EXPORTERS)
def request_export():
    form = _form(request.form)
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        export = services.request_export(current_user, form.kind.data, form.format.data, form.filters())
    except UserInputError as refused:
        db.session.rollback()
        for key, messages in refused.fields.items():
            target = form._fields.get(key.removeprefix("filters.")) or form.kind
            target.errors = list(target.errors) + messages
        return _page(form, 422)
    db.session.commit()
    mode = services.start(export)
    db.session.refresh(export)
    if export.state == "done":
        flash(_("The export is ready."), "success")
    elif export.state == "failed":
        flash(_("The export failed: %(reason)s", reason=export.error), "error")
    elif mode == "queued":
        flash(_("The export is being made in the background; this page shows its progress."), "success")
    return redirect(url_for("exports.index", _anchor=f"export-{export.id}"))


def _visible(export_id: int) -> Export:
    export = db.session.get(Export, export_id)
    if export is None or not services.can_see(current_user, export):
        raise NotFound()
    return export


@bp.get("/<int:export_id>/download")
@login_required
@roles_required(*services.EXPORTERS)
def download(export_id: int):
    export = _visible(export_id)
    try:
        handle = services.open_file(export, current_user)
    except Conflict as refused:
        flash(str(refused), "error")
        return redirect(url_for("exports.index", _anchor=f"export-{export.id}"))
    db.session.commit()
    return download_response(handle, filename=export.filename, content_type=export.content_type)


@bp.post("/<int:export_id>/retry")
@login_required
@roles_required(*services.EXPORTERS)
def retry(export_id: int):
    export = _visible(export_id)
    if not BaseForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return redirect(url_for("exports.index"))
    try:
        services.retry(export, current_user)
    except GrantsError as refused:
        db.session.rollback()
        flash(str(refused), "error")
        return redirect(url_for("exports.index"))
    db.session.commit()
    services.start(export)
    flash(_("The export is being made again."), "success")
    return redirect(url_for("exports.index", _anchor=f"export-{export.id}"))


@bp.post("/applications/selected")
@login_required
@roles_required(*BULK_ROLES)
def selected_applications():
    """The applications ticked on the applications list, as CSV (the applications export's columns); the
    download is audited as an export (``export.applications_selected``). Refused: back to the list, saying why."""
    ids, back = read_selection(BaseForm(), current_user)
    if ids is None:
        return redirect(back)
    services.record_download(current_user, "applications_selected", {"application_ids": ids, "format": "csv"})
    db.session.commit()
    return selected_applications_csv(ids)


def _programme(programme_id: int) -> Programme:
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound()
    return programme


@bp.get("/programmes/<int:programme_id>/360giving.json")
@login_required
@roles_required(*services.EXPORTERS)
def threesixtygiving(programme_id: int):
    programme = _programme(programme_id)
    if not count_awards(programme.id):
        flash(_("The programme has not awarded any grant yet."), "info")
        return redirect(url_for("exports.index"))
    services.record_download(current_user, "threesixtygiving", {"programme_id": programme.id})
    db.session.commit()
    return send_chunks(package_chunks(programme, issued=today()), export_format="json",
                       filename=f"360giving-{programme.code}.json")


@bp.get("/programmes/<int:programme_id>/operations.<export_format>")
def operations(programme_id: int, export_format: str):
    """The list of operations: anyone once published, before that staff who export."""
    programme = _programme(programme_id)
    if export_format not in ("csv", "xlsx", "json"):
        raise NotFound()
    if not services.may_read_operations(current_user, programme):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        raise PermissionDenied()
    services.record_download(current_user, "operations", {"programme_id": programme.id, "format": export_format})
    db.session.commit()
    rows = operation_rows(programme.id, current_app.config["OPERATIONS_INTERVENTION_FIELD"])
    chunks = table_chunks(OPERATION_COLUMNS, rows, export_format, title=programme.code,
                          json_head='{"programme":' + json.dumps(programme.code) + ',"operations":[')
    return send_chunks(chunks, export_format=export_format, filename=f"operations-{programme.code}.{export_format}")


@bp.post("/programmes/<int:programme_id>/operations/publish")
@login_required
@roles_required("officer")
def publish_operations(programme_id: int):
    programme = _programme(programme_id)
    if BaseForm().validate_on_submit():
        services.publish_operations(programme, current_user)
        db.session.commit()
        flash(_("The list of operations of %(programme)s is public now.", programme=programme.code), "success")
    return redirect(url_for("exports.index", _anchor="published"))
