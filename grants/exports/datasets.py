"""What can be exported: each dataset is a table (columns, and rows read one at a time) over the
programme's data, with the filters it takes.

Rows come from column selects executed on a connection of their own with ``stream_results``, so
any number of rows passes through in flat memory and the export's progress can be committed on
the session meanwhile. Money is a Decimal (a number cell in a EUR format in XLSX), dates are dates.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.applications.models import Application, Submission
from grants.calls.models import Call, Programme
from grants.core.codes import FUND_SOURCE_LABELS, LEGAL_FORM_LABELS, REGION_LABELS, label
from grants.core.db import CENT, Money, db, read_only
from grants.core.errors import UserInputError
from grants.core.tabular import Column
from grants.core.values import as_date
from grants.decisions.models import Decision
from grants.eligibility.models import AidSource, DeMinimisAid
from grants.evaluations.models import EvaluationResult
from grants.grants_mgmt.indicators import definitions, parse_value
from grants.grants_mgmt.models import GrantAgreement, GrantReport, Payment
from grants.grants_mgmt.models.payments import OPEN_PAYMENT_STATES
from grants.grants_mgmt.retention import keep_until
from grants.initiatives.models import Initiative
from grants.initiatives.stages import stage_label
from grants.organisations.models import Organisation
from grants.reports.statistics import TABLE_COLUMNS, TABLE_TITLES, call_report, parse_filters, programme_report
from grants.workflows.engine import definitions as workflow_definitions

#: Rows fetched from the database at a time.
BATCH = 500
FORMATS = ("csv", "xlsx", "json")


@dataclass(frozen=True)
class Table:
    title: Any
    columns: tuple[Column, ...]
    rows: Callable[[], Iterator[dict[str, Any]]]
    count: Callable[[], int]


@dataclass(frozen=True)
class Dataset:
    kind: str
    title: Any
    formats: tuple[str, ...]
    #: Filters → the tables (one sheet each in XLSX; CSV and JSON take the first).
    tables: Callable[[dict[str, Any]], list[Table]]
    #: The filters it takes: name → kind ("id", "state").
    filters: dict[str, str]


DATASETS: dict[str, Dataset] = {}


def dataset(kind: str, title, *, formats=FORMATS, filters: dict[str, str] | None = None):
    def register(tables):
        DATASETS[kind] = Dataset(kind, title, tuple(formats), tables, filters or {})
        return tables
    return register


def clean_filters(kind: str, raw: Any) -> dict[str, Any]:
    """The filters a dataset takes, checked (422 naming the field otherwise); unknown ones are refused."""
    found = DATASETS.get(kind)
    if found is None:
        raise UserInputError(fields={"kind": [_("There is no such export.")]})
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UserInputError(fields={"filters": [_("Give the filters by name.")]})
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        if value in (None, ""):
            continue
        kind_of = found.filters.get(key)
        if kind_of is None:
            errors[f"filters.{key}"] = [_("This export takes no such filter.")]
        elif kind_of in ("id", "required_id"):
            if isinstance(value, bool) or not str(value).isdigit() or not 0 < int(value) < 2**31:
                errors[f"filters.{key}"] = [_("Give a number.")]
            else:
                clean[key] = int(value)
        elif kind_of == "date":
            day = as_date(value)
            if day is None:
                errors[f"filters.{key}"] = [_("Give the date as YYYY-MM-DD.")]
            else:
                clean[key] = day.isoformat()
        else:
            if not isinstance(value, str) or len(value) > 40:
                errors[f"filters.{key}"] = [_("Give a code.")]
            else:
                clean[key] = value
    for key, kind_of in found.filters.items():
        if kind_of == "required_id" and key not in clean:
            value = raw.get(key)
            if isinstance(value, bool) or not str(value or "").isdigit():
                errors[f"filters.{key}"] = [_("Choose the programme.")]
            else:
                clean[key] = int(value)
    if errors:
        raise UserInputError(fields=errors)
    return clean


def stream(query: sa.Select) -> Iterator[sa.Row]:
    """The rows of ``query`` from a connection of its own (a read-only transaction), ``BATCH`` at a time:
    the session may commit meanwhile (an export's progress) without ending the read."""
    query = query.execution_options(stream_results=True, yield_per=BATCH)  # the statement's, not the connection's
    pinned = db.session.get_bind()
    if isinstance(pinned, sa.Connection):  # the session is held to one connection (the tests' transaction)
        yield from pinned.execute(query)
        return
    with read_only(), db.engine.connect() as connection:
        yield from connection.execute(query)


def count(query: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))


def _scope(query: sa.Select, filters: dict[str, Any], *, call_column=Application.call_id) -> sa.Select:
    if "call_id" in filters:
        query = query.where(call_column == filters["call_id"])
    if "programme_id" in filters:
        query = query.where(call_column.in_(sa.select(Call.id).where(Call.programme_id == filters["programme_id"])))
    return query


def state_names() -> dict[str, str]:
    """Application state code → its label (in the language being written)."""
    names: dict[str, str] = {}
    for definition in workflow_definitions().values():
        if definition.name.startswith("application"):
            for code, state in definition.states.items():
                names.setdefault(code, _(state.label))
    return names


# --- applications -----------------------------------------------------------------------------------------

APPLICATION_COLUMNS = (
    Column("id", _l("Application"), "integer"), Column("call", _l("Call")),
    Column("organisation", _l("Organisation")), Column("registration_number", _l("Registration number")),
    Column("legal_form", _l("Legal form")), Column("region", _l("Region")), Column("si_stage", _l("SI stage")),
    Column("title", _l("Title")), Column("requested_amount", _l("Requested"), "money"),
    Column("duration_months", _l("Duration (months)"), "integer"), Column("state", _l("State")),
    Column("submitted_at", _l("First submitted"), "datetime"), Column("final_score", _l("Final score"), "number"),
    Column("decision", _l("Decision")), Column("decided_amount", _l("Amount decided"), "money"),
    Column("decided_on", _l("Decided on"), "date"),
)


def _applications_query(filters: dict[str, Any], ids: Collection[int] | None = None) -> sa.Select:
    """The applications export's statement; ``ids``: only these applications (each part of it narrowed to them,
    so a selection reads its own rows, not every submission and decision)."""
    first = sa.select(Submission.application_id, sa.func.min(Submission.submitted_at).label("first"))
    latest = sa.select(sa.func.max(Decision.id))
    if ids is not None:
        first = first.where(Submission.application_id.in_(ids))
        latest = latest.where(Decision.application_id.in_(ids))
    first = first.group_by(Submission.application_id).subquery("first")
    latest = latest.group_by(Decision.application_id)
    decision = (sa.select(Decision.application_id, Decision.outcome, Decision.amount.label("amount"),
                          Decision.decided_on).where(Decision.id.in_(latest)).subquery("decision"))
    query = (sa.select(Application.id, Call.code, Organisation.name, Organisation.registration_number,
                       Organisation.legal_form, Organisation.region, Application.si_stage, Application.title,
                       Application.requested_amount, Application.duration_months, Application.state, first.c.first,
                       EvaluationResult.final_score, decision.c.outcome, decision.c.amount, decision.c.decided_on)
             .join(Call, Call.id == Application.call_id)
             .join(Organisation, Organisation.id == Application.organisation_id)
             .outerjoin(first, first.c.application_id == Application.id)
             .outerjoin(EvaluationResult, sa.and_(EvaluationResult.application_id == Application.id,
                                                  EvaluationResult.gate_stage == ""))
             .outerjoin(decision, decision.c.application_id == Application.id)
             .order_by(Application.id))
    if ids is not None:
        query = query.where(Application.id.in_(ids))
    if filters.get("state"):
        query = query.where(Application.state == filters["state"])
    return _scope(query, filters)


def _application_rows(query: sa.Select) -> Iterator[dict[str, Any]]:
    states = state_names()
    for (app_id, code, name, number, legal_form, region, stage, title, requested, months, state, first, score,
         outcome, amount, decided_on) in stream(query):
        yield {"id": app_id, "call": code, "organisation": name, "registration_number": number,
               "legal_form": label(LEGAL_FORM_LABELS, legal_form), "region": label(REGION_LABELS, region),
               "si_stage": stage_label(stage), "title": title, "requested_amount": requested,
               "duration_months": months, "state": states.get(state, state), "submitted_at": first,
               "final_score": score, "decision": outcome, "decided_amount": amount, "decided_on": decided_on}


@dataset("applications", _l("Applications"), filters={"programme_id": "id", "call_id": "id", "state": "state"})
def applications(filters: dict[str, Any]) -> list[Table]:
    query = _applications_query(filters)
    return [Table(_l("Applications"), APPLICATION_COLUMNS, lambda: _application_rows(query), lambda: count(query))]


def selected_applications(ids: Collection[int]) -> Table:
    """The applications export's table for the applications chosen on the list (by id; the caller checks
    that they may be read)."""
    query = _applications_query({}, ids=sorted(set(ids)))
    return Table(_l("Applications"), APPLICATION_COLUMNS, lambda: _application_rows(query), lambda: count(query))


# --- grants -------------------------------------------------------------------------------------------------

GRANT_COLUMNS = (
    Column("application_id", _l("Application"), "integer"), Column("agreement_number", _l("Agreement")),
    Column("call", _l("Call")), Column("organisation", _l("Organisation")),
    Column("registration_number", _l("Registration number")), Column("title", _l("Title")),
    Column("si_stage", _l("SI stage")), Column("state", _l("State")), Column("start_date", _l("Start"), "date"),
    Column("end_date", _l("End"), "date"), Column("awarded_amount", _l("Awarded"), "money"),
    Column("co_financing_rate", _l("Co-financing rate (%)"), "number"), Column("paid_amount", _l("Paid"), "money"),
    Column("keep_until", _l("Keep records until"), "date"),
)


def _paid() -> sa.Subquery:
    paid = Payment.state == "paid"
    return (sa.select(Payment.application_id,
                      sa.type_coerce(sa.func.sum(sa.case((paid, Payment.amount), else_=0)), Money).label("paid"),
                      sa.func.max(sa.case((paid, Payment.paid_on))).label("last"),
                      sa.func.count(sa.case((Payment.state.in_(OPEN_PAYMENT_STATES), 1))).label("open"))
            .group_by(Payment.application_id).subquery("paid"))


def _de_minimis_ids() -> sa.Select:
    return sa.select(DeMinimisAid.application_id).where(DeMinimisAid.source == AidSource.AWARD,
                                                        DeMinimisAid.application_id.is_not(None))


@dataset("grants", _l("Grants"), filters={"programme_id": "id", "call_id": "id"})
def grants(filters: dict[str, Any]) -> list[Table]:
    paid = _paid()
    query = _scope(
        sa.select(Application.id, GrantAgreement.number, Call.code, Organisation.name, Organisation.registration_number,
                  Application.title, Application.si_stage, Application.state, GrantAgreement.start_date,
                  GrantAgreement.end_date, GrantAgreement.awarded_amount, GrantAgreement.co_financing_rate,
                  sa.func.coalesce(paid.c.paid, 0), paid.c.last, sa.func.coalesce(paid.c.open, 0),
                  GrantAgreement.signed_at, Application.id.in_(_de_minimis_ids()))
        .join(GrantAgreement, GrantAgreement.application_id == Application.id)
        .join(Call, Call.id == Application.call_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(paid, paid.c.application_id == Application.id)
        .order_by(Application.id), filters)

    def rows():
        states = state_names()
        for (app_id, number, code, name, registration, title, stage, state, start, end, awarded, rate, paid_amount,
             last, _open, signed_at, de_minimis) in stream(query):
            yield {"application_id": app_id, "agreement_number": number, "call": code, "organisation": name,
                   "registration_number": registration, "title": title, "si_stage": stage_label(stage),
                   "state": states.get(state, state), "start_date": start, "end_date": end, "awarded_amount": awarded,
                   "co_financing_rate": rate, "paid_amount": Decimal(paid_amount or 0),
                   "keep_until": keep_until(last or end, bool(de_minimis)) if signed_at is not None else None}

    return [Table(_l("Grants"), GRANT_COLUMNS, rows, lambda: count(query))]


# --- payments -----------------------------------------------------------------------------------------------

PAYMENT_COLUMNS = (
    Column("id", _l("Payment"), "integer"), Column("application_id", _l("Application"), "integer"),
    Column("agreement_number", _l("Agreement")), Column("organisation", _l("Organisation")),
    Column("kind", _l("Kind")), Column("si_stage", _l("SI stage")), Column("amount", _l("Amount"), "money"),
    Column("due_on", _l("Due"), "date"), Column("state", _l("State")), Column("paid_on", _l("Paid on"), "date"),
    Column("reference", _l("Reference")),
)


@dataset("payments", _l("Payments"), filters={"programme_id": "id", "call_id": "id", "state": "state"})
def payments(filters: dict[str, Any]) -> list[Table]:
    query = _scope(
        sa.select(Payment.id, Payment.application_id, GrantAgreement.number, Organisation.name, Payment.kind,
                  Payment.si_stage, Payment.amount, Payment.due_on, Payment.state, Payment.paid_on, Payment.reference)
        .join(Application, Application.id == Payment.application_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(GrantAgreement, GrantAgreement.application_id == Payment.application_id)
        .order_by(Payment.application_id, Payment.due_on, Payment.id), filters)
    if filters.get("state"):
        query = query.where(Payment.state == filters["state"])

    def rows():
        for pay_id, app_id, number, name, kind, stage, amount, due_on, state, paid_on, reference in stream(query):
            yield {"id": pay_id, "application_id": app_id, "agreement_number": number, "organisation": name,
                   "kind": getattr(kind, "value", kind), "si_stage": stage_label(stage), "amount": amount,
                   "due_on": due_on, "state": state, "paid_on": paid_on, "reference": reference}

    return [Table(_l("Payments"), PAYMENT_COLUMNS, rows, lambda: count(query))]


# --- indicators ---------------------------------------------------------------------------------------------

INDICATOR_COLUMNS = (
    Column("application_id", _l("Application"), "integer"), Column("agreement_number", _l("Agreement")),
    Column("organisation", _l("Organisation")), Column("code", _l("Indicator code")), Column("title", _l("Indicator")),
    Column("unit", _l("Unit")), Column("target", _l("Target"), "number"), Column("actual", _l("Reached"), "number"),
)


@dataset("indicators", _l("Indicators by grant"), filters={"programme_id": "required_id", "call_id": "id"})
def indicators(filters: dict[str, Any]) -> list[Table]:
    """Per grant of the programme and per indicator: the agreement's target and what its accepted
    reports reached (the reports are read grant by grant, in order, so only one grant is in memory)."""
    programme = db.session.get(Programme, filters["programme_id"])
    if programme is None:
        raise UserInputError(fields={"filters.programme_id": [_("There is no such programme.")]})
    query = _scope(
        sa.select(Application.id, GrantAgreement.number, Organisation.name, GrantAgreement.indicator_targets,
                  GrantReport.indicators)
        .join(GrantAgreement, GrantAgreement.application_id == Application.id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(GrantReport, sa.and_(GrantReport.application_id == Application.id,
                                        GrantReport.state == "accepted"))
        .order_by(Application.id), {**filters, "programme_id": programme.id})
    catalogue = definitions(programme)

    def grant_rows(app_id, number, name, targets, reached):
        for indicator in catalogue:
            target = (targets or {}).get(indicator.code)
            yield {"application_id": app_id, "agreement_number": number, "organisation": name,
                   "code": indicator.code, "title": indicator.title, "unit": indicator.unit,
                   "target": Decimal(str(target)) if target is not None else None,
                   "actual": reached.get(indicator.code, Decimal(0))}

    def rows():
        current = None
        reached: dict[str, Decimal] = {}
        for app_id, number, name, targets, values in stream(query):
            if current is not None and current[0] != app_id:
                yield from grant_rows(*current, reached)
                reached = {}
            current = (app_id, number, name, targets)
            for code, value in (values or {}).items():
                number_value = parse_value(value)
                if number_value is not None:
                    reached[code] = reached.get(code, Decimal(0)) + Decimal(number_value)
        if current is not None:
            yield from grant_rows(*current, reached)

    grants_count = _scope(sa.select(Application.id).join(GrantAgreement, GrantAgreement.application_id
                                                         == Application.id), {**filters, "programme_id": programme.id})
    return [Table(_l("Indicators"), INDICATOR_COLUMNS, rows, lambda: count(grants_count) * len(catalogue))]


# --- the list of operations -------------------------------------------------------------------------------

OPERATION_COLUMNS = (
    Column("beneficiary", _l("Beneficiary")), Column("registration_number", _l("Registration number")),
    Column("operation", _l("Name of the operation")), Column("purpose", _l("Purpose and achievements")),
    Column("start_date", _l("Start date"), "date"), Column("end_date", _l("End date"), "date"),
    Column("total_eligible_cost", _l("Total eligible cost (EUR)"), "money"),
    Column("grant_amount", _l("Grant (EUR)"), "money"), Column("fund", _l("Fund")),
    Column("co_financing_rate", _l("Beneficiary's co-financing rate (%)"), "number"),
    Column("location", _l("Location")), Column("country", _l("Country")),
    Column("intervention_field", _l("Intervention field")), Column("si_stage", _l("SI stage")),
)


def total_eligible_cost(awarded: Decimal, rate: Decimal) -> Decimal:
    """The grant plus the beneficiary's co-financing at ``rate`` per cent of the total."""
    if rate >= 100:
        return awarded
    return (awarded * 100 / (100 - rate)).quantize(CENT)


def operations_query(programme_id: int) -> sa.Select:
    """The programme's operations: every grant with a signed agreement, by beneficiary."""
    return (sa.select(Organisation.name, Organisation.registration_number, Organisation.country,
                      Application.title, Application.summary, GrantAgreement.start_date, GrantAgreement.end_date,
                      GrantAgreement.awarded_amount, GrantAgreement.co_financing_rate, Programme.fund_source,
                      sa.func.coalesce(Initiative.region, Organisation.region), Application.si_stage)
            .join(Application, Application.organisation_id == Organisation.id)
            .join(GrantAgreement, GrantAgreement.application_id == Application.id)
            .join(Initiative, Initiative.id == Application.initiative_id)
            .join(Call, Call.id == Application.call_id)
            .join(Programme, Programme.id == Call.programme_id)
            .where(Programme.id == programme_id, GrantAgreement.signed_at.is_not(None))
            .order_by(Organisation.name, Application.id))


def operation_rows(programme_id: int, intervention_field: str) -> Iterator[dict[str, Any]]:
    for (name, number, country, title, summary, start, end, awarded, rate, fund, region,
         stage) in stream(operations_query(programme_id)):
        yield {"beneficiary": name, "registration_number": number, "operation": title, "purpose": summary or "",
               "start_date": start, "end_date": end, "total_eligible_cost": total_eligible_cost(awarded, rate),
               "grant_amount": awarded, "fund": label(FUND_SOURCE_LABELS, fund), "co_financing_rate": rate,
               "location": label(REGION_LABELS, region) if region else "", "country": country or "LV",
               "intervention_field": intervention_field, "si_stage": stage_label(stage)}


@dataset("operations", _l("List of operations"), filters={"programme_id": "required_id"})
def operations(filters: dict[str, Any]) -> list[Table]:
    field = current_app.config["OPERATIONS_INTERVENTION_FIELD"]
    query = operations_query(filters["programme_id"])
    return [Table(_l("List of operations"), OPERATION_COLUMNS, lambda: operation_rows(filters["programme_id"], field),
                  lambda: count(query))]


# --- the funder report's tables ------------------------------------------------------------------------

REPORT_INFO_COLUMNS = (Column("item", _l("Item")), Column("value", _l("Value")))


@dataset("report", _l("Funder report (its tables)"),
         filters={"programme_id": "id", "call_id": "id", "fund": "state", "from": "date", "to": "date",
                  "table": "state"})
def report(filters: dict[str, Any]) -> list[Table]:
    """The funder report of a programme or of a call (grants.reports.statistics): in XLSX a sheet for each
    of its tables after one saying what the report covers (with the audit chain's head); in CSV and JSON
    the table named by the ``table`` filter (the funnel by default)."""
    chosen = filters.get("table") or "funnel"
    if chosen not in TABLE_COLUMNS:
        raise UserInputError(fields={"filters.table": [_("Choose one of the report's tables: %(tables)s.",
                                                         tables=", ".join(TABLE_COLUMNS))]})
    limits = parse_filters(filters.get("fund"), filters.get("from"), filters.get("to"))
    if filters.get("call_id"):
        call = db.session.get(Call, filters["call_id"])
        if call is None:
            raise UserInputError(fields={"filters.call_id": [_("There is no such call.")]})
        made = call_report(call, limits)
    else:
        programme = db.session.get(Programme, filters.get("programme_id") or 0)
        if programme is None:
            raise UserInputError(fields={"filters.programme_id": [_("Choose the programme.")]})
        made = programme_report(programme, limits)
    tables = made.tables()
    about = [{"item": _("Programme"), "value": f"{made.programme.code} {made.programme.title}"},
             {"item": _("Call"), "value": f"{made.call.code} {made.call.title}" if made.call else "—"},
             {"item": _("Filters"), "value": ", ".join(f"{k}={v}" for k, v in limits.as_args().items()) or "—"},
             {"item": _("Made"), "value": made.generated_at.isoformat(timespec="seconds")},
             {"item": _("Audit chain head"), "value": made.audit_head["hash"]},
             {"item": _("Audit events"), "value": made.audit_head["events"]}]

    def table(name: str) -> Table:
        rows = tables[name]
        return Table(TABLE_TITLES[name], TABLE_COLUMNS[name], lambda: iter(rows), lambda: len(rows))

    ordered = [chosen] + [name for name in TABLE_COLUMNS if name != chosen]
    return [table(ordered[0]), Table(_l("About this report"), REPORT_INFO_COLUMNS, lambda: iter(about),
                                     lambda: len(about)), *(table(name) for name in ordered[1:])]
