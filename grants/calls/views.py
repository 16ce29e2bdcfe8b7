"""Pages of calls for proposals: public reading; set-up, publication and corrigenda for officers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from grants.calls.forms import CallForm, CorrigendumForm, PublishForm, local_to_utc, utc_to_local
from grants.calls.models import CALL_EDITORS, PUBLIC_CALL_STATUS_LABELS, Call, CallStatus, Programme, PublicCallStatus
from grants.calls.services import (
    application_workflows,
    call_versions,
    calls_query,
    create_call,
    get_visible_call,
    issue_corrigendum,
    publish_call,
    update_draft_call,
)
from grants.core.db import db
from grants.core.errors import Conflict, NotFound, UserInputError
from grants.core.i18n import current_language
from grants.core.security import roles_required
from grants.forms.validation import form_outline
from grants.initiatives.stages import DEFAULT_STAGE_MODEL, STAGE_MODELS
from grants.workflows.engine import newest_version

bp = Blueprint("calls", __name__, url_prefix="/calls")
#: The home page: the calls open now.
home_bp = Blueprint("home", __name__)


@home_bp.get("/", endpoint="index")
def home():
    open_calls = db.session.execute(calls_query(PublicCallStatus.OPEN).limit(6)).unique().scalars().all()
    return render_template("calls/home.html", open_calls=open_calls)


def _staff() -> bool:
    return current_user.is_authenticated and current_user.is_staff


@bp.get("/")
def index():
    status = request.args.get("status", PublicCallStatus.OPEN)
    allowed = [s for s in PublicCallStatus if s != PublicCallStatus.DRAFT or _staff()]
    if status not in allowed:
        status = PublicCallStatus.OPEN
    calls = db.session.execute(calls_query(status, include_drafts=_staff())).unique().scalars().all()
    tabs = [(s.value, PUBLIC_CALL_STATUS_LABELS[s]) for s in allowed]
    return render_template("calls/index.html", calls=calls, status=status, tabs=tabs)


@bp.get("/<int:call_id>")
def detail(call_id: int):
    call = get_visible_call(call_id, include_drafts=_staff())
    if call is None:
        raise NotFound()
    editor = current_user.is_authenticated and current_user.has_any_role(*CALL_EDITORS)
    return render_template("calls/detail.html", call=call,
                           form_sections=form_outline(call.form or [], current_language()),
                           editor=editor, versions=call_versions(call) if editor else [],
                           publish_form=PublishForm() if editor else None)


# --- officers ---------------------------------------------------------------------------------------



def _editable_call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


def _prepare(form: CallForm, call: Call | None) -> None:
    """Choices, and one stage row per stage of the programme's stage model (kept as posted on errors)."""
    programmes = db.session.execute(sa.select(Programme).order_by(Programme.code)).scalars().all()
    form.programme_id.choices = [(p.id, f"{p.code} – {p.title}") for p in programmes]
    form.workflow.choices = [(f"{name}:{version}", f"{title} ({name} v{version})")
                             for name, version, title in application_workflows()]
    model = call.programme.stages if call is not None else STAGE_MODELS[DEFAULT_STAGE_MODEL]
    if request.method == "POST":
        for row in form.stages:
            stage = model.get(row.form.si_stage.data or "")
            row.form.include.label.text = stage.label if stage else row.form.si_stage.data
        return
    existing = {s.si_stage: s for s in call.stages} if call is not None else {}
    while len(form.stages):
        form.stages.pop_entry()
    for stage in model.stages:
        saved = existing.get(stage.code)
        form.stages.append_entry({"si_stage": stage.code, "include": saved is not None,
                                  "envelope": saved.envelope if saved else None,
                                  "min_grant": saved.min_grant if saved else None,
                                  "max_grant": saved.max_grant if saved else None})
        form.stages[-1].form.include.label.text = stage.label


def _attach_errors(form, error: UserInputError, stage_rows: list[int] | None = None) -> list[str]:
    """Put the service's errors next to their fields; returns those that belong to no field."""
    general: list[str] = []
    for key, messages in error.fields.items():
        head, _sep, rest = key.partition(".")
        if head == "stages" and rest and stage_rows is not None:
            index, _sep, name = rest.partition(".")
            row = form.stages[stage_rows[int(index)]] if index.isdigit() and int(index) < len(stage_rows) else None
            target = getattr(row.form, name, None) if row is not None else None
            if target is None:
                general.extend(messages)
            else:
                target.errors = [*target.errors, *messages]
            continue
        field_name = "workflow" if head in ("workflow_name", "workflow_version") else head
        target = form._fields.get(field_name) if not rest else None
        if target is None:
            general.extend(messages)
        else:
            target.errors = [*target.errors, *messages]
    return general or ([error.message] if error.message and not error.fields else [])


def _included_rows(form: CallForm) -> list[int]:
    return [index for index, row in enumerate(form.stages) if row.include.data]


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*CALL_EDITORS)
def new():
    form = CallForm()
    if request.method == "GET":
        form.workflow.data = f"application:{newest_version('application')}"
    _prepare(form, None)
    general: list[str] = []
    if form.validate_on_submit():
        try:
            call = create_call(current_user, form.values())
        except UserInputError as error:
            db.session.rollback()
            general = _attach_errors(form, error, _included_rows(form))
        else:
            db.session.commit()
            flash(_("The draft call was saved."), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/edit.html", form=form, call=None, general=general), \
        (422 if request.method == "POST" else 200)


@bp.route("/<int:call_id>/edit", methods=["GET", "POST"])
@roles_required(*CALL_EDITORS)
def edit(call_id: int):
    call = _editable_call(call_id)
    if call.status != CallStatus.DRAFT:
        flash(_("A published call is changed only by a corrigendum."), "error")
        return redirect(url_for("calls.corrigendum", call_id=call.id))
    data: dict[str, Any] | None = None
    if request.method == "GET":
        data = {"programme_id": call.programme_id, "code": call.code, "title_lv": call.title_lv,
                "title_en": call.title_en, "description_lv": call.description_lv,
                "description_en": call.description_en, "opens_at": utc_to_local(call.opens_at),
                "closes_at": utc_to_local(call.closes_at),
                "workflow": f"{call.workflow_name}:{call.workflow_version}"}
    form = CallForm(data=data)
    _prepare(form, call)
    general: list[str] = []
    if form.validate_on_submit():
        try:
            update_draft_call(call, current_user, form.values())
        except (UserInputError, Conflict) as error:
            db.session.rollback()
            call = _editable_call(call_id)
            general = (_attach_errors(form, error, _included_rows(form)) if isinstance(error, UserInputError)
                       else [str(error)])
        else:
            db.session.commit()
            flash(_("The draft call was saved."), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/edit.html", form=form, call=call, general=general), \
        (422 if request.method == "POST" else 200)


@bp.post("/<int:call_id>/publish")
@roles_required(*CALL_EDITORS)
def publish(call_id: int):
    call = _editable_call(call_id)
    if not PublishForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return redirect(url_for("calls.detail", call_id=call.id))
    try:
        frozen = publish_call(call, current_user)
    except (UserInputError, Conflict) as error:
        db.session.rollback()
        problems = [m for messages in getattr(error, "fields", {}).values() for m in messages]
        flash(" ".join([str(error), *problems]), "error")
    else:
        db.session.commit()
        flash(_("The call was published as version %(version)s.", version=frozen.version), "success")
    return redirect(url_for("calls.detail", call_id=call_id))


@bp.route("/<int:call_id>/corrigendum", methods=["GET", "POST"])
@roles_required(*CALL_EDITORS)
def corrigendum(call_id: int):
    call = _editable_call(call_id)
    if call.status != CallStatus.PUBLISHED:
        flash(_("Only a published call can be corrected."), "error")
        return redirect(url_for("calls.detail", call_id=call.id))
    data = None
    if request.method == "GET":
        data = {"closes_at": utc_to_local(call.closes_at), "description_lv": call.description_lv,
                "description_en": call.description_en}
    form = CorrigendumForm(data=data)
    general: list[str] = []
    if form.validate_on_submit():
        changes: dict[str, Any] = {"description_lv": form.description_lv.data or "",
                                   "description_en": form.description_en.data or ""}
        new_deadline = local_to_utc(form.closes_at.data)
        if new_deadline is not None and new_deadline != call.closes_at:
            changes["closes_at"] = new_deadline
        try:
            frozen = issue_corrigendum(call, current_user, changes, form.reason.data)
        except (UserInputError, Conflict) as error:
            db.session.rollback()
            call = _editable_call(call_id)
            general = (_attach_errors(form, error) if isinstance(error, UserInputError) else [str(error)])
        else:
            db.session.commit()
            flash(_("The corrigendum was published as version %(version)s.", version=frozen.version), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/corrigendum.html", form=form, call=call, general=general), \
        (422 if request.method == "POST" else 200)
