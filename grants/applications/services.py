"""Applications: reading, starting a draft, editing it, and the snapshot each submission freezes.

Moving an application through its round goes through grants.workflows.services.act; the
guards and effects of its workflows are in grants.applications.guards and .effects.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.applications.clarification import locked_changes, reopened_scope
from grants.applications.models import Application, Attachment, Submission
from grants.applications.permissions import can_read, is_editable, refusal
from grants.audit.changes import changes, snapshot
from grants.audit.services import record_event
from grants.calls.models import Call
from grants.core.db import content_hash, db, utcnow
from grants.core.errors import Conflict, NotFound, PermissionDenied, UserInputError
from grants.core.templating import format_money
from grants.forms.definitions import QuestionType, iter_questions
from grants.forms.validation import normalise_answers, validate_answers
from grants.initiatives.models import Initiative
from grants.initiatives.stages import STAGE_MODELS
from grants.organisations.models import Organisation
from grants.organisations.services import PROFILE_FIELDS

#: Fields of an application the applicant fills in (besides the answers to the call's form).
EDITABLE_FIELDS = ("title", "summary", "requested_amount", "duration_months", "answers")


class NotEditable(Conflict):
    code = "not_editable"

    def __init__(self) -> None:
        super().__init__(_("This application can no longer be changed: it has been submitted or decided."))


def get_readable(user, application_id: int) -> Application:
    """The application, if ``user`` may read it; otherwise it does not exist for them."""
    application = db.session.get(Application, application_id)
    if application is None:
        raise NotFound()
    if not can_read(user, application):
        why = refusal(user, application)  # linked to it (an assignment, say) but not open yet
        if why is not None:
            raise PermissionDenied(why)
        raise NotFound()
    return application


def create_application(user, data: dict[str, Any]) -> Application:
    """Start a draft for one SI stage of an initiative (a new one unless ``initiative_id``).

    ``data`` is already shaped by the schema; what needs the database is checked here and
    reported by field, so nothing is half-saved.
    """
    errors: dict[str, list[str]] = {}
    call = db.session.get(Call, data["call_id"])
    if call is None or not call.is_open:
        errors["call_id"] = [_("This call is not open for applications.")]
    organisation = db.session.get(Organisation, data["organisation_id"])
    if organisation is None or not user.is_member_of(organisation.id):
        errors["organisation_id"] = [_("Choose an organisation you belong to.")]
    if call is not None and data["si_stage"] not in call.stage_codes:
        errors["si_stage"] = [_("The call does not fund this SI stage.")]
    elif call is not None:
        outside = amount_limits_error(call, data["si_stage"], data["requested_amount"])
        if outside is not None:
            errors["requested_amount"] = [outside]
    initiative = None
    if data.get("initiative_id") is not None:
        initiative = db.session.get(Initiative, data["initiative_id"])
        if initiative is None or organisation is None or initiative.organisation_id != organisation.id:
            errors["initiative_id"] = [_("Choose an initiative of the applying organisation.")]
    if call is not None:
        errors.update(_answer_errors(call, data.get("answers") or {}))
        errors.update(_file_answer_errors(call, data.get("answers") or {}, attached=set()))
    if errors:
        raise UserInputError(fields=errors)
    data["answers"] = normalise_answers(call.form, data.get("answers") or {})
    if initiative is None:
        initiative = Initiative(organisation=organisation, title=data["title"], description=data.get("summary", ""),
                                current_stage=data["si_stage"], region=organisation.region)
        db.session.add(initiative)
    application = Application(
        call=call, organisation=organisation, initiative=initiative, created_by=user, si_stage=data["si_stage"],
        title=data["title"], summary=data.get("summary", ""), requested_amount=data["requested_amount"],
        duration_months=data["duration_months"], answers=data.get("answers") or {},
        workflow_name=call.workflow_name, workflow_version=call.workflow_version)
    db.session.add(application)
    db.session.flush()
    record_event(action="application.create", object_type="application", object_id=application.id, actor=user,
                 role="applicant", payload={"after": snapshot(application, ("call_id", "organisation_id",
                                                                          "initiative_id", "si_stage",
                                                                          *EDITABLE_FIELDS))})
    return application


def update_application(application: Application, user, data: dict[str, Any], version: int) -> Application:
    """Change a draft (or what a clarification request reopened); ``version`` is the one the
    applicant saw: a stale one is a conflict, never a silent overwrite."""
    if version != application.version:
        raise Conflict()
    if not is_editable(application):
        raise NotEditable()
    if "answers" in data:
        errors = _answer_errors(application.call, data["answers"] or {})
        if errors:
            raise UserInputError(fields=errors)
        data = {**data, "answers": normalise_answers(application.call.form, data["answers"] or {})}
        errors = _file_answer_errors(application.call, data["answers"], attached=_attached_ids(application))
        if errors:
            raise UserInputError(fields=errors)
    errors = locked_changes(application, data, reopened_scope(application))
    if errors:
        raise UserInputError(_("Change only what the clarification request reopened."), fields=errors)
    if data.get("requested_amount") is not None and data["requested_amount"] != application.requested_amount:
        outside = amount_limits_error(application.call, application.si_stage, data["requested_amount"])
        if outside is not None:
            raise UserInputError(fields={"requested_amount": [outside]})
    before = snapshot(application, EDITABLE_FIELDS)
    for field in EDITABLE_FIELDS:
        if field in data:
            setattr(application, field, data[field])
    changed = changes(before, snapshot(application, EDITABLE_FIELDS))
    if changed:
        application.updated_at = utcnow()
        db.session.flush()
        record_event(action="application.update", object_type="application", object_id=application.id,
                     actor=user, role="applicant", payload={"changes": changed})
    return application


def amount_limits_error(call: Call, si_stage: str, amount: Decimal | None) -> str | None:
    """Why ``amount`` is outside the smallest and the largest grant of the call's SI stage ``si_stage``, or None.

    The limits are the call's, whatever its eligibility rules say (the ``amount_within_stage_limits`` rule is
    the explained check an applicant sees): a draft cannot take an amount outside them, a submission is
    refused while its amount is outside them (the ``answers_complete`` guard), and the committee awards within
    them (grants.decisions)."""
    stage = call.stage(si_stage)
    if stage is None or amount is None or stage.min_grant <= amount <= stage.max_grant:
        return None
    return _("Between %(min)s and %(max)s for this SI stage.", min=format_money(stage.min_grant),
             max=format_money(stage.max_grant))


def _answer_errors(call: Call, answers: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with the answers as typed (types, limits, options); blanks are fine in a
    draft. Keys are ``answers.<question code>[.row[.column]]``."""
    return {f"answers.{code}": messages
            for code, messages in validate_answers(call.form, answers, complete=False).items()}


def _attached_ids(application: Application) -> set[int]:
    return set(db.session.scalars(sa.select(Attachment.id).where(Attachment.application_id == application.id,
                                                                 Attachment.removed_at.is_(None))))


def _file_answer_errors(call: Call, answers: dict[str, Any], attached: set[int]) -> dict[str, list[str]]:
    """A file question's answer must name a file of this application that is still attached."""
    errors = {}
    for _section, question in iter_questions(call.form):
        value = answers.get(question["code"])
        if question.get("type") != QuestionType.FILE or value in (None, ""):
            continue
        if not (str(value).isdigit() and int(value) in attached):
            errors[f"answers.{question['code']}"] = [_("Choose a file attached to this application.")]
    return errors


def current_attachments(application: Application) -> list[Attachment]:
    """The files attached to the application and not removed, in upload order."""
    with db.session.no_autoflush:
        return list(db.session.scalars(sa.select(Attachment).where(
            Attachment.application_id == application.id, Attachment.removed_at.is_(None)).order_by(Attachment.id)))


def missing_answers(application: Application, attachments: list[Attachment] | None = None) -> dict[str, list[str]]:
    """Everything that stops a submission: required questions unanswered, answers not valid,
    a file answer whose file was removed (``attachments``: the current ones, when the caller has them)."""
    attached = {a.id for a in attachments} if attachments is not None else _attached_ids(application)
    errors = validate_answers(application.call.form, application.answers or {}, complete=True)
    for key, messages in _file_answer_errors(application.call, application.answers or {},
                                             attached=attached).items():
        errors.setdefault(key.removeprefix("answers."), messages)
    return errors


def next_award_stage(application: Application) -> str | None:
    """The call's next funded stage after the one the award funds now (stage-gated calls)."""
    model = STAGE_MODELS[application.call.programme.stage_model]
    funded = sorted((s.si_stage for s in application.call.stages), key=model.position)
    later = [code for code in funded if model.position(code) > model.position(application.award_stage)]
    return later[0] if later else None


def _plain(value: Any) -> Any:
    return f"{value:.2f}" if isinstance(value, Decimal) else getattr(value, "value", value)


def take_snapshot(application: Application, actor, trigger: str,
                  attachments: list[Attachment] | None = None) -> Submission:
    """Freeze what is being submitted: the application, its answers, the organisation's data as
    it is now and the hashes of the files (``attachments``: the current ones, when the caller has
    them); the content hash is shown on the receipt.

    Runs as the submit transition happens (a before-save effect): the submission row is written
    with the application's new state, and its round and hash go into that transition's audit event.
    """
    if attachments is None:
        attachments = current_attachments(application)
    with db.session.no_autoflush:
        rounds = db.session.scalar(sa.select(sa.func.count()).select_from(Submission)
                                   .where(Submission.application_id == application.id))
        data = _snapshot_data(application, attachments)
    submission = Submission(application=application, round=rounds + 1, trigger=trigger, submitted_at=utcnow(),
                            submitted_by_id=actor.id if actor is not None else None, snapshot=data,
                            content_hash=content_hash(data))
    db.session.add(submission)
    return submission


def _snapshot_data(application: Application, attachments: list[Attachment]) -> dict[str, Any]:
    organisation = application.organisation
    return {
        "application": {"id": application.id, "call_id": application.call_id, "call_version": application.call.version,
                        "si_stage": application.si_stage, "title": application.title,
                        "summary": application.summary, "requested_amount": _plain(application.requested_amount),
                        "duration_months": application.duration_months, "answers": application.answers or {}},
        "organisation": {field: _plain(getattr(organisation, field)) for field in ("id", *PROFILE_FIELDS)},
        "initiative": {"id": application.initiative_id, "title": application.initiative.title},
        "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256, "question_code": a.question_code} for a in attachments],
    }
