"""The forms of the grant pages: the agreement, the signed scan, payment actions and instalments, the
stage gate decision and a new irregularity.

Dates and amounts are taken as the person typed them (strings) and checked by the services, which
say what is wrong in the programme's own words; the forms only bound the sizes. The agreement's
tables (tranches, indicator targets, required reports, payment schedule) have as many rows as the
officer needs, so they are read from the posted fields here rather than declared as fields.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from grants.core.forms import TOO_LONG, BaseForm

#: The most rows of one agreement table read from a form (more are ignored).
MAX_ROWS = 60
DATE_INPUT = {"type": "date"}
AMOUNT_INPUT = {"inputmode": "decimal"}

PAYMENT_KIND_LABELS = {"advance": _l("Advance"), "interim": _l("Interim payment"), "final": _l("Final payment"),
                       "tranche": _l("Tranche")}
REPORT_KIND_LABELS = {"progress": _l("Progress report"), "final": _l("Final report")}


def payment_kind_label(kind) -> str:
    code = getattr(kind, "value", kind)
    return str(PAYMENT_KIND_LABELS.get(code, code))


def report_kind_label(kind) -> str:
    code = getattr(kind, "value", kind)
    return str(REPORT_KIND_LABELS.get(code, code))


def _date_field(label, description=None) -> StringField:
    return StringField(label, description=description, render_kw=DATE_INPUT,
                       validators=[Optional(), Length(max=40, message=TOO_LONG)])


def _amount_field(label, description=None) -> StringField:
    return StringField(label, description=description, render_kw=AMOUNT_INPUT,
                       validators=[Optional(), Length(max=30, message=TOO_LONG)])


# --- the agreement -------------------------------------------------------------------------------------

class AgreementForm(BaseForm):
    """The agreement's own terms; its tables are read with :func:`posted_rows`."""

    start_date = _date_field(_l("Start date"))
    end_date = _date_field(_l("End date"))
    awarded_amount = _amount_field(_l("Amount awarded (EUR)"),
                                   _l("At most the amount the committee decided."))
    co_financing_rate = _amount_field(_l("Co-financing rate (%)"),
                                      _l("The grantee's own contribution, in per cent of the eligible cost."))
    conditions = TextAreaField(_l("Conditions"), description=_l("The decision's conditions, as agreed."),
                               validators=[Optional(), Length(max=5000, message=TOO_LONG)])
    #: The version of the agreement the page showed (empty for a new one).
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


#: Agreement tables: the posted name of each and the columns of a row.
TRANCHE_KEYS = ("si_stage", "amount")
REPORT_KEYS = ("kind", "si_stage", "period_end", "due_on")
SCHEDULE_KEYS = ("kind", "amount", "due_on")


def posted_rows(formdata, table: str, keys: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of ``table`` as posted (``<table>-<n>-<key>`` fields), in order, values stripped."""
    pattern = re.compile(rf"{re.escape(table)}-(\d{{1,4}})-(\w+)")
    indices = sorted({int(match.group(1)) for name in formdata if (match := pattern.fullmatch(name))})
    return [{key: str(formdata.get(f"{table}-{index}-{key}") or "").strip()[:200] for key in keys}
            for index in indices[:MAX_ROWS]]


def is_blank(row: dict[str, str], keys: tuple[str, ...]) -> bool:
    """A row whose typed columns are all empty (the choice lists always hold a value)."""
    return not any(row.get(key) for key in keys)


def posted_targets(formdata, codes: list[str]) -> dict[str, str]:
    """Indicator code → the target typed (every indicator of the programme, empty when none)."""
    return {code: str(formdata.get(f"target-{code}") or "").strip()[:40] for code in codes}


def plain_amount(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def plain_date(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


# --- the signed scan -------------------------------------------------------------------------------------

class SignedFileForm(BaseForm):
    file = FileField(_l("Scan of the signed agreement"),
                     validators=[FileRequired(message=_l("Choose a file to upload."))])


# --- payments ---------------------------------------------------------------------------------------------

class PaymentActionForm(BaseForm):
    """The buttons of one payment: the pressed one names the trigger; paying records the value date
    and the payment order's reference, rejecting needs a comment."""

    trigger = HiddenField(validators=[InputRequired(), Length(max=60)])
    comment = StringField(_l("Comment"), validators=[Optional(), Length(max=5000, message=TOO_LONG)])
    paid_on = StringField(_l("Paid on"), render_kw=DATE_INPUT, validators=[Optional(), Length(max=40)])
    reference = StringField(_l("Payment order reference"), validators=[Optional(), Length(max=120, message=TOO_LONG)])
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    next = HiddenField(validators=[Optional(), Length(max=2000)])


class PlanPaymentForm(BaseForm):
    """An instalment added to the schedule (officers)."""

    kind = SelectField(_l("Kind"), choices=lambda: [SelectChoice(code, str(PAYMENT_KIND_LABELS[code]))
                                                    for code in ("advance", "interim", "final")],
                       validators=[InputRequired()])
    amount = _amount_field(_l("Amount (EUR)"))
    due_on = _date_field(_l("Due date"))


# --- the stage gate -------------------------------------------------------------------------------------

GATE_OUTCOME_LABELS = {"passed": _l("Pass the gate: fund the next stage"),
                       "failed": _l("Close the award at this stage")}


class GateDecisionForm(BaseForm):
    """The committee's decision at a stage gate (grants.grants_mgmt.gates.decide_gate)."""

    outcome = RadioField(_l("Decision"),
                         choices=lambda: [SelectChoice(code, str(label))
                                          for code, label in GATE_OUTCOME_LABELS.items()],
                         validators=[Optional()], validate_choice=False)
    reason = TextAreaField(_l("Reason"),
                           description=_l("Required to close the award, and to pass a gate the reviewers scored "
                                          "below the pass mark; the grantee reads it."),
                           validators=[Optional(), Length(max=5000, message=TOO_LONG)])
    decided_on = _date_field(_l("Decision date"), _l("The date the committee decided; not in the future."))

    def values(self) -> dict[str, Any]:
        return {"outcome": self.outcome.data or "", "reason": self.reason.data or "",
                "decided_on": (self.decided_on.data or "").strip()}


# --- irregularities ----------------------------------------------------------------------------------------

class IrregularityForm(BaseForm):
    """A suspected irregularity entered in the register (officers)."""

    amount = _amount_field(_l("Amount concerned (EUR)"))
    description = TextAreaField(_l("What was found"), validators=[Optional(), Length(max=10000, message=TOO_LONG)])
    detected_on = _date_field(_l("Detected on"))

    def values(self) -> dict[str, Any]:
        return {"amount": (self.amount.data or "").strip(), "description": self.description.data or "",
                "detected_on": (self.detected_on.data or "").strip()}


def as_number(text: str | None) -> str:
    """An amount as typed, the way the services read it: spaces dropped, a lone decimal comma made a
    point ("1 600,50" → "1600.50"). Anything else is passed on for the service to refuse."""
    value = re.sub(r"[\s\u00a0\u202f]", "", text or "")
    if "," in value and "." not in value and value.count(",") == 1:
        value = value.replace(",", ".")
    return value
