"""The form editor of a call (officers): sections and questions changed one step at a time, or the
whole definition as JSON, each change saved through :func:`grants.calls.services.update_call_form`
(validated, audited, refused when stale); and a preview of the form as applicants see it.

The editing itself is :mod:`grants.forms.editing`; these handlers load, check, call one function
and save.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from grants.calls.forms import (
    FormActionForm,
    FormJSONForm,
    NewSectionForm,
    QuestionForm,
    SectionForm,
    SectionTemplateForm,
)
from grants.calls.models import CALL_EDITORS, Call, CallStatus
from grants.calls.services import form_hash, update_call_form
from grants.core.db import db
from grants.core.errors import Conflict, NotFound, UserInputError
from grants.core.i18n import current_language
from grants.core.security import roles_required
from grants.forms import editing
from grants.forms.templates import SECTION_TEMPLATES

bp = Blueprint("call_forms", __name__, url_prefix="/calls")


#: What the small buttons of the editor page may do, by ``action``.
ACTIONS: dict[str, Callable[[Any, str], list[dict[str, Any]]]] = {
    "section_up": lambda form, code: editing.move_section(form, code, -1),
    "section_down": lambda form, code: editing.move_section(form, code, 1),
    "section_remove": editing.remove_section,
    "question_up": lambda form, code: editing.move_question(form, code, -1),
    "question_down": lambda form, code: editing.move_question(form, code, 1),
    "question_remove": editing.remove_question,
}


GrantsErrorLike = UserInputError | Conflict


def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


def _save(call: Call, new_form: Any, posted_hash: str | None) -> GrantsErrorLike | None:
    """Save the form and commit; the error (rolled back) when it could not be saved."""
    try:
        update_call_form(call, current_user, new_form, posted_hash)
    except (UserInputError, Conflict) as error:
        db.session.rollback()
        return error
    db.session.commit()
    flash(_("The form was saved."), "success")
    return None


def _status(error: GrantsErrorLike) -> int:
    return 409 if isinstance(error, Conflict) else 422


def _split(error: GrantsErrorLike, prefix: str | None) -> tuple[dict[str, list[str]], list[str]]:
    """The error's messages under ``form.<prefix>.`` by the rest of their path, and all the others."""
    if isinstance(error, Conflict) or not error.fields:
        return {}, [str(error)]
    placed: dict[str, list[str]] = {}
    general: list[str] = []
    head = f"form.{prefix}." if prefix is not None else None
    for key, messages in error.fields.items():
        if head is not None and key.startswith(head):
            placed.setdefault(key[len(head):], []).extend(messages)
        elif key.startswith("form.") or key == "form":
            general.extend(f"{key.removeprefix('form.')}: {message}" for message in messages)
        else:
            general.extend(messages)
    return placed, general


def _attach(fields: Any, errors: dict[str, list[str]]) -> list[str]:
    """Put messages by path (``code``, ``options.1.value``) on the fields; returns the unplaced ones."""
    unplaced: list[str] = []
    for path, messages in errors.items():
        name, _sep, rest = path.partition(".")
        target = fields._fields.get(name) if name not in ("csrf_token", "form_hash") else None
        if target is None:
            unplaced.extend(messages)
            continue
        if rest:
            index, _sep, _rest = rest.partition(".")
            number = int(index) + 1 if index.isdigit() else None
            if number is not None and name == "options":
                messages = [_("Option %(number)d: %(message)s", number=number, message=m) for m in messages]
            elif number is not None and name == "columns":
                messages = [_("Column %(number)d: %(message)s", number=number, message=m) for m in messages]
        target.errors = [*target.errors, *messages]
    return unplaced


def _refused(call: Call):
    """A published (or closed) call's form is frozen: the page says so; a change is refused (409)."""
    message = _("A published call is changed only by a corrigendum.")
    if request.method == "GET":
        flash(message, "error")
        return redirect(url_for("call_forms.editor", call_id=call.id))
    return _editor_page(call, general=[message], status=409)


def _editor_page(call: Call, *, general: list[str] | None = None, status: int = 200,
                 template_form: SectionTemplateForm | None = None, json_form: FormJSONForm | None = None):
    current = form_hash(call)
    if template_form is None:
        template_form = SectionTemplateForm(formdata=None, data={"form_hash": current})
    template_form.template.choices = [(code, str(t.title)) for code, t in SECTION_TEMPLATES.items()]
    if json_form is None:
        json_form = FormJSONForm(formdata=None, data={
            "form_hash": current, "definition": json.dumps(call.form or [], ensure_ascii=False, indent=2)})
    return render_template("calls/form_editor.html", call=call, sections=call.form or [], form_hash=current,
                           read_only=call.status != CallStatus.DRAFT, type_labels=editing.QUESTION_TYPE_LABELS,
                           template_form=template_form, json_form=json_form, general=general or [],
                           language=current_language()), status


@bp.get("/<int:call_id>/form")
@roles_required(*CALL_EDITORS)
def editor(call_id: int):
    return _editor_page(_call(call_id))


@bp.get("/<int:call_id>/form/preview")
@roles_required(*CALL_EDITORS)
def preview(call_id: int):
    call = _call(call_id)
    return render_template("calls/form_preview.html", call=call, sections=call.form or [],
                           language=current_language())


def _done(call: Call, anchor: str | None = None):
    return redirect(url_for("call_forms.editor", call_id=call.id, _anchor=anchor))


@bp.post("/<int:call_id>/form/template")
@roles_required(*CALL_EDITORS)
def add_template(call_id: int):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    form = SectionTemplateForm()
    form.template.choices = [(code, str(t.title)) for code, t in SECTION_TEMPLATES.items()]
    if not form.validate_on_submit():
        return _editor_page(call, template_form=form, status=422)
    try:
        new_form = editing.add_section_from_template(call.form, form.template.data)
    except editing.FormEditError as error:
        _attach(form, error.fields)
        return _editor_page(call, template_form=form, status=422)
    error = _save(call, new_form, form.form_hash.data)
    if error is None:
        return _done(call, f"section-{form.template.data}")
    _placed, general = _split(error, None)
    return _editor_page(_call(call_id), template_form=form, general=general, status=_status(error))


@bp.post("/<int:call_id>/form/json")
@roles_required(*CALL_EDITORS)
def replace_json(call_id: int):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    form = FormJSONForm()
    if not form.validate_on_submit():
        return _editor_page(call, json_form=form, status=422)
    try:
        new_form = json.loads(form.definition.data)
    except ValueError as error:
        form.definition.errors = [_("This is not valid JSON: %(problem)s", problem=str(error))]
        return _editor_page(call, json_form=form, status=422)
    error = _save(call, new_form, form.form_hash.data)
    if error is None:
        return _done(call)
    _placed, general = _split(error, None)
    form.definition.errors = general
    return _editor_page(_call(call_id), json_form=form, status=_status(error))


@bp.post("/<int:call_id>/form/action")
@roles_required(*CALL_EDITORS)
def action(call_id: int):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    form = FormActionForm()
    change = ACTIONS.get(form.action.data or "")
    if not form.validate_on_submit() or change is None:
        return _editor_page(call, general=[_("The form has expired. Please send it again.")], status=422)
    try:
        new_form = change(call.form, form.target.data or "")
    except editing.FormEditError as error:
        return _editor_page(call, general=[str(error), *(m for ms in error.fields.values() for m in ms)],
                            status=422)
    error = _save(call, new_form, form.form_hash.data)
    if error is None:
        kind = "section" if form.action.data.startswith("section") else "question"
        return _done(call, None if form.action.data.endswith("remove") else f"{kind}-{form.target.data}")
    _placed, general = _split(error, None)
    return _editor_page(_call(call_id), general=general, status=_status(error))


def _section_page(call: Call, form: SectionForm, section: dict[str, Any] | None, general: list[str], status: int):
    return render_template("calls/form_section.html", call=call, form=form, section=section,
                           general=general), status


@bp.route("/<int:call_id>/form/sections/new", methods=["GET", "POST"])
@roles_required(*CALL_EDITORS)
def new_section(call_id: int):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    form = NewSectionForm(data={"form_hash": form_hash(call)} if request.method == "GET" else None)
    general: list[str] = []
    if form.validate_on_submit():
        position = str(len(call.form or []))
        try:
            new_form = editing.add_section(call.form, form.values(), editing.question_from_values(
                form.question.form.values()))
        except editing.FormEditError as error:
            general = _attach(form.question.form, error.fields)
        else:
            error = _save(call, new_form, form.form_hash.data)
            if error is None:
                return _done(call, f"section-{form.code.data.strip()}")
            call = _call(call_id)
            placed, general = _split(error, position)
            question_errors = {k.removeprefix("questions.0."): v for k, v in placed.items()
                               if k.startswith("questions.0.")}
            general += _attach(form, {k: v for k, v in placed.items() if not k.startswith("questions.0.")})
            general += _attach(form.question.form, question_errors)
            return _section_page(call, form, None, general, _status(error))
    return _section_page(call, form, None, general, 422 if request.method == "POST" else 200)


@bp.route("/<int:call_id>/form/sections/<code>/edit", methods=["GET", "POST"])
@roles_required(*CALL_EDITORS)
def edit_section(call_id: int, code: str):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    try:
        section = editing.find_section(call.form, code)
        position = editing.section_path(call.form, code)
    except editing.FormEditError:
        raise NotFound() from None
    form = SectionForm(data={"form_hash": form_hash(call), **section} if request.method == "GET" else None)
    general: list[str] = []
    if form.validate_on_submit():
        error = _save(call, editing.update_section(call.form, code, form.values()), form.form_hash.data)
        if error is None:
            return _done(call, f"section-{form.code.data.strip()}")
        call = _call(call_id)
        placed, general = _split(error, position)
        general += _attach(form, placed)
        return _section_page(call, form, section, general, _status(error))
    return _section_page(call, form, section, general, 422 if request.method == "POST" else 200)


def _question_page(call: Call, form: QuestionForm, section: dict[str, Any], question: dict[str, Any] | None,
                   general: list[str], status: int):
    return render_template("calls/form_question.html", call=call, form=form, section=section, question=question,
                           general=general), status


def _question_form(call: Call, question: dict[str, Any] | None) -> QuestionForm:
    if request.method != "GET":
        return QuestionForm()
    values = editing.question_values(question) if question is not None else {"type": "short_text"}
    return QuestionForm(data={"form_hash": form_hash(call), "question": values})


def _save_question(call: Call, form: QuestionForm, section: dict[str, Any], question: dict[str, Any] | None,
                   position: str, change: Callable[[dict[str, Any]], list[dict[str, Any]]]):
    """Build the question from the posted fields, apply ``change`` and save; the page again on errors."""
    fields = form.question.form
    try:
        new_form = change(editing.question_from_values(fields.values(), question))
    except editing.FormEditError as error:
        general = _attach(fields, error.fields) or ([str(error)] if not error.fields else [])
        return _question_page(call, form, section, question, general, 422)
    error = _save(call, new_form, form.form_hash.data)
    if error is None:
        return _done(call, f"question-{fields.code.data.strip()}")
    placed, general = _split(error, position)
    general += _attach(fields, placed)
    return _question_page(_call(call.id), form, section, question, general, _status(error))


@bp.route("/<int:call_id>/form/sections/<code>/questions/new", methods=["GET", "POST"])
@roles_required(*CALL_EDITORS)
def new_question(call_id: int, code: str):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    try:
        section = editing.find_section(call.form, code)
        position = f"{editing.section_path(call.form, code)}.questions.{len(section.get('questions') or [])}"
    except editing.FormEditError:
        raise NotFound() from None
    form = _question_form(call, None)
    if form.validate_on_submit():
        return _save_question(call, form, section, None, position,
                              lambda question: editing.add_question(call.form, code, question))
    return _question_page(call, form, section, None, [], 422 if request.method == "POST" else 200)


@bp.route("/<int:call_id>/form/questions/<code>/edit", methods=["GET", "POST"])
@roles_required(*CALL_EDITORS)
def edit_question(call_id: int, code: str):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    try:
        section, question = editing.find_question(call.form, code)
        position = editing.question_path(call.form, code)
    except editing.FormEditError:
        raise NotFound() from None
    form = _question_form(call, question)
    if form.validate_on_submit():
        return _save_question(call, form, section, question, position,
                              lambda updated: editing.update_question(call.form, code, updated))
    return _question_page(call, form, section, question, [], 422 if request.method == "POST" else 200)
