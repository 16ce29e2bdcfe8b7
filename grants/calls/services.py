"""Reading calls; setting them up, publishing them and correcting them by corrigenda (officers)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.audit.services import record_event
from grants.calls.models import Call, CallStage, CallStatus, CallVersion, Programme, PublicCallStatus
from grants.calls.parts import check_part
from grants.calls.programmes import call_budget_error
from grants.calls.signals import call_corrected
from grants.core.db import CENT, content_hash, db, utcnow
from grants.core.errors import Conflict, UserInputError
from grants.forms.definitions import FormDefinitionError, validate_form_definition
from grants.forms.templates import default_form
from grants.workflows.engine import definitions, newest_version


def calls_query(status: str | None = None, *, include_drafts: bool = False,
                now: datetime | None = None) -> sa.Select:
    """Calls filtered by their public status; drafts only for staff."""
    now = now or utcnow()
    query = sa.select(Call).order_by(Call.closes_at, Call.id)
    if not include_drafts:
        query = query.where(Call.status != CallStatus.DRAFT)
    if status == PublicCallStatus.OPEN:
        query = query.where(Call.status == CallStatus.PUBLISHED, Call.opens_at <= now, Call.closes_at > now)
    elif status == PublicCallStatus.UPCOMING:
        query = query.where(Call.status == CallStatus.PUBLISHED, Call.opens_at > now)
    elif status == PublicCallStatus.CLOSED:
        query = query.where(sa.or_(Call.status == CallStatus.CLOSED,
                                   sa.and_(Call.status == CallStatus.PUBLISHED, Call.closes_at <= now)))
    elif status == PublicCallStatus.DRAFT:
        query = query.where(Call.status == CallStatus.DRAFT)
    return query


def get_visible_call(call_id: int, *, include_drafts: bool = False) -> Call | None:
    call = db.session.get(Call, call_id)
    if call is None or (call.status == CallStatus.DRAFT and not include_drafts):
        return None
    return call


# --- setting up, publishing and correcting calls (officers) ---------------------------------------

#: Fields of a draft call that ``create_call`` and ``update_draft_call`` take as they are.
_TEXT_FIELDS = ("code", "title_lv", "title_en", "description_lv", "description_en")


def _money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return amount.quantize(CENT) if amount.is_finite() else None


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_application_workflow(name: str, version: int) -> bool:
    definition = definitions().get((name, version))
    return definition is not None and definition.state_field == "state" and definition.name.startswith("application")


def application_workflows() -> list[tuple[str, int, str]]:
    """(name, version, title) of every application workflow a call may pin."""
    return sorted((d.name, d.version, d.title) for d in definitions().values()
                  if is_application_workflow(d.name, d.version))


def _check_stages(programme: Programme, stages: list[dict[str, Any]], errors: dict[str, list[str]]) -> list[dict]:
    """Stages checked against the programme's stage model and the limits rule; plain rows."""
    rows: list[dict] = []
    if not stages:
        errors.setdefault("stages", []).append(_("Choose at least one SI stage the call funds."))
        return rows
    seen: set[str] = set()
    for index, stage in enumerate(stages):
        prefix = f"stages.{index}"
        code = str(stage.get("si_stage") or "")
        if programme.stages.get(code) is None:
            errors.setdefault(f"{prefix}.si_stage", []).append(_("Not a stage of the programme's stage model."))
        elif code in seen:
            errors.setdefault(f"{prefix}.si_stage", []).append(_("This stage is listed twice."))
        seen.add(code)
        amounts = {}
        for key in ("envelope", "min_grant", "max_grant"):
            amount = _money(stage.get(key))
            if amount is None:
                errors.setdefault(f"{prefix}.{key}", []).append(_("Enter an amount."))
            amounts[key] = amount
        if None not in amounts.values():
            if amounts["min_grant"] < 0:
                errors.setdefault(f"{prefix}.min_grant", []).append(_("The amount cannot be negative."))
            if amounts["max_grant"] < amounts["min_grant"]:
                errors.setdefault(f"{prefix}.max_grant", []).append(
                    _("The maximum grant cannot be less than the minimum grant."))
            if amounts["envelope"] < amounts["max_grant"]:
                errors.setdefault(f"{prefix}.envelope", []).append(
                    _("The envelope cannot be less than the maximum grant."))
        rows.append({"si_stage": code, **amounts})
    order = programme.stages.codes
    rows.sort(key=lambda row: order.index(row["si_stage"]) if row["si_stage"] in order else len(order))
    return rows


def _check_form(form: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]] | None:
    try:
        return validate_form_definition(form)
    except FormDefinitionError as error:
        for path, messages in (error.fields or {"": [str(error)]}).items():
            errors.setdefault(f"form.{path}" if path else "form", []).extend(messages)
        return None


def _check_rules(rules: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]] | None:
    """The ruleset as it will be stored (checked by grants.eligibility, grants.calls.parts), or None
    with the problems under ``eligibility_rules.<path>``."""
    try:
        return check_part("eligibility_rules", rules)
    except UserInputError as error:
        for path, messages in (error.fields or {"": [str(error)]}).items():
            key = "eligibility_rules" if path in ("", "rules") else f"eligibility_rules.{path}"
            errors.setdefault(key, []).extend(messages)
        return None


def _apply_stages(call: Call, rows: list[dict]) -> None:
    existing = {stage.si_stage: stage for stage in call.stages}
    stages = []
    for position, row in enumerate(rows):
        stage = existing.get(row["si_stage"]) or CallStage(si_stage=row["si_stage"])
        stage.position = position
        stage.envelope, stage.min_grant, stage.max_grant = row["envelope"], row["min_grant"], row["max_grant"]
        stages.append(stage)
    call.stages = stages
    call.budget = sum((row["envelope"] for row in rows), Decimal(0))


def _stage_rows(call: Call) -> list[dict]:
    return [{"si_stage": s.si_stage, "envelope": s.envelope, "min_grant": s.min_grant, "max_grant": s.max_grant}
            for s in call.stages]


def _validated(data: dict[str, Any], current: Call | None) -> tuple[dict[str, Any], list[dict] | None,
                                                                    list[dict] | None]:
    """The draft's merged values, its stage rows and its form; raises UserInputError naming every field."""
    errors: dict[str, list[str]] = {}
    merged: dict[str, Any] = {}
    for key in (*_TEXT_FIELDS, "programme_id", "opens_at", "closes_at", "workflow_name", "workflow_version"):
        merged[key] = data[key] if key in data else (getattr(current, key) if current is not None else None)
    for key in ("description_lv", "description_en"):
        merged[key] = (merged[key] or "").strip()
    for key, message in (("code", _("Enter the call's code.")), ("title_lv", _("Enter the title in Latvian.")),
                         ("title_en", _("Enter the title in English."))):
        merged[key] = (merged[key] or "").strip()
        if not merged[key]:
            errors.setdefault(key, []).append(message)
    if merged["code"]:
        clash = db.session.execute(sa.select(Call.id).where(Call.code == merged["code"])).scalar()
        if clash is not None and (current is None or clash != current.id):
            errors.setdefault("code", []).append(_("Another call already has this code."))
    programme = db.session.get(Programme, merged["programme_id"]) if merged["programme_id"] else None
    if programme is None:
        errors.setdefault("programme_id", []).append(_("Choose a programme."))
    merged["opens_at"], merged["closes_at"] = _aware(merged["opens_at"]), _aware(merged["closes_at"])
    for key, message in (("opens_at", _("Enter when the call opens.")),
                         ("closes_at", _("Enter the submission deadline."))):
        if merged[key] is None:
            errors.setdefault(key, []).append(message)
    if merged["opens_at"] and merged["closes_at"] and merged["opens_at"] >= merged["closes_at"]:
        errors.setdefault("closes_at", []).append(_("The deadline must be after the opening."))
    merged["workflow_name"] = merged["workflow_name"] or "application"
    merged["workflow_version"] = merged["workflow_version"] or newest_version(merged["workflow_name"])
    if not is_application_workflow(merged["workflow_name"], merged["workflow_version"]):
        errors.setdefault("workflow_name", []).append(_("No such application workflow."))
    rows = None
    if programme is not None:
        if "stages" in data:
            rows = _check_stages(programme, list(data["stages"] or []), errors)
        elif current is not None:
            rows = _check_stages(programme, _stage_rows(current), errors)
        else:
            rows = _check_stages(programme, [], errors)
    form = None
    if "form" in data and data["form"] is not None:
        form = _check_form(data["form"], errors)
    elif current is None:
        form = default_form()
    if data.get("eligibility_rules") is not None:
        rules = _check_rules(data["eligibility_rules"], errors)
        if rules is not None:
            merged["eligibility_rules"] = rules
    elif current is None:
        merged["eligibility_rules"] = []
    if programme is not None and rows is not None and not errors:
        _check_budget(programme, rows, current, errors)
    if errors:
        raise UserInputError(fields=errors)
    return merged, rows, form


def _check_budget(programme: Programme, rows: list[dict], current: Call | None,
                  errors: dict[str, list[str]]) -> None:
    """The call's budget (its stages' envelopes) fits in what the programme's other calls leave, whatever the
    call's rules say (read under the programme's lock: grants.calls.programmes)."""
    problem = call_budget_error(programme, sum((row["envelope"] for row in rows), Decimal(0)),
                                excluding=current.id if current is not None else None)
    if problem is not None:
        errors.setdefault("budget", []).append(problem)


def _audit_values(call: Call) -> dict[str, Any]:
    return {"code": call.code, "title_lv": call.title_lv, "title_en": call.title_en,
            "opens_at": call.opens_at, "closes_at": call.closes_at, "budget": call.budget,
            "workflow": f"{call.workflow_name} v{call.workflow_version}",
            "stages": _stage_rows(call)}


def create_call(actor, data: dict[str, Any]) -> Call:
    """A draft call (the default form unless ``form`` is given). Flushes, never commits."""
    merged, rows, form = _validated(data, None)
    call = Call(status=CallStatus.DRAFT, version=1, form=form, **merged)
    _apply_stages(call, rows or [])
    db.session.add(call)
    db.session.flush()
    record_event(action="call.create", object_type="call", object_id=call.id, actor=actor,
                 payload=_audit_values(call))
    return call


def update_draft_call(call: Call, actor, data: dict[str, Any]) -> Call:
    """Change a draft call; a published one is changed only by a corrigendum (409)."""
    if call.status != CallStatus.DRAFT:
        raise Conflict(_("A published call is changed only by a corrigendum."))
    before = _audit_values(call)
    rules_before = call.eligibility_rules or []
    merged, rows, form = _validated(data, call)
    for key, value in merged.items():
        setattr(call, key, value)
    if rows is not None:
        _apply_stages(call, rows)
    if form is not None:
        call.form = form
    db.session.flush()
    after = _audit_values(call)
    record_event(action="call.update", object_type="call", object_id=call.id, actor=actor,
                 payload={"before": {k: v for k, v in before.items() if after[k] != v},
                          "after": {k: v for k, v in after.items() if before[k] != v},
                          "form_changed": form is not None,
                          "rules_changed": (call.eligibility_rules or []) != rules_before})
    return call


def form_hash(call: Call) -> str:
    """SHA-256 of the call's form as stored: the form editor posts it back to notice a stale edit."""
    return content_hash({"form": call.form or []})


def update_call_form(call: Call, actor, form: Any, expected_hash: str | None) -> Call:
    """Replace a draft call's form, validated and audited as :func:`update_draft_call` does.

    ``expected_hash`` is the :func:`form_hash` the editor started from: when someone else changed
    the form since, the change is refused (409) rather than silently overwriting theirs.
    """
    return _replace_draft_part(call, actor, "form", form, expected_hash, form_hash,
                               _("Someone else changed this form in the meantime. Your change was not saved: "
                                 "look at the form as it is now and make it again."))


def rules_hash(call: Call) -> str:
    """SHA-256 of the call's eligibility rules as stored: the ruleset editor posts it back to notice a
    stale edit (as :func:`form_hash` does for the form)."""
    return content_hash({"rules": call.eligibility_rules or []})


def update_call_rules(call: Call, actor, rules: Any, expected_hash: str | None) -> Call:
    """Replace a draft call's eligibility rules, validated and audited as :func:`update_draft_call`
    does; refused (409) when the rules changed since ``expected_hash`` (:func:`rules_hash`) was read."""
    return _replace_draft_part(call, actor, "eligibility_rules", [] if rules is None else rules,
                               expected_hash, rules_hash,
                               _("Someone else changed these rules in the meantime. Your change was not saved: "
                                 "look at the rules as they are now and make it again."))


def _replace_draft_part(call: Call, actor, field: str, value: Any, expected_hash: str | None,
                        current_hash: Callable[[Call], str], stale: str) -> Call:
    """Replace one part of a draft call if it is still as the editor read it (compared once the
    call's row is locked, so two editors cannot both pass the check)."""
    _lock(call)
    if call.status != CallStatus.DRAFT:
        raise Conflict(_("A published call is changed only by a corrigendum."))
    if expected_hash != current_hash(call):
        raise Conflict(stale)
    return update_draft_call(call, actor, {field: value})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def call_snapshot(call: Call) -> dict[str, Any]:
    """What a call version freezes, as plain JSON data."""
    return {
        "call": {"code": call.code, "title_lv": call.title_lv, "title_en": call.title_en,
                 "description_lv": call.description_lv, "description_en": call.description_en,
                 "programme": call.programme.code},
        "dates": {"opens_at": _iso(call.opens_at), "closes_at": _iso(call.closes_at)},
        "budget": {"currency": call.programme.currency, "total": f"{call.budget:.2f}"},
        "stages": [{"si_stage": s.si_stage, "envelope": f"{s.envelope:.2f}", "min_grant": f"{s.min_grant:.2f}",
                    "max_grant": f"{s.max_grant:.2f}"} for s in call.stages],
        "form": call.form or [],
        "workflow": {"name": call.workflow_name, "version": call.workflow_version},
        "rules": call.eligibility_rules or [],
        "rubric": call.rubric or {},
    }


def _freeze(call: Call, actor, version: int, reason: str = "") -> CallVersion:
    snapshot = call_snapshot(call)
    frozen = CallVersion(call_id=call.id, version=version, snapshot=snapshot, content_hash=content_hash(snapshot),
                         reason=reason, created_by_id=actor.id if actor is not None else None)
    db.session.add(frozen)
    call.version = version
    call.content_hash = frozen.content_hash
    return frozen


def _lock(call: Call) -> None:
    """Lock the call's row (publication and corrigenda are serialised per call) and reload it."""
    db.session.flush()
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update())
    db.session.refresh(call)


def publish_call(call: Call, actor) -> CallVersion:
    """Freeze a draft call as version 1 under its content hash. Flushes, never commits."""
    _lock(call)
    if call.status != CallStatus.DRAFT:
        raise Conflict(_("Only a draft call can be published."))
    _validated({}, call)  # what was saved is still valid (the code unique, the workflow known)
    call.status = CallStatus.PUBLISHED
    call.published_at = utcnow()
    frozen = _freeze(call, actor, 1)
    db.session.flush()
    record_event(action="call.publish", object_type="call", object_id=call.id, actor=actor,
                 payload={"version": 1, "content_hash": frozen.content_hash})
    return frozen


def call_versions(call: Call) -> list[CallVersion]:
    return list(db.session.execute(sa.select(CallVersion).where(CallVersion.call_id == call.id)
                                   .order_by(CallVersion.version)).scalars())


def issue_corrigendum(call: Call, actor, changes: dict[str, Any], reason: str) -> CallVersion:
    """Change a published call by a logged corrigendum: a new frozen version, the applicants with
    drafts told. ``changes`` may hold closes_at, description_lv/en, form, eligibility_rules and
    stages (limits of the call's stages). Flushes, never commits."""
    _lock(call)
    if call.status != CallStatus.PUBLISHED:
        raise Conflict(_("Only a published call can be corrected."))
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("Say why the call is corrected.")]
    before = _audit_values(call) | {"description_lv": call.description_lv, "description_en": call.description_en}
    closes_at = _aware(changes.get("closes_at"))
    if closes_at is not None:
        if closes_at <= utcnow():
            errors.setdefault("closes_at", []).append(_("The new deadline cannot be in the past."))
        elif closes_at <= call.opens_at:
            errors.setdefault("closes_at", []).append(_("The deadline must be after the opening."))
    rows = None
    if changes.get("stages") is not None:
        current = {stage.si_stage for stage in call.stages}
        for index, stage in enumerate(changes["stages"]):
            if stage.get("si_stage") not in current:
                errors.setdefault(f"stages.{index}.si_stage", []).append(
                    _("A corrigendum changes the limits of the call's stages only."))
        rows = _check_stages(call.programme, list(changes["stages"]), errors)
        if len(rows) != len(current):
            errors.setdefault("stages", []).append(_("Give the limits of every stage of the call."))
        if not errors:
            _check_budget(call.programme, rows, call, errors)
    form = _check_form(changes["form"], errors) if changes.get("form") is not None else None
    rules = (_check_rules(changes["eligibility_rules"], errors)
             if changes.get("eligibility_rules") is not None else None)
    rules_before = call.eligibility_rules or []
    if errors:
        raise UserInputError(fields=errors)
    if closes_at is not None:
        call.closes_at = closes_at
    for key in ("description_lv", "description_en"):
        if changes.get(key) is not None:
            setattr(call, key, changes[key].strip())
    if rows is not None:
        _apply_stages(call, rows)
    if form is not None:
        call.form = form
    if rules is not None:
        call.eligibility_rules = rules
    db.session.flush()
    if content_hash(call_snapshot(call)) == call.content_hash:
        raise UserInputError(_("The corrigendum changes nothing."),
                             fields={"closes_at": [_("Change the deadline, the description, the form, the "
                                                     "eligibility rules or the limits.")]})
    frozen = _freeze(call, actor, call.version + 1, reason)
    db.session.flush()
    after = _audit_values(call) | {"description_lv": call.description_lv, "description_en": call.description_en}
    record_event(action="call.corrigendum", object_type="call", object_id=call.id, actor=actor,
                 comment=reason,
                 payload={"version": frozen.version, "content_hash": frozen.content_hash,
                          "changes": {"before": {k: v for k, v in before.items() if after[k] != v},
                                      "after": {k: v for k, v in after.items() if before[k] != v},
                                      "form_changed": form is not None,
                                      "rules_changed": (call.eligibility_rules or []) != rules_before}})
    call_corrected.send(call, version=frozen)  # the applicants with drafts are told (grants.applications)
    return frozen
