"""The eligibility ruleset editor of a call (officers): rules added, changed, moved and removed one at a
time, presets added, or all of them edited as JSON, each change saved through
:func:`grants.calls.services.update_call_rules` (validated, audited, refused when stale); and a
preview of the rules' outcomes for an existing application (nothing stored).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from grants.calls.models import CALL_EDITORS, Call, CallStatus
from grants.calls.services import rules_hash, update_call_rules
from grants.core.db import db
from grants.core.errors import Conflict, NotFound, UserInputError
from grants.core.i18n import current_language
from grants.core.security import roles_required
from grants.eligibility.checks import CHECKS, check_catalogue, check_defaults
from grants.eligibility.forms import RuleForm, RulesActionForm, RulesJSONForm
from grants.eligibility.presets import demo_ruleset, micro_project_rule
from grants.eligibility.preview import preview_application, preview_candidates, preview_rules
from grants.eligibility.rules import context_reference

bp = Blueprint("call_rules", __name__, url_prefix="/calls")


#: The fields of a rule as the rule form names them.
RULE_FIELDS = ("code", "title_lv", "title_en", "message_lv", "message_en", "severity", "expression", "check",
               "params")


def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


def _rules(call: Call) -> list[dict[str, Any]]:
    return [dict(rule) for rule in call.eligibility_rules or []]


def _status(error: UserInputError | Conflict) -> int:
    return 409 if isinstance(error, Conflict) else 422


def _save(call: Call, rules: list[dict[str, Any]], posted_hash: str | None) -> UserInputError | Conflict | None:
    """Save the rules and commit; the error (rolled back) when they could not be saved."""
    try:
        update_call_rules(call, current_user, rules, posted_hash)
    except (UserInputError, Conflict) as error:
        db.session.rollback()
        return error
    db.session.commit()
    flash(_("The eligibility rules were saved."), "success")
    return None


def _describe(error: UserInputError | Conflict, rules: list[dict[str, Any]], *, skip: int | None = None
              ) -> tuple[dict[str, list[str]], list[str]]:
    """The messages of rule ``skip`` by field, and every other message readable on its own
    ("Rule 2 (legal_form), check: …")."""
    if isinstance(error, Conflict) or not error.fields:
        return {}, [str(error)]
    placed: dict[str, list[str]] = {}
    general: list[str] = []
    for key, messages in error.fields.items():
        path = key.removeprefix("eligibility_rules").removeprefix(".")
        index, _sep, field = path.partition(".")
        if not index.isdigit():
            general.extend(messages)
            continue
        if skip is not None and int(index) == skip:
            placed.setdefault(field or "code", []).extend(messages)
            continue
        rule = rules[int(index)] if int(index) < len(rules) and isinstance(rules[int(index)], dict) else {}
        where = _("Rule %(number)d (%(code)s)", number=int(index) + 1, code=rule.get("code") or "—")
        general.extend(f"{where}, {field}: {message}" if field else f"{where}: {message}" for message in messages)
    return placed, general


def _refused(call: Call):
    """A published (or closed) call's rules are frozen with it: changed only by a corrigendum (409)."""
    message = _("A published call is changed only by a corrigendum.")
    return _editor_page(call, general=[message], status=409)


def _applications(call: Call) -> list[tuple[str, str]]:
    return [("", _("Choose an application"))] + [
        (str(app_id), f"#{app_id} {title} – {organisation}") for app_id, title, organisation in
        preview_candidates(call)]


def _editor_page(call: Call, *, general: list[str] | None = None, status: int = 200,
                 json_form: RulesJSONForm | None = None, preview: dict[str, Any] | None = None):
    current = rules_hash(call)
    rules = call.eligibility_rules or []
    if json_form is None:
        json_form = RulesJSONForm(formdata=None, data={
            "rules_hash": current, "definition": json.dumps(rules, ensure_ascii=False, indent=2)})
    json_form.application_id.choices = _applications(call)
    language = current_language()
    return render_template("calls/rules.html", call=call, rules=rules, rules_hash=current,
                           read_only=call.status != CallStatus.DRAFT, json_form=json_form,
                           general=general or [], language=language, checks=check_catalogue(),
                           check_titles={name: str(check.title) for name, check in CHECKS.items()},
                           context=context_reference(language), preview=preview, as_json=_as_json), status


def _as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@bp.get("/<int:call_id>/rules")
@roles_required(*CALL_EDITORS)
def editor(call_id: int):
    return _editor_page(_call(call_id))


def _done(call: Call, code: str | None = None):
    return redirect(url_for("call_rules.editor", call_id=call.id, _anchor=f"rule-{code}" if code else None))


# --- one rule -----------------------------------------------------------------------------------------

def _rule_form(call: Call, rule: dict[str, Any] | None) -> RuleForm:
    if request.method != "GET":
        form = RuleForm()
    elif rule is not None:
        form = RuleForm(data={"rules_hash": rules_hash(call), **{k: rule.get(k) for k in RULE_FIELDS[:6]},
                              "kind": "expression" if "expression" in rule else "check",
                              "check": rule.get("check"), "expression": rule.get("expression", ""),
                              "params": _as_json(rule.get("params") or {}) if "check" in rule else ""})
    else:
        name = request.args.get("check")
        name = name if name in CHECKS else None
        form = RuleForm(data={"rules_hash": rules_hash(call), "severity": "blocking",
                              "kind": "expression" if request.args.get("kind") == "expression" else "check",
                              "check": name, "code": name or "",
                              "params": _as_json(check_defaults(name)) if name else ""})
    form.check.choices = [("", _("Choose a check"))] + [(name, str(check.title)) for name, check in CHECKS.items()]
    return form


def _rule_from(form: RuleForm) -> dict[str, Any] | None:
    """The rule as typed; None (with the reason on the field) when its parameters are not JSON."""
    rule: dict[str, Any] = {key: (form[key].data or "").strip() for key in RULE_FIELDS[:5]}
    rule["severity"] = form.severity.data
    if form.kind.data == "expression":
        rule["expression"] = (form.expression.data or "").strip()
        return rule
    rule["check"] = form.check.data or ""
    text = (form.params.data or "").strip()
    if not text:
        rule["params"] = {}
        return rule
    try:
        params = json.loads(text)
    except ValueError as error:
        form.params.errors = [_("This is not valid JSON: %(problem)s", problem=str(error))]
        return None
    if not isinstance(params, dict):
        form.params.errors = [_("The parameters must be a JSON object, e.g. {\"min_months\": 3}.")]
        return None
    rule["params"] = params
    return rule


def _attach(form: RuleForm, placed: dict[str, list[str]]) -> list[str]:
    unplaced: list[str] = []
    for path, messages in placed.items():
        name, _sep, rest = path.partition(".")
        target = form._fields.get(name) if name in RULE_FIELDS else None
        if target is None:
            unplaced.extend(messages)
            continue
        target.errors = [*target.errors, *(f"{rest}: {m}" if rest else m for m in messages)]
    return unplaced


def _rule_page(call: Call, form: RuleForm, rule: dict[str, Any] | None, general: list[str], status: int):
    return render_template("calls/rules_rule.html", call=call, form=form, rule=rule, general=general,
                           checks=check_catalogue(), context=context_reference(current_language()),
                           as_json=_as_json), status


def _save_rule(call: Call, form: RuleForm, rule: dict[str, Any] | None, index: int):
    new_rule = _rule_from(form)
    if new_rule is None:
        return _rule_page(call, form, rule, [], 422)
    rules = _rules(call)
    if index < len(rules):
        rules[index] = new_rule
    else:
        rules.append(new_rule)
    error = _save(call, rules, form.rules_hash.data)
    if error is None:
        return _done(call, new_rule["code"])
    placed, general = _describe(error, rules, skip=index)
    general = _attach(form, placed) + general
    return _rule_page(_call(call.id), form, rule, general, _status(error))


@bp.route("/<int:call_id>/rules/new", methods=["GET", "POST"])
@roles_required(*CALL_EDITORS)
def new_rule(call_id: int):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    form = _rule_form(call, None)
    if form.validate_on_submit():
        return _save_rule(call, form, None, len(call.eligibility_rules or []))
    return _rule_page(call, form, None, [], 422 if request.method == "POST" else 200)


def _find(call: Call, code: str) -> int:
    for index, rule in enumerate(call.eligibility_rules or []):
        if rule.get("code") == code:
            return index
    raise NotFound()


@bp.route("/<int:call_id>/rules/<code>/edit", methods=["GET", "POST"])
@roles_required(*CALL_EDITORS)
def edit_rule(call_id: int, code: str):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    index = _find(call, code)
    rule = dict(call.eligibility_rules[index])
    form = _rule_form(call, rule)
    if form.validate_on_submit():
        return _save_rule(call, form, rule, index)
    return _rule_page(call, form, rule, [], 422 if request.method == "POST" else 200)


# --- moving, removing, presets, JSON --------------------------------------------------------------------

def _move(rules: list[dict[str, Any]], code: str, step: int) -> list[dict[str, Any]]:
    index = next((i for i, rule in enumerate(rules) if rule.get("code") == code), None)
    if index is None:
        raise NotFound()
    other = index + step
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
    return rules


def _remove(rules: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    kept = [rule for rule in rules if rule.get("code") != code]
    if len(kept) == len(rules):
        raise NotFound()
    return kept


def _add_missing(rules: list[dict[str, Any]], preset: list[dict[str, Any]]) -> list[dict[str, Any]]:
    codes = {rule.get("code") for rule in rules}
    return rules + [rule for rule in preset if rule["code"] not in codes]


ACTIONS = {
    "up": lambda rules, code: _move(rules, code, -1),
    "down": lambda rules, code: _move(rules, code, 1),
    "remove": _remove,
    "demo": lambda rules, _code: _add_missing(rules, demo_ruleset()),
    "micro_project": lambda rules, _code: _add_missing(rules, [micro_project_rule()]),
}


@bp.post("/<int:call_id>/rules/action")
@roles_required(*CALL_EDITORS)
def action(call_id: int):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    form = RulesActionForm()
    change = ACTIONS.get(form.action.data or "")
    if not form.validate_on_submit() or change is None:
        return _editor_page(call, general=[_("The form has expired. Please send it again.")], status=422)
    rules = change(_rules(call), form.target.data or "")
    error = _save(call, rules, form.rules_hash.data)
    if error is None:
        return _done(call, form.target.data if form.action.data in ("up", "down") else None)
    _placed, general = _describe(error, rules)
    return _editor_page(_call(call_id), general=general, status=_status(error))


def _typed(form: RulesJSONForm) -> Any:
    """The JSON box's rules, or None with the reason on the field."""
    text = (form.definition.data or "").strip()
    if not text:
        form.definition.errors = [_("Enter the rules.")]
        return None
    try:
        return json.loads(text)
    except ValueError as error:
        form.definition.errors = [_("This is not valid JSON: %(problem)s", problem=str(error))]
        return None


@bp.post("/<int:call_id>/rules/json")
@roles_required(*CALL_EDITORS)
def replace_json(call_id: int):
    call = _call(call_id)
    if call.status != CallStatus.DRAFT:
        return _refused(call)
    form = RulesJSONForm()
    form.application_id.choices = []
    if not form.validate_on_submit():
        return _editor_page(call, json_form=form, status=422)
    rules = _typed(form)
    if rules is None:
        return _editor_page(call, json_form=form, status=422)
    error = _save(call, rules, form.rules_hash.data)
    if error is None:
        return _done(call)
    _placed, general = _describe(error, rules if isinstance(rules, list) else [])
    form.definition.errors = general
    return _editor_page(_call(call_id), json_form=form, status=_status(error))


@bp.post("/<int:call_id>/rules/preview")
@roles_required(*CALL_EDITORS)
def preview(call_id: int):
    """Each rule's outcome for the chosen application, under the saved or the typed rules; nothing stored."""
    call = _call(call_id)
    form = RulesJSONForm()
    form.application_id.choices = []
    if not form.validate_on_submit():
        return _editor_page(call, json_form=form, status=422)
    typed = form.source.data == "typed"
    rules = _typed(form) if typed else None
    if typed and rules is None:
        return _editor_page(call, json_form=form, status=422)
    raw_id = form.application_id.data or ""
    try:
        application = preview_application(call, int(raw_id) if raw_id.isdigit() else None)
        outcomes = preview_rules(application, call, rules, prefix="eligibility_rules")
    except UserInputError as error:
        db.session.rollback()
        for key, messages in error.fields.items():
            if key == "application_id":
                form.application_id.errors = [*form.application_id.errors, *messages]
        others = {k: v for k, v in error.fields.items() if k != "application_id"}
        if others:
            _placed, general = _describe(UserInputError(fields=others), rules if isinstance(rules, list) else [])
            form.definition.errors = [*form.definition.errors, *general]
        return _editor_page(_call(call_id), json_form=form, status=422)
    return _editor_page(_call(call_id), json_form=form,
                        preview={"application": application, "outcomes": outcomes, "typed": typed})
