"""Applications: drafts, their workflow actions and history, their files."""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from grants.api.common import BEARER, authenticated
from grants.api.openapi import file_download
from grants.applications.attachment_schemas import AttachmentSchema, AttachmentUploadSchema
from grants.applications.attachments import (
    add_attachment,
    get_attachment,
    list_attachments,
    open_attachment,
    remove_attachment,
)
from grants.applications.clarification import act_on_application
from grants.applications.models import Application, Submission
from grants.applications.permissions import newest_change_first, readable
from grants.applications.schemas import (
    ApplicationCreateSchema,
    ApplicationFireSchema,
    ApplicationListArgs,
    ApplicationPatchSchema,
    ApplicationSchema,
)
from grants.applications.search import newest_first_matching
from grants.applications.services import create_application, get_readable, update_application
from grants.core.db import db
from grants.core.errors import NotFound
from grants.core.paging import page_of, page_schema
from grants.core.roles import RoleCode
from grants.core.uploads import ALLOWED_TYPES, download_response
from grants.workflows.engine import available_triggers
from grants.workflows.history import history
from grants.workflows.schemas import HistoryEntrySchema, TransitionSchema

blp = Blueprint("api_applications", __name__, description="Applications and their workflow")


@blp.route("/applications", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(ApplicationCreateSchema)
@blp.response(201, ApplicationSchema)
def create(data):
    """Start a draft for one SI stage of an initiative (a new initiative unless `initiative_id`)."""
    application = create_application(current_user, data)
    db.session.commit()
    return application


@blp.route("/applications", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(ApplicationListArgs, location="query")
@blp.response(200, page_schema(ApplicationSchema))
def list_(args):
    """The applications the caller may see, newest change first; filters `call_id`, `state`, `si_stage`, and
    the search `q`."""
    query = sa.select(Application).where(readable(current_user)).order_by(*newest_change_first(current_user))
    for field in ("call_id", "state", "si_stage"):
        if args.get(field) is not None:
            query = query.where(getattr(Application, field) == args[field])
    if (args.get("q") or "").strip():
        query = newest_first_matching(query, args["q"])
    # the latest submission's time and hash only (not every snapshot); all applications: a bounded count
    query = query.options(sa.orm.selectinload(Application.submissions).load_only(
        Submission.round, Submission.submitted_at, Submission.content_hash))
    return page_of(query, args["page"], args["per_page"], bounded=True)


@blp.route("/applications/<int:application_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, ApplicationSchema)
def read(application_id: int):
    return get_readable(current_user, application_id)


@blp.route("/applications/<int:application_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(ApplicationPatchSchema)
@blp.response(200, ApplicationSchema)
@blp.alt_response(409, description="A stale `version` (`conflict`) or no longer editable (`not_editable`).")
def update(data, application_id: int):
    """Change a draft; send the `version` you read."""
    application = get_readable(current_user, application_id)
    if not current_user.is_member_of(application.organisation_id):
        raise NotFound()
    version = data.pop("version")
    update_application(application, current_user, data, version)
    db.session.commit()
    return application


@blp.route("/applications/<int:application_id>/transitions", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, TransitionSchema(many=True))
@authenticated()
def transitions(application_id: int):
    """The actions the caller may take on the application now."""
    return available_triggers(get_readable(current_user, application_id), current_user)


@blp.route("/applications/<int:application_id>/transitions", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(ApplicationFireSchema)
@blp.response(200, ApplicationSchema)
@blp.alt_response(403, description="The caller's role may not take this action.")
@blp.alt_response(409, description="Not possible from the current state, a guard refused (`reasons`), "
                                   "or the application changed meanwhile (`conflict`).")
def fire_(data, application_id: int):
    """Take an action (fire a workflow trigger); the answer is the application afterwards."""
    application = get_readable(current_user, application_id)
    act_on_application(application, data["trigger"], current_user, comment=data["comment"],
                       expected_version=data["version"], reopen=data["reopen"])
    db.session.commit()
    return application


@blp.route("/applications/<int:application_id>/history", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, HistoryEntrySchema(many=True))
@authenticated()
def history_(application_id: int):
    """What happened to the application, oldest first, as the caller may see it."""
    application = get_readable(current_user, application_id)
    return history(application, current_user)


# --- Attachments ------------------------------------------------------------------------------

@blp.ARGUMENTS_PARSER.location_loader("multipart")
def _load_multipart(req, schema):
    """Files and form fields of one ``multipart/form-data`` body, read as one schema."""
    return MultiDictProxy(CombinedMultiDict([req.files, req.form]), schema)


#: So the OpenAPI document shows the ``multipart`` arguments as a multipart request body.
blp.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}


@blp.route("/applications/<int:application_id>/attachments", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, AttachmentSchema(many=True))
@authenticated()
def attachments(application_id: int):
    """The application's files (removed ones are not listed), oldest first."""
    return list_attachments(get_readable(current_user, application_id))


@blp.route("/applications/<int:application_id>/attachments", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(AttachmentUploadSchema, location="multipart")
@blp.response(201, AttachmentSchema)
@blp.alt_response(409, description="The application is not editable now (submitted, decided…).")
@blp.alt_response(413, description="The file is over the size limit (`MAX_UPLOAD_MB`, 20 MB by default).")
def upload_attachment(data, application_id: int):
    """Attach a file (owner, while editable). The type is checked by content: PDF, DOCX, XLSX, ODT, ODS,
    PNG or JPEG, with a matching extension; anything else is refused with 422 and `fields.file`."""
    application = get_readable(current_user, application_id)
    attachment = add_attachment(application, current_user, data["file"], question_code=data["question_code"])
    db.session.commit()
    return attachment


@blp.route("/applications/<int:application_id>/attachments/<int:attachment_id>", methods=["GET"])
@blp.doc(security=BEARER, responses=file_download(
    "The file, as an attachment download with the detected content type.", ALLOWED_TYPES))
@authenticated()
def download_attachment(application_id: int, attachment_id: int):
    """Download a file (those who may read the application)."""
    application = get_readable(current_user, application_id)
    attachment = get_attachment(application, attachment_id)
    return download_response(open_attachment(current_user, application, attachment),
                             filename=attachment.filename, content_type=attachment.content_type)


@blp.route("/applications/<int:application_id>/attachments/<int:attachment_id>", methods=["DELETE"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(204)
@blp.alt_response(409, description="The application is not editable now.")
def delete_attachment(application_id: int, attachment_id: int):
    """Remove a file (owner, while editable); submitted snapshots that list it keep it."""
    application = get_readable(current_user, application_id)
    remove_attachment(application, current_user, get_attachment(application, attachment_id))
    db.session.commit()
