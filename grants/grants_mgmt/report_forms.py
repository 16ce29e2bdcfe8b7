"""The forms of the grant pages after award (reports, irregularities, indicators).

A report's indicator values and expenditure lines, and a programme's indicator catalogue, have as many
inputs as the programme has indicators, calls and lines: they are read from the posted form here into
what the services take, and the services' field errors (``expenditure.2.amount``,
``indicators.0.call_targets.5``) are put back beside the inputs they name. Everything typed is kept
for the page shown again. The fixed forms (a file, a recovery order, money received) are WTForms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import MultiDict
from wtforms import StringField
from wtforms.widgets import DateInput

from grants.core.errors import TransitionNotAllowed
from grants.core.forms import BaseForm
from grants.workflows.forms import ActionForm, take_action

#: Empty expenditure lines and new indicator rows offered below the existing ones.
BLANK_ROWS = 3
#: More rows than any real form has: what is posted beyond is not read.
MAX_ROWS = 500

_LINE = re.compile(r"^expenditure-(\d{1,4})-(category|amount|co_financing)$")
_INDICATOR_ROW = re.compile(r"^ind-(\d{1,4})-code$")
EXPENDITURE_KEYS = ("category", "amount", "co_financing")
TEXT_KEYS = ("title_lv", "title_en", "unit_lv", "unit_en")


# --- workflow actions ----------------------------------------------------------------------------------

def take_action_listing_reasons(form: ActionForm, fire: Callable[..., object]) -> tuple[bool, int, str | None,
                                                                                        list[str]]:
    """:func:`~grants.workflows.forms.take_action`, with the reasons of a refused transition as a list
    (what is missing from a report, a comment required…), for the page to show one by one."""
    reasons: list[str] = []

    def listing(trigger: str, **kwargs):
        try:
            return fire(trigger, **kwargs)
        except TransitionNotAllowed as refused:
            reasons.extend(reason["message"] for reason in refused.reasons)
            raise

    done, status, error = take_action(form, listing)
    return done, status, error, reasons


# --- a report's content ------------------------------------------------------------------------------

@dataclass
class ReportContent:
    """What the report form shows and sends: the text as typed."""

    narrative: str = ""
    #: Indicator code → the value as typed ("" for none).
    indicators: dict[str, str] = field(default_factory=dict)
    #: The lines that are not blank, as typed; the service's ``expenditure.<n>`` is the n-th.
    expenditure: list[dict[str, str]] = field(default_factory=list)

    @property
    def lines(self) -> list[dict[str, str]]:
        """The lines to show: those given, then blank ones to fill in."""
        return self.expenditure + [dict.fromkeys(EXPENDITURE_KEYS, "") for _ in range(BLANK_ROWS)]

    def as_data(self) -> dict[str, Any]:
        return {"narrative": self.narrative, "indicators": dict(self.indicators),
                "expenditure": [dict(line) for line in self.expenditure]}


def content_of(report) -> ReportContent:
    """A saved report's content, for its form."""
    return ReportContent(
        narrative=report.narrative or "",
        indicators={code: _typed(value) for code, value in (report.indicators or {}).items()},
        expenditure=[{key: str(line.get(key) or "") for key in EXPENDITURE_KEYS} for line in report.expenditure or []])


def _typed(value: Any) -> str:
    """A stored number as people type it: 2, 2.5 (stored as "2.00", "2.50")."""
    try:
        return str(_number(Decimal(str(value))))
    except (InvalidOperation, ValueError):
        return str(value)


def content_from(formdata: MultiDict, codes: list[str]) -> ReportContent:
    """The posted report form: the narrative, a value per indicator of the programme (empty ones
    included: the service leaves them out) and the expenditure lines, blank lines left out."""
    rows: dict[int, dict[str, str]] = {}
    for name in formdata:
        match = _LINE.match(name)
        if match and int(match.group(1)) < MAX_ROWS:
            rows.setdefault(int(match.group(1)), dict.fromkeys(EXPENDITURE_KEYS, ""))[match.group(2)] = \
                formdata.get(name, "").strip()
    lines = [rows[index] for index in sorted(rows) if any(rows[index].values())]
    return ReportContent(narrative=formdata.get("narrative", ""),
                         indicators={code: formdata.get(f"indicator-{code}", "").strip() for code in codes},
                         expenditure=lines)


class ReportFileForm(BaseForm):
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose a file to upload."))])


class RemoveFileForm(BaseForm):
    """Only the CSRF token: the file is named by the URL."""


# --- irregularities ----------------------------------------------------------------------------------
# Amounts and dates are taken as typed: the service checks them and names the field.

class RecoveryOrderForm(BaseForm):
    amount = StringField(_l("Amount to recover (EUR)"), render_kw={"inputmode": "decimal"})
    issued_on = StringField(_l("Issued on"), widget=DateInput(), description=_l("Today, when left empty."))
    due_on = StringField(_l("To be paid back by"), widget=DateInput())
    reference = StringField(_l("Reference"), description=_l("The order's number in the accounts, if any."))


class ReceiptForm(BaseForm):
    """Money received on one recovery order (named by a plain ``order_id`` input beside it)."""

    amount = StringField(_l("Amount received (EUR)"), render_kw={"inputmode": "decimal"})
    received_on = StringField(_l("Received on"), widget=DateInput(), description=_l("Today, when left empty."))


def place_errors(form: BaseForm, fields: dict[str, list[str]]) -> list[str]:
    """Put a service's field errors on the form's fields; what names no field is returned."""
    rest = []
    for name, messages in fields.items():
        if name in form and name != "csrf_token":
            form[name].errors = list(form[name].errors) + list(messages)
        else:
            rest.extend(messages)
    return rest


# --- a programme's indicators --------------------------------------------------------------------------

@dataclass
class CatalogueRow:
    """One row of the indicators form: an ESF+ common indicator (targets only), one of the programme's
    own (its code kept), or a new one."""

    key: int
    code: str = ""
    common: bool = False
    existing: bool = False
    #: Shown for common indicators, which are not retitled.
    title: str = ""
    title_lv: str = ""
    title_en: str = ""
    unit_lv: str = ""
    unit_en: str = ""
    target: str = ""
    #: Call id → the target as typed.
    call_targets: dict[int, str] = field(default_factory=dict)
    remove: bool = False

    def is_blank(self) -> bool:
        return not (self.code or self.target or any(getattr(self, key) for key in TEXT_KEYS)
                    or any(self.call_targets.values()))

    def as_data(self) -> dict[str, Any]:
        item: dict[str, Any] = {"code": self.code, "target": self.target or None,
                                "call_targets": {str(call_id): value for call_id, value in self.call_targets.items()
                                                 if value}}
        if not self.common:
            item.update({key: getattr(self, key) for key in TEXT_KEYS})
        return item


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def catalogue_rows(definitions, rows, calls) -> list[CatalogueRow]:
    """The form as saved: every indicator of the programme, then blank rows for new ones."""
    by_code = {row.code: row for row in rows}
    call_ids = [call.id for call in calls]
    result = []
    for key, indicator in enumerate(definitions):
        row = by_code.get(indicator.code)
        targets = {t.call_id: t.target for t in row.call_targets} if row is not None else {}
        result.append(CatalogueRow(
            key=key, code=indicator.code, common=indicator.is_common, existing=True, title=indicator.title,
            title_lv=indicator.title_lv, title_en=indicator.title_en, unit_lv=indicator.unit_lv,
            unit_en=indicator.unit_en, target=_plain(_number(row.target) if row is not None else None),
            call_targets={call_id: _plain(_number(targets.get(call_id))) for call_id in call_ids}))
    start = len(result)
    result += [CatalogueRow(key=start + n, call_targets=dict.fromkeys(call_ids, "")) for n in range(BLANK_ROWS)]
    return result


def _number(value):
    """2, 2.5: targets as people type them (the stored ones have two decimals)."""
    if value is None:
        return None
    return value.to_integral_value() if value == value.to_integral_value() else value.normalize()


def catalogue_from(formdata: MultiDict, calls, common_titles: dict[str, str]) -> list[CatalogueRow]:
    """The posted indicators form, row by row, as typed."""
    keys = sorted({int(m.group(1)) for name in formdata if (m := _INDICATOR_ROW.match(name))})[:MAX_ROWS]
    result = []
    for key in keys:
        def value(name: str, key: int = key) -> str:
            return formdata.get(f"ind-{key}-{name}", "").strip()
        code = value("code")
        common = value("common") == "1" and code in common_titles
        result.append(CatalogueRow(
            key=key, code=code, common=common, existing=value("existing") == "1", title=common_titles.get(code, ""),
            **{name: value(name) for name in TEXT_KEYS}, target=value("target"),
            call_targets={call.id: value(f"call-{call.id}") for call in calls}, remove=value("remove") == "1"))
    return result


def catalogue_data(rows: list[CatalogueRow]) -> tuple[list[dict[str, Any]], list[int]]:
    """What ``save_indicators`` takes, and the form row of each item (to place its errors). Blank new
    rows and removed ones are left out; so is a common indicator without any target (none is kept)."""
    data, keys = [], []
    for row in rows:
        if row.existing and row.remove and not row.common:
            continue
        if row.common and not row.target and not any(row.call_targets.values()):
            continue
        if not row.existing and row.is_blank():
            continue
        data.append(row.as_data())
        keys.append(row.key)
    return data, keys


def catalogue_errors(fields: dict[str, list[str]], keys: list[int]) -> tuple[dict[int, dict[str, list[str]]],
                                                                               list[str]]:
    """``indicators.<n>.<field>`` errors by form row and field (``call_targets.<call id>`` included);
    anything else is general."""
    by_row: dict[int, dict[str, list[str]]] = {}
    general: list[str] = []
    for name, messages in fields.items():
        parts = name.split(".", 2)
        if parts[0] == "indicators" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(keys):
            by_row.setdefault(keys[int(parts[1])], {})[parts[2] if len(parts) > 2 else ""] = list(messages)
        else:
            general.extend(messages)
    return by_row, general
