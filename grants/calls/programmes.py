"""Programmes: the money an operator re-grants (an ESF+, EEA/Norway Grants or national allocation), its period,
its SI stage model and the calls it is spent through (DESIGN §2, §7).

Officers and administrators create and change programmes; every staff role reads them. Each change is checked
(each field, then the programme as a whole: every broken rule named by its field) and audited with what changed,
in the same transaction.
A programme's budget never goes below what its calls already hold nor below what its awards take, and its stage
model is fixed once it has calls (their stages and the initiatives' stages are of that model).

The budget is kept whatever a call's eligibility rules say: the calls' budgets together (:func:`call_budget_error`,
checked by grants.calls.services) and the awards together (:func:`award_budget_error`, checked when the committee
approves and when an agreement states the amount) never exceed it. Each check reads under :func:`lock_programme`,
so two officers or two committee members at once cannot both pass it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _

from grants.audit.services import lock_chain, record_event
from grants.calls.models import Call, Programme
from grants.core.codes import FundSource
from grants.core.db import db, money_sum
from grants.core.errors import NotFound, UserInputError
from grants.core.roles import RoleCode
from grants.core.templating import format_money
from grants.initiatives.stages import STAGE_MODELS

#: Who creates and changes programmes.
EDITORS = (RoleCode.OFFICER, RoleCode.ADMIN)
#: Who reads them (pages and API).
READERS = (RoleCode.OFFICER, RoleCode.ADMIN, RoleCode.COMMITTEE, RoleCode.FINANCE, RoleCode.AUDITOR)
#: The largest budget a programme may state (EUR).
MAX_BUDGET = Decimal("10000000000.00")

_FIELDS = ("code", "title_lv", "title_en", "fund_source", "budget", "currency", "starts_on", "ends_on", "stage_model")


def _amount(value: Decimal) -> None:
    if not value.is_finite() or value < 0 or value > MAX_BUDGET or value != value.quantize(Decimal("0.01")):
        raise ma.ValidationError(_("Give an amount in euros, 0 or more, with at most two decimals."))


class ProgrammeInputSchema(ma.Schema):
    """A programme as it is typed or sent; on a change (``partial``) only the fields given."""

    class Meta:
        unknown = ma.RAISE

    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40),
                            metadata={"description": "Unique, e.g. SI-ESF-2026."})
    title_lv = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    title_en = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    fund_source = ma.fields.String(required=True, validate=ma.validate.OneOf([source.value for source in FundSource]))
    budget = ma.fields.Decimal(required=True, as_string=True, validate=_amount,
                               metadata={"description": "EUR, at most two decimals, e.g. \"1500000.00\"."})
    currency = ma.fields.String(load_default="EUR", validate=ma.validate.OneOf(["EUR"]),
                                metadata={"description": "Amounts are kept in EUR."})
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    stage_model = ma.fields.String(load_default=None, validate=ma.validate.OneOf(list(STAGE_MODELS)),
                                   metadata={"description": "The SI stage model (default: the standard one)."})


def _optional(field: ma.fields.Field) -> ma.fields.Field:
    field = copy.copy(field)
    field.required, field.load_default = False, ma.missing
    return field


#: A change: any of the fields, only those given.
ProgrammePatchSchema = type("ProgrammePatchSchema", (ma.Schema,), {
    "Meta": ProgrammeInputSchema.Meta,
    **{name: _optional(field) for name, field in ProgrammeInputSchema._declared_fields.items()}})


def programmes_query() -> sa.Select:
    """Every programme, the newest first."""
    return sa.select(Programme).order_by(Programme.starts_on.desc(), Programme.code, Programme.id)


def get_programme(programme_id: int) -> Programme:
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound()
    return programme


def allocated(programme_ids: list[int]) -> dict[int, Decimal]:
    """What the calls of each programme hold (the sum of their budgets): one statement."""
    if not programme_ids:
        return {}
    rows = db.session.execute(sa.select(Call.programme_id, sa.func.coalesce(sa.func.sum(Call.budget), 0))
                              .where(Call.programme_id.in_(programme_ids)).group_by(Call.programme_id))
    found = {programme_id: Decimal(total) for programme_id, total in rows}
    return {programme_id: found.get(programme_id, Decimal("0.00")) for programme_id in programme_ids}


#: Programme id and an application to leave out (None) → what the programme's awards take (EUR).
#: grants.grants_mgmt.awards registers it (it knows decisions, agreements and payments, which sit above calls).
_awarded: list[Callable[[int, int | None], Decimal]] = []


def register_awarded(source: Callable[[int, int | None], Decimal]) -> None:
    if _awarded:
        raise ValueError("what a programme's awards take is registered twice")
    _awarded.append(source)


def awarded(programme_id: int, excluding: int | None = None) -> Decimal:
    """What the programme's awards take, leaving out the application ``excluding`` (the one being decided)."""
    if not _awarded:
        raise RuntimeError("grants.grants_mgmt.awards registers what a programme's awards take")
    return _awarded[0](programme_id, excluding)


def lock_programme(programme_id: int) -> Programme | None:
    """Lock the programme's row until the transaction ends and read it afresh: the budget checks read under it.

    The audit chain is locked first, as :func:`grants.workflows.engine.fire` does before anything else, so every
    writer takes the two locks in one order (a decision locks the chain, then the programme)."""
    lock_chain()
    return db.session.execute(sa.select(Programme).where(Programme.id == programme_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def call_budget_error(programme: Programme, budget: Decimal, excluding: int | None = None) -> str | None:
    """Why a call of ``budget`` does not fit in the programme (its other calls' budgets, all but the call
    ``excluding``, plus this one over the programme's budget), or None. Locks the programme."""
    lock_programme(programme.id)
    held = db.session.scalar(sa.select(money_sum(Call.budget)).where(
        Call.programme_id == programme.id, Call.id != (excluding if excluding is not None else -1)))
    if held + budget <= programme.budget:
        return None
    return _("The programme's budget is %(budget)s; its other calls hold %(held)s, so %(left)s is left: this "
             "call's budget of %(amount)s does not fit.", budget=format_money(programme.budget),
             held=format_money(held), left=format_money(max(programme.budget - held, Decimal("0.00"))),
             amount=format_money(budget))


def award_budget_error(programme: Programme, amount: Decimal, excluding: int | None = None) -> str | None:
    """Why an award of ``amount`` does not fit in the programme (what its other awards take, all but the
    application ``excluding``, plus this one over the programme's budget), or None. Locks the programme."""
    lock_programme(programme.id)
    taken = awarded(programme.id, excluding)
    if taken + amount <= programme.budget:
        return None
    return _("The programme's budget is %(budget)s; its awards already take %(taken)s, so %(left)s is left: an "
             "award of %(amount)s does not fit.", budget=format_money(programme.budget),
             taken=format_money(taken), left=format_money(max(programme.budget - taken, Decimal("0.00"))),
             amount=format_money(amount))


def _values(programme: Programme) -> dict[str, Any]:
    return {"code": programme.code, "title_lv": programme.title_lv, "title_en": programme.title_en,
            "fund_source": programme.fund_source.value, "budget": f"{programme.budget:.2f}",
            "currency": programme.currency, "starts_on": programme.starts_on.isoformat(),
            "ends_on": programme.ends_on.isoformat(), "stage_model": programme.stage_model}


def _check(values: dict[str, Any], programme: Programme | None) -> None:
    """The rules a programme as a whole must keep; every broken one named by its field."""
    errors: dict[str, list[str]] = {}
    taken = db.session.scalar(sa.select(Programme.id).where(Programme.code == values["code"],
                                                             Programme.id != (programme.id if programme else -1)))
    if taken is not None:
        errors["code"] = [_("Another programme already has this code.")]
    starts_on: date = values["starts_on"]
    ends_on: date = values["ends_on"]
    if ends_on < starts_on:
        errors["ends_on"] = [_("The programme cannot end before it starts.")]
    if programme is not None:
        lock_programme(programme.id)  # no call or award may take the money while the budget is lowered
        held = allocated([programme.id])[programme.id]
        taken = awarded(programme.id)
        if values["budget"] < held:
            errors["budget"] = [_("The calls of this programme already hold %(held)s EUR: the budget cannot be "
                                  "less.", held=f"{held:.2f}")]
        elif values["budget"] < taken:
            errors["budget"] = [_("The awards of this programme already take %(taken)s EUR: the budget cannot be "
                                  "less.", taken=f"{taken:.2f}")]
        has_calls = db.session.scalar(sa.select(Call.id).where(Call.programme_id == programme.id).limit(1))
        if has_calls is not None and values["stage_model"] != programme.stage_model:
            errors["stage_model"] = [_("The programme has calls: their stages are of its stage model, which can no "
                                       "longer change.")]
    if errors:
        raise UserInputError(_("The programme was not saved: see the fields marked."), fields=errors)


def create_programme(actor, data: dict[str, Any]) -> Programme:
    """A new programme from checked input (:class:`ProgrammeInputSchema`). Flushes, never commits."""
    values = {key: data.get(key) for key in _FIELDS}
    values["stage_model"] = values["stage_model"] or next(iter(STAGE_MODELS))
    values["currency"] = values["currency"] or "EUR"
    _check(values, None)
    programme = Programme(**{**values, "fund_source": FundSource(values["fund_source"])})
    db.session.add(programme)
    db.session.flush()
    record_event(action="programme.create", object_type="programme", object_id=programme.id, actor=actor,
                 payload=_values(programme))
    return programme


def update_programme(programme: Programme, actor, changes: dict[str, Any]) -> Programme:
    """Change the fields given (:class:`ProgrammeInputSchema`, partial); audited with what changed."""
    before = _values(programme)
    current = {"code": programme.code, "title_lv": programme.title_lv, "title_en": programme.title_en,
               "fund_source": programme.fund_source.value, "budget": programme.budget,
               "currency": programme.currency, "starts_on": programme.starts_on, "ends_on": programme.ends_on,
               "stage_model": programme.stage_model}
    values = {**current, **{key: value for key, value in changes.items() if key in _FIELDS and value is not None}}
    _check(values, programme)
    for key, value in values.items():
        setattr(programme, key, FundSource(value) if key == "fund_source" else value)
    db.session.flush()
    after = _values(programme)
    changed = {key for key in after if after[key] != before[key]}
    if changed:
        record_event(action="programme.update", object_type="programme", object_id=programme.id, actor=actor,
                     payload={"before": {key: before[key] for key in sorted(changed)},
                              "after": {key: after[key] for key in sorted(changed)}})
    return programme
