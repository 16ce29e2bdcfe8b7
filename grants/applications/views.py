"""Application pages: the list, starting and editing a draft, one application with its actions,
history and files, and the receipt of each submission."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.applications.attachment_forms import AttachmentForm, RemoveAttachmentForm
from grants.applications.attachments import (
    UploadTooLarge,
    add_attachment,
    get_attachment,
    list_attachments,
    open_attachment,
    remove_attachment,
)
from grants.applications.clarification import (
    APPLICATION_FIELDS,
    act_on_application,
    may_change_file,
    reopenable,
    reopened_labels,
    reopened_scope,
)
from grants.applications.clarification import (
    TRIGGER as CLARIFICATION,
)
from grants.applications.forms import EditApplicationForm, NewApplicationForm
from grants.applications.listing import BULK_ROLES, Listing, back_to, choices, page_of, sort_labels
from grants.applications.models import Application, Attachment, Submission
from grants.applications.permissions import can_edit, is_editable
from grants.applications.services import (
    amount_limits_error,
    create_application,
    get_readable,
    missing_answers,
    update_application,
)
from grants.calls.models import Call
from grants.core.db import db
from grants.core.errors import Conflict, GrantsError, NotFound, UserInputError
from grants.core.i18n import current_language
from grants.core.input_guard import MAX_ID
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.core.templating import format_money, format_when
from grants.core.uploads import download_response
from grants.forms.definitions import iter_questions
from grants.forms.validation import answers_from_form, validate_answers
from grants.initiatives.models import Initiative
from grants.workflows.engine import available_triggers
from grants.workflows.forms import ActionForm, take_action
from grants.workflows.history import history

bp = Blueprint("applications", __name__, url_prefix="/applications")

PER_PAGE = 50


@bp.get("/")
@login_required
def index():
    """The applications the user may read: filtered, searched and sorted by the query string (a value that
    is not valid is left out); officers and administrators select rows for a bulk action."""
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_ID)
    listing = Listing.from_args(request.args)
    # what the rows show: not the answers, nor the call's form, rules and rubric (read for every row), nor the
    # call's stages or any snapshot; the latest submission's time comes with the rows
    found = page_of(current_user, listing, page, PER_PAGE, options=(
        sa.orm.defer(Application.answers), sa.orm.lazyload(Application.submissions),
        sa.orm.joinedload(Application.call).load_only(Call.code, Call.programme_id).lazyload(Call.stages),
        sa.orm.joinedload(Application.call).joinedload(Call.programme)), with_submitted_at=True)
    return render_template("applications/index.html", applications=found.items, page=page, total=found.total,
                           submitted_at=found.submitted_at,
                           total_is_estimate=found.total_is_estimate, pages=found.pages, q=listing.q,
                           listing=listing, query_args=listing.query_args(),
                           choices=choices(current_user, current_language()),
                           sorts=list(sort_labels().items()),
                           bulk=current_user.has_any_role(*BULK_ROLES),
                           back=back_to(listing, page), select_all=request.args.get("select") == "all")


@bp.route("/<int:application_id>", methods=["GET", "POST"])
@login_required
def detail(application_id: int):
    application = get_readable(current_user, application_id)
    form = ActionForm()
    status, error = 200, None
    if request.method == "POST":
        reopen = request.form.getlist("reopen") or None
        done, status, error = take_action(form, lambda trigger, **kwargs: act_on_application(
            application, trigger, current_user, reopen=reopen if trigger == CLARIFICATION else None, **kwargs))
        if done:
            return redirect(url_for("applications.detail", application_id=application.id))
        application = get_readable(current_user, application_id)  # as it is now, after the rollback
    form.version.data = application.version
    actions = available_triggers(application, current_user)
    language = current_language()
    scope = reopened_scope(application)
    return render_template("applications/detail.html", application=application, form=form, error=error,
                           can_edit=can_edit(current_user, application), next_step=next_step(application),
                           reopen_choices=(reopenable(application, language)
                                           if any(a["trigger"] == CLARIFICATION for a in actions) else []),
                           reopened=reopened_labels(application, scope, language),
                           panel=attachments_panel(application, scope), actions=actions,
                           history=history(application, current_user)), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
@roles_required(RoleCode.APPLICANT)  # as the API (POST /api/v1/applications)
def new():
    """Start a draft for an open call: which organisation, which SI stage, which initiative."""
    call = db.session.get(Call, request.args.get("call_id", type=int) or 0)
    if call is None or not call.is_open:
        raise NotFound()
    form = NewApplicationForm()
    form.organisation_id.choices = [(o.id, o.name) for o in current_user.organisations]
    form.si_stage.choices = [(stage.si_stage, _("%(stage)s (%(min)s – %(max)s)", stage=stage.label,
                                                 min=format_money(stage.min_grant), max=format_money(stage.max_grant)))
                             for stage in call.stages]
    initiatives = db.session.scalars(sa.select(Initiative).where(
        Initiative.organisation_id.in_([o.id for o in current_user.organisations])).order_by(Initiative.title)).all()
    form.initiative_id.choices = [(0, _("A new initiative"))] + [
        (i.id, f"{i.title} ({i.organisation.name}, {i.stage_label})") for i in initiatives]
    if not form.organisation_id.choices:
        flash(_("First create the profile of the organisation that applies."), "info")
        return redirect(url_for("organisations.new"))
    status = 200
    if form.validate_on_submit():
        try:
            application = create_application(current_user, {
                **form.values(), "call_id": call.id, "organisation_id": form.organisation_id.data,
                "si_stage": form.si_stage.data, "initiative_id": form.initiative_id.data or None})
        except UserInputError as error:
            db.session.rollback()
            for field, messages in error.fields.items():
                if field in form:
                    form[field].errors = list(form[field].errors) + messages
            status = 422
        else:
            db.session.commit()
            flash(_("The draft has been saved. Complete it and submit it before the deadline."), "success")
            return redirect(url_for("applications.edit", application_id=application.id))
    elif form.is_submitted():
        status = 422
    return render_template("applications/new.html", form=form, call=call), status


@bp.route("/<int:application_id>/edit", methods=["GET", "POST"])
@login_required
def edit(application_id: int):
    """Edit a draft (or what a clarification request reopened); every save keeps the work."""
    application = get_readable(current_user, application_id)
    if not current_user.is_member_of(application.organisation_id):
        raise NotFound()
    if not is_editable(application):
        flash(_("This application can no longer be changed: it has been submitted or decided."), "info")
        return redirect(url_for("applications.detail", application_id=application.id))
    call_form = application.call.form
    scope = reopened_scope(application)
    locked = set() if scope is None else {code for code, _label in reopenable(application, "en")} - scope
    formdata = _with_locked_fields(application, locked)
    form = (EditApplicationForm(obj=application) if formdata is None
            else EditApplicationForm(formdata=formdata, obj=application))
    answers = application.answers or {}
    answer_errors: dict[str, list[str]] = {}
    status, error = 200, None
    if form.is_submitted():
        answers = answers_from_form(call_form, request.form)  # what was typed is shown again, whatever happens
        for code in locked:  # shown but not sent: they stay as submitted
            if code in (application.answers or {}):
                answers[code] = application.answers[code]
            else:
                answers.pop(code, None)
        answer_errors = validate_answers(call_form, answers, complete=False)
    if form.validate_on_submit() and not answer_errors:
        try:
            _attach_uploaded_files(application, answers, locked)
            update_application(application, current_user, {**form.values(), "answers": answers}, form.version.data)
        except UserInputError as refused:
            db.session.rollback()
            status, error = refused.status, str(refused.message or refused.default_message)
            for key, messages in refused.fields.items():
                if key.startswith("answers."):
                    answer_errors[key.removeprefix("answers.")] = messages
                elif key in form:
                    form[key].errors = list(form[key].errors) + messages
        except GrantsError as refused:
            db.session.rollback()
            status, error = refused.status, str(refused)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("applications.edit", application_id=application.id))
    elif form.is_submitted():
        status = 422
    stage = application.call.stage(application.si_stage)
    if stage is not None:
        form.requested_amount.description = _("Between %(min)s and %(max)s for this SI stage.",
                                              min=format_money(stage.min_grant), max=format_money(stage.max_grant))
    if request.method == "GET":
        form.version.data = application.version
        answer_errors = missing_answers(application)  # what still stops a submission, shown from the start
        outside = amount_limits_error(application.call, application.si_stage, application.requested_amount)
        if outside is not None and "requested_amount" not in locked:
            form.requested_amount.errors = [outside]
    files = {attachment.id: attachment for attachment in list_attachments(application)}
    return render_template("applications/edit.html", application=application, form=form, error=error,
                           answers=answers, answer_errors=answer_errors, language=current_language(),
                           sections=iter_sections(call_form), locked=locked, files=files,
                           reopened=reopened_labels(application, scope, current_language())), status


def _with_locked_fields(application: Application, locked: set[str]):
    """The posted form with the application fields a clarification did not reopen put back as
    they are (they are shown disabled, and browsers do not send disabled fields)."""
    if not (request.method == "POST" and locked):
        return None
    formdata = request.form.copy()
    for field in APPLICATION_FIELDS:
        if field in locked:
            formdata[field] = str(getattr(application, field) or "")
    return formdata


def _attach_uploaded_files(application: Application, answers: dict, locked: set[str]) -> None:
    """Files chosen for file questions become attachments and the questions' answers; a file
    replaced this way is removed. Refusals are reported by question."""
    errors: dict[str, list[str]] = {}
    for _section, question in iter_questions(application.call.form):
        code = question["code"]
        upload = request.files.get(f"answers-{code}-upload")
        if question.get("type") != "file" or code in locked or upload is None or not upload.filename:
            continue
        try:
            attachment = add_attachment(application, current_user, upload, question_code=code)
        except (UserInputError, UploadTooLarge) as refused:
            errors[f"answers.{code}"] = refused.fields.get("file") or [str(refused.message or refused.default_message)]
            continue
        previous = (application.answers or {}).get(code)
        if previous is not None and str(previous).isdigit() and int(previous) != attachment.id:
            old = db.session.get(Attachment, int(previous))
            if old is not None and old.application_id == application.id and old.removed_at is None:
                remove_attachment(application, current_user, old)
        answers[code] = attachment.id
    if errors:
        raise UserInputError(_("A file was not attached; nothing was saved. Choose the file again."), fields=errors)


def next_step(application: Application) -> str | None:
    """What the applicant should do now, and by when, in words."""
    if not (current_user.is_member_of(application.organisation_id) and is_editable(application)):
        return None
    if application.state == "clarification_requested":
        return _("Answer the question in the history below: edit what it asks about, then send the clarification.")
    if application.call.is_open:
        return _("Complete the application and submit it before %(deadline)s.",
                 deadline=format_when(application.call.closes_at))
    return _("The call has closed; this draft can no longer be submitted.")


def iter_sections(form: list[dict]) -> list[dict]:
    """The call's form sections with their questions, as stored (the template localises them)."""
    return [section for section in form or [] if isinstance(section, dict)]


@bp.get("/<int:application_id>/receipt/<int:round_>")
@login_required
def receipt(application_id: int, round_: int):
    """What was submitted in a round, with its content hash: the applicant's proof."""
    application = get_readable(current_user, application_id)
    submission = db.session.scalars(sa.select(Submission).where(
        Submission.application_id == application.id, Submission.round == round_)).one_or_none()
    if submission is None:
        raise NotFound()
    return render_template("applications/receipt.html", application=application, submission=submission)


# --- Attachments: the panel on the detail page, upload, remove, download ----------------------



def attachments_panel(application: Application, scope: frozenset[str] | None) -> dict:
    """What the attachments part of the application page shows and offers; ``scope``: what a clarification
    request reopened (``reopened_scope``): the loose files may change only when it reopened them."""
    may_change = can_edit(current_user, application) and may_change_file(scope, None)
    return {"attachments": list_attachments(application), "may_change": may_change,
            "form": AttachmentForm(), "remove_form": RemoveAttachmentForm(),
            "limit_mb": int(current_app.config["MAX_UPLOAD_MB"])}


@bp.post("/<int:application_id>/attachments")
@login_required
def upload_attachment(application_id: int):
    application = get_readable(current_user, application_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
        flash(" ".join(errors) or _("The file was not received. Please try again."), "error")
        return redirect(url_for("applications.detail", application_id=application.id, _anchor="attachments"))
    try:
        attachment = add_attachment(application, current_user, form.file.data)
    except (UserInputError, UploadTooLarge, Conflict) as refused:
        db.session.rollback()
        message = (refused.fields.get("file") or [str(refused.message or refused.default_message)])[0]
        flash(_("The file was not attached: %(reason)s", reason=message), "error")
    else:
        db.session.commit()
        flash(_("The file %(name)s has been attached.", name=attachment.filename), "success")
    return redirect(url_for("applications.detail", application_id=application_id, _anchor="attachments"))


@bp.post("/<int:application_id>/attachments/<int:attachment_id>/remove")
@login_required
def remove_attachment_(application_id: int, attachment_id: int):
    application = get_readable(current_user, application_id)
    attachment = get_attachment(application, attachment_id)
    if not RemoveAttachmentForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return redirect(url_for("applications.detail", application_id=application.id, _anchor="attachments"))
    try:
        remove_attachment(application, current_user, attachment)
    except Conflict as refused:
        db.session.rollback()
        flash(str(refused.message or refused.default_message), "error")
    else:
        db.session.commit()
        flash(_("The file %(name)s has been removed.", name=attachment.filename), "success")
    return redirect(url_for("applications.detail", application_id=application_id, _anchor="attachments"))


@bp.get("/<int:application_id>/attachments/<int:attachment_id>")
@login_required
def download_attachment(application_id: int, attachment_id: int):
    application = get_readable(current_user, application_id)
    attachment = get_attachment(application, attachment_id)
    return download_response(open_attachment(current_user, application, attachment),
                             filename=attachment.filename, content_type=attachment.content_type)
