"""Indicators (DESIGN §7): what a programme measures its grants by, the targets of the programme, of
each call and of each grant (its agreement), and what accepted reports say was reached.

Every ESF+ programme also reports the ESF+ common indicators (Regulation (EU) 2021/1057, Annex I):
participants by gender and age group (under 18, 18–29, 30–54, 55 and over) and entities supported.
They are defined here, in code; a programme's own indicators are rows of
:class:`~grants.grants_mgmt.models.Indicator`. A report gives the values reached in its period; what
a grant, a call or a programme reached is the sum over its accepted reports.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.applications.models import Application
from grants.audit.services import record_event
from grants.calls.models import Call, Programme
from grants.core.codes import FundSource
from grants.core.db import CENT, db
from grants.core.errors import UserInputError
from grants.core.i18n import current_language
from grants.grants_mgmt.models import CallIndicatorTarget, GrantReport, Indicator

GENDERS = (("women", _l("women")), ("men", _l("men")), ("non_binary", _l("non-binary")))
AGE_GROUPS = (("under_18", _l("under 18")), ("18_29", _l("18–29")), ("30_54", _l("30–54")),
              ("55_plus", _l("55 and over")))
PARTICIPANTS = "esf_participants"
ENTITIES = "esf_entities_supported"
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"


@dataclass(frozen=True)
class IndicatorDef:
    """One indicator as pages, reports and the API use it."""

    code: str
    title_lv: str
    title_en: str
    unit_lv: str
    unit_en: str
    #: An ESF+ common indicator (defined in code, the same for every ESF+ programme).
    is_common: bool = False
    #: Counted in whole numbers (people, organisations).
    integer: bool = False
    gender: str | None = None
    age_group: str | None = None

    @property
    def title(self) -> str:
        if self.gender is not None:
            return _("Participants: %(gender)s, %(age)s", gender=dict(GENDERS)[self.gender],
                     age=dict(AGE_GROUPS)[self.age_group])
        if self.code == ENTITIES:
            return _("Entities supported")
        return (self.title_en if current_language() == "en" else self.title_lv) or self.title_lv or self.title_en

    @property
    def unit(self) -> str:
        if self.is_common:
            return _("persons") if self.gender is not None else _("entities")
        return (self.unit_en if current_language() == "en" else self.unit_lv) or self.unit_lv or self.unit_en


COMMON_INDICATORS: tuple[IndicatorDef, ...] = (
    *(IndicatorDef(f"{PARTICIPANTS}_{gender}_{age}", "", "", "", "", is_common=True, integer=True, gender=gender,
                   age_group=age)
      for gender, _label in GENDERS for age, _age_label in AGE_GROUPS),
    IndicatorDef(ENTITIES, "", "", "", "", is_common=True, integer=True),
)
COMMON_CODES = frozenset(indicator.code for indicator in COMMON_INDICATORS)


def has_common_indicators(programme: Programme) -> bool:
    return programme.fund_source == FundSource.ESF_PLUS


def own_indicators(programme: Programme) -> list[Indicator]:
    """The programme's rows (its own indicators, and the targets of common ones), by code."""
    return list(db.session.scalars(sa.select(Indicator).where(Indicator.programme_id == programme.id)
                                   .order_by(Indicator.is_common, Indicator.code)))


def definitions(programme: Programme, rows: list[Indicator] | None = None) -> list[IndicatorDef]:
    """Every indicator of the programme: the ESF+ common ones first (ESF+ programmes), then its own."""
    rows = own_indicators(programme) if rows is None else rows
    common = list(COMMON_INDICATORS) if has_common_indicators(programme) else []
    return common + [IndicatorDef(row.code, row.title_lv, row.title_en, row.unit_lv, row.unit_en)
                     for row in rows if not row.is_common]


def indicator_codes(programme: Programme) -> dict[str, bool]:
    """Code → counted in whole numbers, for every indicator of the programme."""
    return {indicator.code: indicator.integer for indicator in definitions(programme)}


def parse_value(value: Any, *, integer: bool = False) -> Decimal | int | None:
    """A value of an indicator: a number, 0 or more (whole for counts, else at most two decimals)."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0 or number > Decimal("1000000000"):
        return None
    if integer:
        return int(number) if number == number.to_integral_value() else None
    return number.quantize(CENT) if number == number.quantize(CENT) else None


def plain(value: Decimal | int | None) -> int | float | None:
    """JSON keeps numbers: whole ones as integers."""
    if value is None:
        return None
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


# --- what was reached ---------------------------------------------------------------------------------

def _sum(rows) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (values,) in rows:
        for code, value in (values or {}).items():
            number = parse_value(value)
            if number is not None:
                totals[code] += Decimal(number)
    return dict(totals)


def reached_by_grant(application: Application) -> dict[str, Decimal]:
    return _sum(db.session.execute(sa.select(GrantReport.indicators).where(
        GrantReport.application_id == application.id, GrantReport.state == "accepted")))


def reached_by_call(call: Call) -> dict[str, Decimal]:
    return _sum(db.session.execute(
        sa.select(GrantReport.indicators).join(Application, Application.id == GrantReport.application_id)
        .where(Application.call_id == call.id, GrantReport.state == "accepted")))


def reached_by_calls(programme: Programme) -> dict[int, dict[str, Decimal]]:
    """Call id → what its accepted reports reached, for every call of the programme (one query)."""
    by_call: dict[int, list] = defaultdict(list)
    for call_id, values in db.session.execute(
            sa.select(Application.call_id, GrantReport.indicators)
            .join(Application, Application.id == GrantReport.application_id)
            .join(Call, Call.id == Application.call_id)
            .where(Call.programme_id == programme.id, GrantReport.state == "accepted")):
        by_call[call_id].append((values,))
    return {call_id: _sum(rows) for call_id, rows in by_call.items()}


@dataclass
class Progress:
    indicator: IndicatorDef
    target: Decimal | None
    actual: Decimal

    @property
    def percent(self) -> int | None:
        if not self.target:
            return None
        return int(self.actual * 100 / self.target)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.indicator.code, "title": self.indicator.title, "unit": self.indicator.unit,
                "is_common": self.indicator.is_common, "target": plain(self.target), "actual": plain(self.actual)}


def _progress(indicators: list[IndicatorDef], targets: dict[str, Any], actual: dict[str, Decimal]) -> list[Progress]:
    rows = []
    for indicator in indicators:
        target = targets.get(indicator.code)
        rows.append(Progress(indicator, Decimal(str(target)) if target is not None else None,
                             actual.get(indicator.code, Decimal(0))))
    return rows


def grant_progress(application: Application, agreement) -> list[Progress]:
    """Target (the agreement's) against what the grant's accepted reports reached, per indicator."""
    targets = dict(agreement.indicator_targets or {}) if agreement is not None else {}
    return _progress(definitions(application.call.programme), targets, reached_by_grant(application))


def call_progress(call: Call) -> list[Progress]:
    rows = own_indicators(call.programme)
    targets = {row.code: target.target for row in rows for target in row.call_targets if target.call_id == call.id}
    return _progress(definitions(call.programme, rows), targets, reached_by_call(call))


def programme_progress(programme: Programme) -> tuple[list[Progress], dict[int, list[Progress]]]:
    """The programme's targets against what all its calls reached, and the same per call."""
    rows = own_indicators(programme)
    indicators = definitions(programme, rows)
    by_call = reached_by_calls(programme)
    total: dict[str, Decimal] = defaultdict(Decimal)
    for reached in by_call.values():
        for code, value in reached.items():
            total[code] += value
    call_targets: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        for target in row.call_targets:
            call_targets[target.call_id][row.code] = target.target
    per_call = {call.id: _progress(indicators, call_targets.get(call.id, {}), by_call.get(call.id, {}))
                for call in programme.calls}
    return _progress(indicators, {row.code: row.target for row in rows if row.target is not None}, dict(total)), \
        per_call


def participants_matrix(progress: list[Progress]) -> list[dict[str, Any]]:
    """The ESF+ participants as a table: a row per gender, a column per age group, with totals."""
    by_code = {row.indicator.code: row for row in progress}
    if f"{PARTICIPANTS}_women_under_18" not in by_code:
        return []
    matrix = []
    for gender, label in GENDERS:
        cells = [by_code[f"{PARTICIPANTS}_{gender}_{age}"] for age, _age_label in AGE_GROUPS]
        matrix.append({"gender": gender, "label": str(label), "cells": cells,
                       "actual": sum((cell.actual for cell in cells), Decimal(0))})
    return matrix


# --- the programme's catalogue and targets -------------------------------------------------------------

def save_indicators(programme: Programme, actor, data: Any) -> list[Indicator]:
    """Replace the programme's own indicators and the targets (programme and per call) of every
    indicator, from ``[{code, title_lv, title_en, unit_lv, unit_en, target, call_targets: {call_id:
    target}}]``; a common ESF+ indicator is given by its code with targets only. Checked first and
    reported by field; audited. Flushes."""
    if not isinstance(data, list):
        raise UserInputError(fields={"indicators": [_("List the indicators.")]})
    errors: dict[str, list[str]] = {}
    call_ids = {call.id for call in programme.calls}
    common = COMMON_CODES if has_common_indicators(programme) else frozenset()
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(data):
        where = f"indicators.{index}"
        if not isinstance(item, dict):
            errors[where] = [_("An indicator is an object with a code, titles, a unit and targets.")]
            continue
        code = str(item.get("code") or "").strip()
        is_common = code in common
        if not re.match(CODE_PATTERN, code):
            errors[f"{where}.code"] = [_("Use a short code of lowercase letters, digits and _, starting with a "
                                         "letter.")]
        elif code in seen:
            errors[f"{where}.code"] = [_("Each indicator needs its own code.")]
        elif code.startswith("esf_") and not is_common:
            errors[f"{where}.code"] = [_("Codes starting with esf_ are kept for the ESF+ common indicators.")]
        seen.add(code)
        entry = {"code": code, "is_common": is_common}
        for key, limit in (("title_lv", 300), ("title_en", 300), ("unit_lv", 60), ("unit_en", 60)):
            value = "" if is_common else str(item.get(key) or "").strip()
            if len(value) > limit:
                errors[f"{where}.{key}"] = [_("Use at most %(max)d characters.", max=limit)]
            entry[key] = value
        if not is_common:
            if not entry["title_lv"]:
                errors[f"{where}.title_lv"] = [_("Give the title in Latvian.")]
            if not entry["title_en"]:
                errors[f"{where}.title_en"] = [_("Give the title in English.")]
            if not entry["unit_lv"] or not entry["unit_en"]:
                errors[f"{where}.unit_lv"] = [_("Say what is counted, in Latvian and English.")]
        entry["target"] = _target(item.get("target"), f"{where}.target", errors, integer=is_common)
        targets: dict[int, Decimal] = {}
        raw_targets = item.get("call_targets") or {}
        if not isinstance(raw_targets, dict):
            errors[f"{where}.call_targets"] = [_("Give the targets by call id.")]
            raw_targets = {}
        for key, value in raw_targets.items():
            call_id = int(key) if str(key).isdigit() else None
            if call_id not in call_ids:
                errors[f"{where}.call_targets.{key}"] = [_("Not a call of this programme.")]
                continue
            target = _target(value, f"{where}.call_targets.{key}", errors, integer=is_common)
            if target is not None:
                targets[call_id] = target
        entry["call_targets"] = targets
        clean.append(entry)
    if errors:
        raise UserInputError(fields=errors)
    before = {row.code: _plain_row(row) for row in own_indicators(programme)}
    existing = {row.code: row for row in own_indicators(programme)}
    for code, row in existing.items():
        if code not in seen:
            db.session.delete(row)
    db.session.flush()
    for entry in clean:
        row = existing.get(entry["code"])
        if row is None:
            row = Indicator(programme_id=programme.id, code=entry["code"])
            db.session.add(row)
        row.title_lv, row.title_en = entry["title_lv"], entry["title_en"]
        row.unit_lv, row.unit_en = entry["unit_lv"], entry["unit_en"]
        row.target, row.is_common = entry["target"], entry["is_common"]
        current = {target.call_id: target for target in row.call_targets}
        for call_id, target in current.items():
            if call_id not in entry["call_targets"]:
                row.call_targets.remove(target)
        for call_id, value in entry["call_targets"].items():
            if call_id in current:
                current[call_id].target = value
            else:
                row.call_targets.append(CallIndicatorTarget(call_id=call_id, target=value))
    db.session.flush()
    rows = own_indicators(programme)
    after = {row.code: _plain_row(row) for row in rows}
    if after != before:
        record_event(action="programme.indicators_update", object_type="programme", object_id=programme.id,
                     actor=actor, role="officer" if actor.has_role("officer") else "admin",
                     payload={"before": before, "after": after})
    return rows


def _target(value: Any, where: str, errors: dict[str, list[str]], *, integer: bool) -> Decimal | None:
    if value in (None, ""):
        return None
    number = parse_value(value, integer=integer)
    if number is None:
        errors[where] = [_("Give a whole number, 0 or more.") if integer
                         else _("Give a number, 0 or more, with at most two decimals.")]
        return None
    return Decimal(number).quantize(CENT)


def _plain_row(row: Indicator) -> dict[str, Any]:
    return {"title_lv": row.title_lv, "title_en": row.title_en, "unit_lv": row.unit_lv, "unit_en": row.unit_en,
            "target": plain(row.target), "call_targets": {str(t.call_id): plain(t.target) for t in row.call_targets}}


def catalogue_for_api(programme: Programme) -> list[dict[str, Any]]:
    """Every indicator of the programme with its programme and call targets."""
    rows = {row.code: row for row in own_indicators(programme)}
    items = []
    for indicator in definitions(programme, list(rows.values())):
        row = rows.get(indicator.code)
        items.append({"code": indicator.code, "title": indicator.title, "unit": indicator.unit,
                      "is_common": indicator.is_common, "integer": indicator.integer,
                      "title_lv": indicator.title_lv, "title_en": indicator.title_en,
                      "unit_lv": indicator.unit_lv, "unit_en": indicator.unit_en,
                      "target": plain(row.target) if row is not None else None,
                      "call_targets": {str(t.call_id): plain(t.target) for t in row.call_targets} if row else {}})
    return items
