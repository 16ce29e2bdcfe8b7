"""Applications: drafts, their workflow actions and history, their files."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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
from grants.applications.listing import (
    BULK_ROLES,
    DEFAULT_SORT,
    MAX_SELECTED,
    SORTS,
    Listing,
    application_states,
    page_of,
    unknown_ids,
)
from grants.applications.models import Application, Submission
from grants.applications.schemas import (
    ApplicationCreateSchema,
    ApplicationFireSchema,
    ApplicationListArgs,
    ApplicationPatchSchema,
    ApplicationSchema,
)
from grants.applications.services import create_application, get_readable, update_application
from grants.core.db import db
from grants.core.errors import NotFound, UserInputError
from grants.core.paging import page_schema, valid_id
from grants.core.roles import RoleCode
from grants.core.uploads import ALLOWED_TYPES, download_response
from grants.evaluations.services import auto_assign_selected
from grants.exports.services import record_download
from grants.exports.streams import selected_applications_csv
from grants.initiatives.stages import ALL_STAGE_CODES
from grants.workflows.engine import available_triggers
from grants.workflows.history import history
from grants.workflows.schemas import HistoryEntrySchema, TransitionSchema

blp = Blueprint("api_applications", __name__, description="Applications and their workflow")


def _one_of(choices, message):
    """A validator: the value is one of ``choices()`` (read when validating: the workflows load lazily)."""
    def validate(value):
        if value not in choices():
            raise ma.ValidationError(str(message))
    return validate


class ListArgs(ApplicationListArgs):
    state = ma.fields.String(load_default=None, validate=_one_of(
        application_states, _l("Choose one of the states of the application workflows.")),
        metadata={"description": "A workflow state code (`state` of an application)."})
    si_stage = ma.fields.String(load_default=None, validate=_one_of(
        lambda: ALL_STAGE_CODES, _l("Choose one of the SI stages.")), metadata={"description": "An SI stage code."})
    sort = ma.fields.String(load_default=DEFAULT_SORT, validate=_one_of(
        lambda: SORTS, _l("Choose one of the orders: %(sorts)s.", sorts=", ".join(SORTS))), metadata={
        "description": "`newest` change first (default), `oldest` change first, `title` (A–Z), `amount_desc` and "
                       "`amount_asc` (the requested amount), `submitted` (the latest submission, newest first; "
                       "those never submitted last)."})


class BulkSelectionSchema(ma.Schema):
    ids = ma.fields.List(ma.fields.Integer(strict=True, validate=valid_id), required=True,
                         validate=ma.validate.Length(min=1, max=MAX_SELECTED, error=_l(
                             "Give from %(min)d to %(max)d ids.", min=1, max=MAX_SELECTED)),
                         metadata={"description": f"Application ids (at most {MAX_SELECTED})."})


class _BulkAssignmentSchema(ma.Schema):
    id = ma.fields.Integer()
    application_id = ma.fields.Integer()
    evaluator_id = ma.fields.Integer()
    due_at = ma.fields.DateTime()


class _BulkAssignOutcomeSchema(ma.Schema):
    application_id = ma.fields.Integer()
    outcome = ma.fields.String(metadata={
        "description": "`assigned` (all it needed), `partly_assigned` or `no_evaluator` (the call's pool has too "
                       "few evaluators free of conflicts: `missing`), `complete` (it had them already), "
                       "`not_in_evaluation` (neither in evaluation nor at a stage gate: nothing done)."})
    missing = ma.fields.Integer(metadata={"description": "Evaluators it still lacks."})
    assignments = ma.fields.List(ma.fields.Nested(_BulkAssignmentSchema), metadata={
        "description": "The assignments made for it."})


class BulkAssignResultSchema(ma.Schema):
    created = ma.fields.Integer(metadata={"description": "How many assignments were made in all"})
    results = ma.fields.List(ma.fields.Nested(_BulkAssignOutcomeSchema), metadata={
        "description": "Per application asked for, by id"})


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
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_schema(ApplicationSchema))
@blp.alt_response(422, description="A filter or the order that is not valid (`fields` names it).")
def list_(args):
    """The applications the caller may see: filters `call_id`, `state`, `si_stage`, the search `q`, in the
    order `sort` (newest change first by default)."""
    listing = Listing(call_id=args.get("call_id"), state=args.get("state"), si_stage=args.get("si_stage"),
                      q=(args.get("q") or "").strip(), sort=args["sort"])
    # the latest submission's time and hash only (not every snapshot); not the call (its form, rules and rubric
    # for every row) nor the organisation, which the items do not show; all applications: a bounded count
    return page_of(current_user, listing, args["page"], args["per_page"], options=(
        sa.orm.selectinload(Application.submissions).load_only(
            Submission.round, Submission.submitted_at, Submission.content_hash),
        sa.orm.lazyload(Application.call), sa.orm.lazyload(Application.organisation))).as_dict()


# --- Bulk actions on a selection (officers, administrators) --------------------------------------------

def _selection(data) -> list[int]:
    """The ids asked for, each once; ids naming no application are refused (422 naming them)."""
    ids = list(dict.fromkeys(data["ids"]))
    unknown = unknown_ids(current_user, ids)
    if unknown:
        raise UserInputError(fields={"ids": [_("No application has the id %(ids)s.",
                                               ids=", ".join(str(app_id) for app_id in sorted(unknown)))]})
    return ids


@blp.route("/applications/bulk/assign", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*BULK_ROLES)
@blp.arguments(BulkSelectionSchema)
@blp.response(200, BulkAssignResultSchema)
@blp.alt_response(422, description="No ids, more than 200, or ids naming no application (`fields.ids`).")
def bulk_assign(data):
    """Automatic assignment for the chosen applications (whatever their calls): each one in evaluation or at
    a stage gate gets the evaluators its round still needs, as `POST /calls/{id}/assignments/auto` does for
    a whole call; per application, what was done or why not."""
    outcomes = auto_assign_selected(_selection(data), current_user)
    result = {"created": sum(len(item.created) for item in outcomes),
              "results": [{"application_id": item.application_id, "outcome": item.outcome, "missing": item.missing,
                           "assignments": [{"id": a.id, "application_id": a.application_id,
                                            "evaluator_id": a.evaluator_id, "due_at": a.due_at}
                                           for a in item.created]} for item in outcomes]}
    db.session.commit()
    return result


@blp.route("/applications/bulk/export", methods=["POST"])
@blp.doc(security=BEARER, responses=file_download(
    "The chosen applications as CSV, with the applications export's columns, by id.", ["text/csv"]))
@authenticated(*BULK_ROLES)
@blp.arguments(BulkSelectionSchema)
@blp.alt_response(422, description="No ids, more than 200, or ids naming no application (`fields.ids`).")
def bulk_export(data):
    """The chosen applications as CSV (the applications export's columns, headers in the request language);
    the download is audited as an export (`export.applications_selected`)."""
    ids = _selection(data)
    record_download(current_user, "applications_selected", {"application_ids": ids, "format": "csv"})
    db.session.commit()
    return selected_applications_csv(ids)


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
