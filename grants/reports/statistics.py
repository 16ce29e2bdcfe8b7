"""Funder reports (DESIGN §9, §8): the statistics of a programme or of a call, filterable by fund source
and period, with the audit chain's head at the time the report was made.

What is counted
    *received*: applications submitted at least once (they have a submission); *eligible*: declared
    eligible (the audit trail holds an ``application.declare_eligible``); *ineligible*: declared
    ineligible, with no later declaration of eligibility and no upheld appeal pending since;
    *undecided*: received and neither (still in screening, or withdrawn before it was decided);
    *evaluated*: a consolidated selection result (``EvaluationResult`` of round ``''``) with a final
    score; *funded*: approved (the newest approval decision). *Awarded* is the agreement's amount, else
    the amount decided; *paid* the payments in state ``paid``.

The period (``from``/``to``, days in Riga, both included) applies to the date an application was
first submitted for everything counted on applications (received, eligible, ineligible, evaluated,
the selection statistics and appeals), to the decision date for awards (funded, awarded) and for
the committee's decisions, to the payment date for payments, to the date an irregularity was
detected for irregularities and recoveries, and to the end of the period a report covers for the
indicators. A ``fund`` other than the programme's fund source matches nothing: an empty report.

Every number comes from a fixed number of SQL statements (aggregates with GROUP BY), whatever the
number of applications: eight, plus two for the programme's indicator catalogue and its call targets.

The tables (``Report.tables()``): each is a list of plain rows (dicts) with these stable keys, in
this order (:data:`TABLE_COLUMNS` has them with their translated headers and kinds, :data:`TABLE_TITLES`
the tables' titles, for exports):

``funnel``
    ``step`` (received, eligible, ineligible, undecided, evaluated, funded), ``label``, ``count``.
``money``
    ``measure`` (requested, awarded, paid), ``label``, ``amount``.
``by_stage`` / ``by_region`` / ``by_legal_form`` / ``by_target_group``
    the dimension's code (``si_stage``, ``region``, ``legal_form``, ``target_group``; ``""`` where the
    organisation or initiative states none), ``label``, ``received``, ``requested`` (amount),
    ``funded``, ``awarded`` (amount), ``paid`` (amount). An application counts under each of its
    initiative's target groups.
``ineligible_reasons``
    ``rule_code``, ``title`` (the rule's title in the reader's language), ``applications`` (ineligible
    applications whose latest eligibility round failed the rule, as finally decided; warnings never
    make an application ineligible and are left out). An application may fail several rules; those
    declared ineligible with no failed rule (an officer's written reason only) are counted in a row
    with the ``rule_code`` ``""``.
``indicators``
    ``code``, ``title``, ``unit``, ``is_common`` (an ESF+ common indicator), ``target`` (the
    programme's, or the call's, target; None when none is set), ``actual`` (the sum of the accepted
    reports), ``percent`` (of the target; None without one).
``participants``
    the ESF+ common indicator of participants (ESF+ programmes only): ``gender``, ``gender_label``,
    ``age_group``, ``age_label``, ``target``, ``actual``.
``selection``
    ``measure`` (reviews_submitted, discrepancies, third_evaluators, recusals, appeals_lodged,
    appeals_upheld, appeals_dismissed, appeals_pending, decisions, decisions_departing), ``label``,
    ``count``. Reviews, third evaluators and recusals are the selection's (not a stage gate's).
``decisions``
    ``outcome`` (approved, reserve, rejected), ``label``, ``count``, ``departing`` (of those, departing
    from the ranking).
``irregularities``
    ``state`` (every state of the register), ``label``, ``count``, ``amount`` (the amounts concerned),
    ``orders`` (recovery orders issued), ``ordered`` (their amounts), ``recovered`` (what came back).
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased
from sqlalchemy.sql.util import ClauseAdapter

from grants.applications.models import Application, Submission
from grants.audit.head import head_and_count
from grants.audit.models import AuditEvent, AuditHead
from grants.calls.models import Call, CallStatus, Programme
from grants.core.codes import FUND_SOURCE_LABELS, LEGAL_FORM_LABELS, REGION_LABELS, FundSource, Region, label
from grants.core.db import db, money_sum, utcnow
from grants.core.errors import UserInputError
from grants.core.i18n import current_language
from grants.core.kept import Kept
from grants.core.roles import RoleCode
from grants.core.tabular import Column
from grants.decisions.models import Decision
from grants.decisions.models import Outcome as DecisionOutcome
from grants.eligibility.models import EligibilityResult, Severity
from grants.eligibility.models import Outcome as RuleOutcome
from grants.evaluations.models import Assignment, EvaluationResult
from grants.grants_mgmt import indicators as indicator_defs
from grants.grants_mgmt.indicators import AGE_GROUPS, GENDERS, PARTICIPANTS, Progress, participants_matrix
from grants.grants_mgmt.models import (
    CallIndicatorTarget,
    GrantAgreement,
    GrantReport,
    Indicator,
    Irregularity,
    Payment,
    RecoveryOrder,
    ReportDue,
)
from grants.grants_mgmt.models.irregularities import IRREGULARITY_STATES
from grants.initiatives.models import Initiative
from grants.initiatives.stages import STAGE_MODELS
from grants.organisations.models import Organisation
from grants.workflows.engine import state_label

#: Who reads funder reports (pages and API).
READERS = (RoleCode.OFFICER, RoleCode.AUDITOR, RoleCode.ADMIN)
#: Periods are calendar days in Riga.
RIGA = ZoneInfo("Europe/Riga")
#: The dates a period may name.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

#: Audit actions the eligibility and appeal figures rest on.
DECLARE_ELIGIBLE = "application.declare_eligible"
DECLARE_INELIGIBLE = "application.declare_ineligible"
APPEAL = "application.appeal"
UPHOLD_APPEAL = "application.uphold_appeal"
DISMISS_APPEAL = "application.dismiss_appeal"
_ACTIONS = (DECLARE_ELIGIBLE, DECLARE_INELIGIBLE, APPEAL, UPHOLD_APPEAL, DISMISS_APPEAL)

ZERO = Decimal("0.00")

FUNNEL_LABELS = {
    "received": _l("Received"),
    "eligible": _l("Eligible"),
    "ineligible": _l("Ineligible"),
    "undecided": _l("Eligibility not decided"),
    "evaluated": _l("Evaluated"),
    "funded": _l("Funded"),
}
#: The steps the funnel chart draws, in order.
FUNNEL_STEPS = ("received", "eligible", "evaluated", "funded")
MONEY_LABELS = {"requested": _l("Requested"), "awarded": _l("Awarded"), "paid": _l("Paid")}
SELECTION_LABELS = {
    "reviews_submitted": _l("Reviews submitted"),
    "discrepancies": _l("Discrepancies between evaluators (over the call's share)"),
    "third_evaluators": _l("Third evaluators assigned"),
    "recusals": _l("Recusals (conflict of interest declared)"),
    "appeals_lodged": _l("Appeals lodged"),
    "appeals_upheld": _l("Appeals upheld"),
    "appeals_dismissed": _l("Appeals dismissed"),
    "appeals_pending": _l("Appeals not yet decided"),
    "decisions": _l("Committee decisions"),
    "decisions_departing": _l("Decisions departing from the ranking"),
}
DECISION_LABELS = {
    DecisionOutcome.APPROVED: _l("Approved"),
    DecisionOutcome.RESERVE: _l("Reserve list"),
    DecisionOutcome.REJECTED: _l("Rejected"),
}
_IRREGULARITY_WORKFLOW = SimpleNamespace(workflow_name="irregularity", workflow_version=1)

_BREAKDOWN_VALUES = (Column("received", _l("Received"), "integer"), Column("requested", _l("Requested"), "money"),
                     Column("funded", _l("Funded"), "integer"), Column("awarded", _l("Awarded"), "money"),
                     Column("paid", _l("Paid"), "money"))
#: Each table's columns: stable keys, headers (msgids, written in the reader's language) and kinds.
TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "funnel": (Column("step", _l("Code")), Column("label", _l("Step")), Column("count", _l("Applications"),
                                                                               "integer")),
    "money": (Column("measure", _l("Code")), Column("label", _l("Money")), Column("amount", _l("Amount"), "money")),
    "by_stage": (Column("si_stage", _l("SI stage code")), Column("label", _l("SI stage")), *_BREAKDOWN_VALUES),
    "by_region": (Column("region", _l("Region code")), Column("label", _l("Planning region")), *_BREAKDOWN_VALUES),
    "by_legal_form": (Column("legal_form", _l("Legal form code")), Column("label", _l("Legal form")),
                      *_BREAKDOWN_VALUES),
    "by_target_group": (Column("target_group", _l("Target group")), Column("label", _l("Target group (shown)")),
                        *_BREAKDOWN_VALUES),
    "ineligible_reasons": (Column("rule_code", _l("Rule code")), Column("title", _l("Rule")),
                           Column("applications", _l("Applications"), "integer")),
    "indicators": (Column("code", _l("Indicator code")), Column("title", _l("Indicator")), Column("unit", _l("Unit")),
                   Column("is_common", _l("ESF+ common indicator"), "boolean"),
                   Column("target", _l("Target"), "number"), Column("actual", _l("Reached"), "number"),
                   Column("percent", _l("Share of the target (%)"), "integer")),
    "participants": (Column("gender", _l("Gender code")), Column("gender_label", _l("Gender")),
                     Column("age_group", _l("Age group code")), Column("age_label", _l("Age group")),
                     Column("target", _l("Target"), "number"), Column("actual", _l("Reached"), "number")),
    "selection": (Column("measure", _l("Code")), Column("label", _l("Measure")),
                  Column("count", _l("Count"), "integer")),
    "decisions": (Column("outcome", _l("Code")), Column("label", _l("Decision")), Column("count", _l("Count"),
                                                                                        "integer"),
                  Column("departing", _l("Departing from the ranking"), "integer")),
    "irregularities": (Column("state", _l("Code")), Column("label", _l("State")),
                       Column("count", _l("Irregularities"), "integer"), Column("amount", _l("Amount concerned"),
                                                                                "money"),
                       Column("orders", _l("Recovery orders"), "integer"), Column("ordered", _l("Ordered"), "money"),
                       Column("recovered", _l("Recovered"), "money")),
}


#: Each table's title (a sheet or file name for exports), in the reader's language when shown.
TABLE_TITLES: dict[str, Any] = {
    "funnel": _l("Applications from received to funded"),
    "money": _l("Requested, awarded and paid"),
    "by_stage": _l("By SI stage"),
    "by_region": _l("By planning region"),
    "by_legal_form": _l("By legal form"),
    "by_target_group": _l("By target group"),
    "ineligible_reasons": _l("Ineligibility reasons by rule"),
    "indicators": _l("Indicators"),
    "participants": _l("ESF+ participants by gender and age group"),
    "selection": _l("Selection statistics"),
    "decisions": _l("Committee decisions"),
    "irregularities": _l("Irregularities and recoveries"),
}


# --- filters -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """What a report is limited to: a fund source and a period (days in Riga, both ends included)."""

    fund: str | None = None
    start: date | None = None
    end: date | None = None

    @property
    def is_empty(self) -> bool:
        return self.fund is None and self.start is None and self.end is None

    @property
    def has_period(self) -> bool:
        return self.start is not None or self.end is not None

    def as_args(self) -> dict[str, str]:
        """The filters as URL query arguments (``fund``, ``from``, ``to``), only those set."""
        args = {"fund": self.fund, "from": self.start.isoformat() if self.start else None,
                "to": self.end.isoformat() if self.end else None}
        return {key: value for key, value in args.items() if value}

    def as_dict(self) -> dict[str, Any]:
        return {"fund": self.fund, "from": self.start, "to": self.end}

    def on_day(self, column) -> sa.ColumnElement[bool]:
        """``column`` (a date) within the period."""
        conditions = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column <= self.end)
        return sa.and_(sa.true(), *conditions)

    def at_time(self, column) -> sa.ColumnElement[bool]:
        """``column`` (a UTC datetime) within the period's days in Riga."""
        conditions = []
        if self.start is not None:
            conditions.append(column >= datetime.combine(self.start, time(0), tzinfo=RIGA))
        if self.end is not None:
            conditions.append(column < datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=RIGA))
        return sa.and_(sa.true(), *conditions)


def fund_choices() -> list[tuple[str, str]]:
    return [(code.value, label(FUND_SOURCE_LABELS, code)) for code in FundSource]


def _day(value: Any, key: str, errors: dict[str, list[str]]) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        text = str(value or "").strip()
        if not text:
            return None
        try:
            day = date.fromisoformat(text) if _DATE.match(text) else None
        except ValueError:
            day = None
        if day is None:
            errors[key] = [_("Give the date as YYYY-MM-DD, for example 2026-01-31.")]
            return None
    if not EARLIEST <= day <= LATEST:
        errors[key] = [_("Give a date between %(earliest)s and %(latest)s.", earliest=EARLIEST.isoformat(),
                         latest=LATEST.isoformat())]
        return None
    return day


def parse_filters(fund: Any = None, start: Any = None, end: Any = None) -> Filters:
    """The filters from what was typed or sent: ``fund`` a fund source code, ``start`` and ``end``
    (``from`` and ``to``) ISO dates. Anything else raises :class:`UserInputError` naming the fields
    ``fund``, ``from`` and ``to``."""
    errors: dict[str, list[str]] = {}
    code = str(fund or "").strip() or None
    if code is not None and code not in {source.value for source in FundSource}:
        errors["fund"] = [_("Choose one of the fund sources: %(codes)s.",
                            codes=", ".join(source.value for source in FundSource))]
        code = None
    first, last = _day(start, "from", errors), _day(end, "to", errors)
    if first is not None and last is not None and last < first:
        errors["to"] = [_("The end of the period is before its start.")]
    if errors:
        raise UserInputError(_("The report's filters need attention."), fields=errors)
    return Filters(code, first, last)


# --- the report ------------------------------------------------------------------------------------------

@dataclass
class Report:
    """A funder report: its scope, the filters, the numbers (see the module's docstring), the audit
    chain's head (``{hash, events}``) read with them and when it was made (UTC)."""

    programme: Programme
    call: Call | None
    filters: Filters
    fund_matches: bool
    funnel: dict[str, int]
    money: dict[str, Decimal]
    by_stage: list[dict[str, Any]]
    by_region: list[dict[str, Any]]
    by_legal_form: list[dict[str, Any]]
    by_target_group: list[dict[str, Any]]
    ineligible_reasons: list[dict[str, Any]]
    progress: list[Progress]
    selection: dict[str, int]
    decisions: list[dict[str, Any]]
    irregularities: list[dict[str, Any]]
    audit_head: dict[str, Any]
    generated_at: datetime
    indicators: list[dict[str, Any]] = field(default_factory=list)
    participants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "call" if self.call is not None else "programme"

    @property
    def recoveries(self) -> dict[str, Any]:
        """Recovery orders over every irregularity: how many, the amounts ordered and recovered."""
        ordered = sum((row["ordered"] for row in self.irregularities), ZERO)
        recovered = sum((row["recovered"] for row in self.irregularities), ZERO)
        return {"orders": sum(row["orders"] for row in self.irregularities), "ordered": ordered,
                "recovered": recovered, "outstanding": ordered - recovered}

    @property
    def irregularity_totals(self) -> dict[str, Any]:
        return {"count": sum(row["count"] for row in self.irregularities),
                "amount": sum((row["amount"] for row in self.irregularities), ZERO), **self.recoveries}

    @property
    def participants_matrix(self) -> list[dict[str, Any]]:
        """ESF+ participants as rows per gender with a cell per age group (grants_mgmt.indicators)."""
        return participants_matrix(self.progress)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every table of the report as plain rows (keys: the module's docstring, :data:`TABLE_COLUMNS`)."""
        return {
            "funnel": [{"step": key, "label": str(FUNNEL_LABELS[key]), "count": value}
                       for key, value in self.funnel.items()],
            "money": [{"measure": key, "label": str(MONEY_LABELS[key]), "amount": value}
                      for key, value in self.money.items()],
            "by_stage": self.by_stage, "by_region": self.by_region, "by_legal_form": self.by_legal_form,
            "by_target_group": self.by_target_group, "ineligible_reasons": self.ineligible_reasons,
            "indicators": self.indicators, "participants": self.participants,
            "selection": [{"measure": key, "label": str(SELECTION_LABELS[key]), "count": value}
                          for key, value in self.selection.items()],
            "decisions": self.decisions, "irregularities": self.irregularities,
        }

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data for the API (money stays Decimal: the schema writes strings)."""
        return {
            "kind": self.kind,
            "programme": {"id": self.programme.id, "code": self.programme.code, "title": self.programme.title,
                          "fund_source": self.programme.fund_source.value},
            "call": {"id": self.call.id, "code": self.call.code, "title": self.call.title}
            if self.call is not None else None,
            "filters": self.filters.as_dict(), "fund_matches": self.fund_matches,
            "funnel": self.funnel, "money": self.money,
            "by_stage": self.by_stage, "by_region": self.by_region, "by_legal_form": self.by_legal_form,
            "by_target_group": self.by_target_group, "ineligible_reasons": self.ineligible_reasons,
            "indicators": self.indicators, "participants": self.participants, "selection": self.selection,
            "decisions": self.decisions, "irregularities": self.irregularities, "recoveries": self.recoveries,
            "audit_head": self.audit_head, "generated_at": self.generated_at,
        }


def programme_report(programme: Programme, filters: Filters | None = None) -> Report:
    """The report of a programme: every call of it."""
    filters = filters or Filters()
    scope = Application.call_id.in_(sa.select(Call.id).where(Call.programme_id == programme.id).correlate(None))
    return _report(programme, None, scope, filters)


def call_report(call: Call, filters: Filters | None = None) -> Report:
    """The report of one call."""
    return _report(call.programme, call, Application.call_id == call.id, filters or Filters())


#: Reports kept per process while the data they count is unchanged (grants.core.kept): a programme's report
#: aggregates every application of it (1-3 s at 100,000 applications), and reading it again costs one statement.
KEPT_REPORTS = 64
#: The tables a report counts, written by the services with an audit event, and also by bulk loads without one:
#: their newest ids join the audit head in the fingerprint.
_COUNTED = (Application, Submission, Decision, Payment, GrantAgreement, GrantReport, Irregularity, RecoveryOrder,
            Assignment, EvaluationResult, EligibilityResult, Indicator, CallIndicatorTarget)


def _share(numbers: dict[str, Any]) -> dict[str, Any]:
    """A kept report's numbers for one reader: plain rows copied; the indicators' definitions are immutable."""
    shared = {key: copy.deepcopy(value) for key, value in numbers.items() if key != "progress"}
    shared["progress"] = [replace(row) for row in numbers["progress"]]
    return shared


_kept = Kept(KEPT_REPORTS, share=_share)


def fingerprint() -> tuple | None:
    """What a report depends on, in one statement: the audit chain's head (every change the services make
    writes an event, and an event moves the head) and the newest id of each table counted. None (keep
    nothing) while the chain is empty."""
    columns = [AuditHead.hash, AuditHead.event_id,
               *(sa.select(sa.func.max(model.id)).scalar_subquery() for model in _COUNTED)]
    row = db.session.execute(sa.select(*columns).where(AuditHead.id == 1)).first()
    if row is None or row[1] is None:
        return None
    return tuple(row)


def _report(programme: Programme, call: Call | None, scope: sa.ColumnElement[bool], filters: Filters) -> Report:
    """The report, computed or, while nothing it counts has changed, as this process made it last (with the
    audit head and the time it was made then: a report states what it was made from)."""
    key = (programme.id, call.id if call is not None else None, filters, current_language())
    numbers = _kept.get(key, fingerprint(), lambda: _numbers(programme, call, scope, filters))
    return Report(programme=programme, call=call, filters=filters, **numbers)


def _numbers(programme: Programme, call: Call | None, scope: sa.ColumnElement[bool],
             filters: Filters) -> dict[str, Any]:
    if db.session.get_bind().dialect.name == "postgresql":
        # The aggregates are planned far above what they cost (nested loops over the scope's applications),
        # which makes PostgreSQL compile them with JIT: 0.3-0.6 s of compiling a statement that runs in 0.15 s.
        db.session.execute(sa.text("SET LOCAL jit = off"))
    fund_matches = filters.fund is None or filters.fund == programme.fund_source.value
    if not fund_matches:
        scope = sa.false()  # the same statements, matching nothing
    parts = _Parts(scope, filters)
    shown_stages = call.stage_codes if call is not None else []
    totals, by_stage, by_region, by_legal_form = _breakdowns(parts, programme, shown_stages)
    selection = _selection(parts, totals)
    decisions = _decisions(parts, filters)
    selection["decisions"] = sum(row["count"] for row in decisions)
    selection["decisions_departing"] = sum(row["departing"] for row in decisions)
    progress = _progress(programme, call, scope, filters) if fund_matches else []
    return {
        "fund_matches": fund_matches,
        "funnel": {key: totals[key] for key in ("received", "eligible", "ineligible", "undecided", "evaluated",
                                             "funded")},
        "money": {"requested": totals["requested"], "awarded": totals["awarded"], "paid": totals["paid"]},
        "by_stage": by_stage, "by_region": by_region, "by_legal_form": by_legal_form,
        "by_target_group": _by_target_group(parts),
        "ineligible_reasons": _ineligible_reasons(parts, totals["ineligible"]),
        "progress": progress, "selection": selection, "decisions": decisions,
        "irregularities": _irregularities(scope, filters),
        "audit_head": audit_head(), "generated_at": utcnow(),
        "indicators": [_indicator_row(row) for row in progress], "participants": _participants(progress)}


def audit_head() -> dict[str, Any]:
    """The audit chain's head hash and its number of events, read together (one statement; the log is
    counted from the last head this process counted: grants.audit.head)."""
    return head_and_count()


# --- the statements --------------------------------------------------------------------------------------

class _Parts:
    """The derived tables and conditions the statements share; nothing is sent until a statement runs."""

    def __init__(self, scope: sa.ColumnElement[bool], filters: Filters):
        self.scope = scope
        # The decisions' and payments' aggregates join their applications (an alias, so that the scope applies
        # to it) rather than test ``IN (the scope's ids)``: PostgreSQL answered the IN by walking the whole
        # applications primary key for each (0.2-0.4 s at 100,000 applications).
        scoped = aliased(Application, name="scoped_application")
        scoped_scope = ClauseAdapter(sa.inspect(scoped).selectable).traverse(scope)
        #: The first submission of each received application: round 1 (each submit or resubmission
        #: makes the next round), found by the unique (application, round) index.
        self.first = aliased(Submission, name="first_submission")
        #: Per application: the newest declarations (by event id) and the appeals, from the audit trail.
        # The events are found by their action (ix_audit_events_action: a few per cent of the log); the object
        # type is tested in each aggregate rather than in WHERE, so that PostgreSQL does not intersect the action
        # index with the (object_type, object_id) index, whose "application" part is a quarter of the log.
        # The applications' ids are cast to text on their side (the scope's ids, not the events').
        event = AuditEvent

        def on_application(action: str) -> sa.ColumnElement[bool]:
            return sa.and_(event.action == action, event.object_type == "application")

        self.flags = (sa.select(event.object_id.label("object_id"),
                                sa.func.max(sa.case((on_application(DECLARE_ELIGIBLE), event.id))).label("eligible"),
                                sa.func.max(sa.case((on_application(DECLARE_INELIGIBLE), event.id))).label(
                                    "ineligible"),
                                sa.func.max(sa.case((on_application(UPHOLD_APPEAL), event.id))).label("upheld_id"),
                                sa.func.count(sa.case((on_application(APPEAL), 1))).label("appeals"),
                                sa.func.count(sa.case((on_application(UPHOLD_APPEAL), 1))).label("upheld"),
                                sa.func.count(sa.case((on_application(DISMISS_APPEAL), 1))).label("dismissed"))
                      .where(event.action.in_(_ACTIONS),
                             event.object_id.in_(sa.select(sa.cast(Application.id, sa.String)).where(scope)
                                                 .correlate(None)))
                      .group_by(event.object_id).subquery("declared"))
        #: The approval in force (the newest approving decision) of each approved application.
        self.newest = (sa.select(Decision.application_id.label("application_id"), sa.func.max(Decision.id).label("id"))
                       .join(scoped, scoped.id == Decision.application_id)
                       .where(Decision.outcome == DecisionOutcome.APPROVED, scoped_scope)
                       .group_by(Decision.application_id).correlate(None).subquery("newest_approval"))
        self.approval = aliased(Decision, name="approval")
        #: What was paid to each application within the period.
        self.paid = (sa.select(Payment.application_id.label("application_id"),
                               sa.func.sum(Payment.amount).label("paid"))
                     .join(scoped, scoped.id == Payment.application_id)
                     .where(Payment.state == "paid", filters.on_day(Payment.paid_on), scoped_scope)
                     .group_by(Payment.application_id).subquery("paid"))

        flags = self.flags.c
        self.received = filters.at_time(self.first.submitted_at)
        self.eligible = flags.eligible.is_not(None)
        self.ineligible = sa.and_(flags.ineligible.is_not(None),
                                  flags.ineligible > sa.func.coalesce(flags.eligible, 0),
                                  flags.ineligible > sa.func.coalesce(flags.upheld_id, 0))
        self.evaluated = EvaluationResult.final_score.is_not(None)
        self.funded = sa.and_(self.newest.c.id.is_not(None), filters.on_day(self.approval.decided_on))
        self.award = sa.func.coalesce(GrantAgreement.awarded_amount, self.approval.amount)

    def select(self, *columns, declared: bool = True, evaluated: bool = True, money: bool = True) -> sa.Select:
        """``columns`` over the received applications in scope, with what each statement needs joined."""
        query = (sa.select(*columns).select_from(Application)
                 .join(self.first, sa.and_(self.first.application_id == Application.id, self.first.round == 1)))
        if declared:
            query = query.outerjoin(self.flags, self.flags.c.object_id == sa.cast(Application.id, sa.String))
        if evaluated:
            query = query.outerjoin(EvaluationResult, sa.and_(EvaluationResult.application_id == Application.id,
                                                              EvaluationResult.gate_stage == ""))
        if money:
            query = (query.outerjoin(self.newest, self.newest.c.application_id == Application.id)
                     .outerjoin(self.approval, self.approval.id == self.newest.c.id)
                     .outerjoin(GrantAgreement, GrantAgreement.application_id == Application.id)
                     .outerjoin(self.paid, self.paid.c.application_id == Application.id))
        return query.where(self.scope)

    def money_columns(self) -> list[sa.ColumnElement]:
        return [
            sa.func.count(sa.case((self.received, 1))).label("received"),
            money_sum(sa.case((self.received, Application.requested_amount), else_=0)).label("requested"),
            sa.func.count(sa.case((self.funded, 1))).label("funded"),
            money_sum(sa.case((self.funded, self.award), else_=0)).label("awarded"),
            money_sum(sa.func.coalesce(self.paid.c.paid, 0)).label("paid"),
        ]

    def received_ids(self) -> sa.Select:
        return self.select(Application.id, declared=False, evaluated=False, money=False).where(self.received)

    def ineligible_ids(self) -> sa.Select:
        return self.select(Application.id, evaluated=False, money=False).where(self.received, self.ineligible)



def _money(value: Any) -> Decimal:
    return value if value is not None else ZERO


_VALUE_KEYS = ("received", "requested", "funded", "awarded", "paid")


def _add(into: dict[str, Any], row: dict[str, Any]) -> None:
    for key in _VALUE_KEYS:
        into[key] = into.get(key, 0) + row[key]


def _empty_values() -> dict[str, Any]:
    return {"received": 0, "requested": ZERO, "funded": 0, "awarded": ZERO, "paid": ZERO}


def _code(value: Any) -> str:
    """A stored code (an enum member or its text), or "" for none."""
    return str(getattr(value, "value", value)) if value is not None else ""


def _breakdowns(parts: _Parts, programme: Programme, shown_stages: list[str]):
    """One statement: the funnel, the money and the breakdowns by SI stage, region and legal form.
    ``shown_stages`` are listed even without applications (a call's funded stages)."""
    columns = [
        Application.si_stage, Organisation.region, Organisation.legal_form,
        *parts.money_columns(),
        sa.func.count(sa.case((sa.and_(parts.received, parts.eligible), 1))).label("eligible"),
        sa.func.count(sa.case((sa.and_(parts.received, parts.ineligible), 1))).label("ineligible"),
        sa.func.count(sa.case((sa.and_(parts.received, parts.evaluated), 1))).label("evaluated"),
        sa.func.count(sa.case((sa.and_(parts.received, EvaluationResult.discrepancy.is_(True)), 1))).label(
            "discrepancies"),
        sa.func.coalesce(sa.func.sum(sa.case((parts.received, parts.flags.c.appeals), else_=0)), 0).label("appeals"),
        sa.func.coalesce(sa.func.sum(sa.case((parts.received, parts.flags.c.upheld), else_=0)), 0).label("upheld"),
        sa.func.coalesce(sa.func.sum(sa.case((parts.received, parts.flags.c.dismissed), else_=0)), 0).label(
            "dismissed"),
    ]
    query = (parts.select(*columns).join(Organisation, Organisation.id == Application.organisation_id)
             .group_by(Application.si_stage, Organisation.region, Organisation.legal_form))
    totals: dict[str, Any] = {**_empty_values(), "eligible": 0, "ineligible": 0, "evaluated": 0, "discrepancies": 0,
                              "appeals": 0, "upheld": 0, "dismissed": 0}
    stages: dict[str, dict[str, Any]] = defaultdict(_empty_values)
    regions: dict[str, dict[str, Any]] = defaultdict(_empty_values)
    forms: dict[str, dict[str, Any]] = defaultdict(_empty_values)
    for row in db.session.execute(query).mappings():
        values = {key: (_money(row[key]) if key in ("requested", "awarded", "paid") else int(row[key] or 0))
                  for key in _VALUE_KEYS}
        for key in totals:
            totals[key] += values[key] if key in values else int(row[key] or 0)
        if not any(values.values()):
            continue  # nothing of this group falls in the period
        _add(stages[row["si_stage"]], values)
        _add(regions[_code(row["region"])], values)
        _add(forms[_code(row["legal_form"])], values)
    totals["undecided"] = max(totals["received"] - totals["eligible"] - totals["ineligible"], 0)

    model = STAGE_MODELS[programme.stage_model]
    known = [code for code in model.codes if code in stages or code in shown_stages]
    order = known + sorted(code for code in set(stages) | set(shown_stages) if code not in model.codes)
    by_stage = [{"si_stage": code, "label": str(model.get(code).label) if model.get(code) else code,
                 **stages.get(code, _empty_values())} for code in order]
    region_codes = [region.value for region in Region] + ([""] if "" in regions else [])
    by_region = [{"region": code, "label": label(REGION_LABELS, Region(code)) if code else _("Not stated"),
                  **regions.get(code, _empty_values())} for code in region_codes]
    by_legal_form = [{"legal_form": code, "label": label(LEGAL_FORM_LABELS, code), **values}
                     for code, values in sorted(forms.items(), key=lambda item: (-item[1]["received"], item[0]))]
    return totals, by_stage, by_region, by_legal_form


def _by_target_group(parts: _Parts) -> list[dict[str, Any]]:
    """One statement grouped by the initiatives' lists of target groups (as stored, JSON); each list is
    then counted under every group it names, here, portably."""
    query = (parts.select(Initiative.target_groups, *parts.money_columns(), declared=False, evaluated=False)
             .join(Initiative, Initiative.id == Application.initiative_id)
             .group_by(Initiative.target_groups))
    groups: dict[str, dict[str, Any]] = defaultdict(_empty_values)
    for row in db.session.execute(query).mappings():
        values = {key: (_money(row[key]) if key in ("requested", "awarded", "paid") else int(row[key] or 0))
                  for key in _VALUE_KEYS}
        if not values["received"] and not values["funded"] and not values["paid"]:
            continue
        names = _target_groups(row["target_groups"])
        for name in names or [""]:
            _add(groups[name], values)
    rows = [{"target_group": name, "label": name or _("Not stated"), **values} for name, values in groups.items()]
    rows.sort(key=lambda row: (row["target_group"] == "", -row["received"], -row["funded"], row["label"].casefold()))
    return rows


def _target_groups(value: Any) -> list[str]:
    """The distinct, trimmed names of a stored list of target groups."""
    if not isinstance(value, list | tuple):
        return []
    names: list[str] = []
    for item in value:
        name = str(item).strip() if item is not None else ""
        if name and name not in names:
            names.append(name)
    return names


def _ineligible_reasons(parts: _Parts, ineligible: int) -> list[dict[str, Any]]:
    """One statement: per rule, the ineligible applications whose latest eligibility round failed it (as
    finally decided), and how many ineligible applications failed any rule."""
    result = EligibilityResult
    # The ineligible applications first (a few per cent of those received), then their results through the
    # application's index, the latest round of each found by a correlated max (same index): no pass over
    # every result of the database.
    ineligible_ids = parts.ineligible_ids().cte("ineligible")
    earlier = aliased(EligibilityResult, name="round_results")
    latest_round = (sa.select(sa.func.max(earlier.round)).where(earlier.application_id == result.application_id)
                    .correlate(result).scalar_subquery())
    failed = (sa.select(result.application_id, result.rule_code, result.title_lv, result.title_en)
              .where(result.application_id.in_(sa.select(ineligible_ids.c.id)), result.round == latest_round,
                     sa.func.coalesce(result.decided_outcome, result.outcome) == RuleOutcome.FAIL,
                     result.severity != Severity.WARNING)
              .cte("failed_rules"))
    per_rule = (sa.select(sa.literal(0).label("total"), failed.c.rule_code.label("rule_code"),
                          sa.func.min(failed.c.title_lv).label("title_lv"),
                          sa.func.min(failed.c.title_en).label("title_en"),
                          sa.func.count(sa.distinct(failed.c.application_id)).label("applications"))
                .group_by(failed.c.rule_code))
    overall = sa.select(sa.literal(1).label("total"), sa.literal("").label("rule_code"),
                        sa.literal("").label("title_lv"), sa.literal("").label("title_en"),
                        sa.func.count(sa.distinct(failed.c.application_id)).label("applications"))
    english = current_language() == "en"
    rows, explained = [], 0
    for row in db.session.execute(sa.union_all(per_rule, overall)).mappings():
        if row["total"]:
            explained = int(row["applications"] or 0)
            continue
        title = (row["title_en"] if english else row["title_lv"]) or row["title_lv"] or row["title_en"]
        rows.append({"rule_code": row["rule_code"], "title": title, "applications": int(row["applications"])})
    rows.sort(key=lambda row: (-row["applications"], row["rule_code"]))
    unexplained = max(ineligible - explained, 0)
    if unexplained:
        rows.append({"rule_code": "", "title": _("No rule failed: declared ineligible with the officer's reasons"),
                     "applications": unexplained})
    return rows


def _selection(parts: _Parts, totals: dict[str, Any]) -> dict[str, int]:
    """One statement on the selection's assignments of the received applications; the discrepancies and
    appeals come with the breakdowns."""
    query = (sa.select(sa.func.count(sa.case((Assignment.state == "submitted", 1))),
                       sa.func.count(sa.case((Assignment.reason == "third", 1))),
                       sa.func.count(sa.case((Assignment.state == "recused", 1))))
             .where(Assignment.gate_stage == "", Assignment.application_id.in_(parts.received_ids())))
    submitted, third, recused = db.session.execute(query).one()
    appeals, upheld, dismissed = int(totals["appeals"]), int(totals["upheld"]), int(totals["dismissed"])
    return {"reviews_submitted": int(submitted or 0), "discrepancies": int(totals["discrepancies"]),
            "third_evaluators": int(third or 0), "recusals": int(recused or 0), "appeals_lodged": appeals,
            "appeals_upheld": upheld, "appeals_dismissed": dismissed,
            "appeals_pending": max(appeals - upheld - dismissed, 0), "decisions": 0, "decisions_departing": 0}


def _decisions(parts: _Parts, filters: Filters) -> list[dict[str, Any]]:
    """One statement: the committee's decisions taken in the period, by outcome."""
    query = (sa.select(Decision.outcome, sa.func.count(Decision.id),
                       sa.func.count(sa.case((Decision.departs_from_ranking.is_(True), 1))))
             .join(Application, Application.id == Decision.application_id)
             .where(parts.scope, filters.on_day(Decision.decided_on))
             .group_by(Decision.outcome))
    counts = {DecisionOutcome(outcome): (int(count), int(departing or 0))
              for outcome, count, departing in db.session.execute(query)}
    return [{"outcome": outcome.value, "label": str(DECISION_LABELS[outcome]),
             "count": counts.get(outcome, (0, 0))[0], "departing": counts.get(outcome, (0, 0))[1]}
            for outcome in DecisionOutcome]


def _irregularities(scope: sa.ColumnElement[bool], filters: Filters) -> list[dict[str, Any]]:
    """One statement: the irregularities detected in the period, by state, with their recovery orders."""
    orders = (sa.select(RecoveryOrder.irregularity_id.label("irregularity_id"),
                        sa.func.count(RecoveryOrder.id).label("orders"),
                        sa.func.sum(RecoveryOrder.amount).label("ordered"),
                        sa.func.sum(RecoveryOrder.recovered_amount).label("recovered"))
              .group_by(RecoveryOrder.irregularity_id).subquery("orders"))
    query = (sa.select(Irregularity.state.label("state"), sa.func.count(Irregularity.id).label("count"),
                       money_sum(Irregularity.amount).label("amount"),
                       sa.func.coalesce(sa.func.sum(orders.c.orders), 0).label("orders"),
                       money_sum(orders.c.ordered).label("ordered"),
                       money_sum(orders.c.recovered).label("recovered"))
             .join(Application, Application.id == Irregularity.application_id)
             .outerjoin(orders, orders.c.irregularity_id == Irregularity.id)
             .where(scope, filters.on_day(Irregularity.detected_on))
             .group_by(Irregularity.state))
    found = {row["state"]: row for row in db.session.execute(query).mappings()}
    states = list(IRREGULARITY_STATES) + sorted(state for state in found if state not in IRREGULARITY_STATES)
    rows = []
    for state in states:
        row = found.get(state)
        rows.append({"state": state, "label": state_label(_IRREGULARITY_WORKFLOW, state),
                     "count": int(row["count"]) if row else 0, "amount": _money(row["amount"]) if row else ZERO,
                     "orders": int(row["orders"] or 0) if row else 0,
                     "ordered": _money(row["ordered"]) if row else ZERO,
                     "recovered": _money(row["recovered"]) if row else ZERO})
    return rows


# --- indicators ------------------------------------------------------------------------------------------

def _progress(programme: Programme, call: Call | None, scope: sa.ColumnElement[bool],
              filters: Filters) -> list[Progress]:
    """Targets (the programme's, or the call's) against what the accepted reports reached, in the period
    by the end of the period each report covers (two statements for the catalogue, one for the values)."""
    rows: list[Indicator] = indicator_defs.own_indicators(programme)
    definitions = indicator_defs.definitions(programme, rows)
    if call is None:
        targets = {row.code: row.target for row in rows if row.target is not None}
    else:
        targets = {row.code: target.target for row in rows for target in row.call_targets
                   if target.call_id == call.id}
    reached: dict[str, Decimal] = defaultdict(Decimal)
    query = (sa.select(GrantReport.indicators)
             .join(ReportDue, ReportDue.id == GrantReport.due_id)
             .join(Application, Application.id == GrantReport.application_id)
             .where(scope, GrantReport.state == "accepted", filters.on_day(ReportDue.period_end)))
    for (values,) in db.session.execute(query):
        for code, value in (values or {}).items():
            number = indicator_defs.parse_value(value)
            if number is not None:
                reached[code] += Decimal(number)
    return [Progress(indicator, Decimal(str(targets[indicator.code])) if targets.get(indicator.code) is not None
                     else None, reached.get(indicator.code, Decimal(0)))
            for indicator in definitions]


def _indicator_row(progress: Progress) -> dict[str, Any]:
    indicator = progress.indicator
    return {"code": indicator.code, "title": indicator.title, "unit": indicator.unit, "is_common": indicator.is_common,
            "target": progress.target, "actual": progress.actual, "percent": progress.percent}


def _participants(progress: list[Progress]) -> list[dict[str, Any]]:
    by_code = {row.indicator.code: row for row in progress}
    rows = []
    for gender, gender_label in GENDERS:
        for age, age_label in AGE_GROUPS:
            cell = by_code.get(f"{PARTICIPANTS}_{gender}_{age}")
            if cell is None:
                continue
            rows.append({"gender": gender, "gender_label": str(gender_label), "age_group": age,
                         "age_label": str(age_label), "target": cell.target, "actual": cell.actual})
    return rows


# --- the list of reports ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CallEntry:
    id: int
    code: str
    title: str
    status: str
    opens_at: datetime
    closes_at: datetime


@dataclass
class ProgrammeEntry:
    programme: Programme
    calls: list[CallEntry] = field(default_factory=list)


def _call_entries(query: sa.Select) -> list[tuple[int, CallEntry]]:
    english = current_language() == "en"
    entries = []
    for row in db.session.execute(query):
        title = (row.title_en if english else row.title_lv) or row.title_lv or row.title_en
        entries.append((row.programme_id, CallEntry(row.id, row.code, title, _code(row.status), row.opens_at,
                                                    row.closes_at)))
    return entries


def _calls_query() -> sa.Select:
    """Published and closed calls (drafts have nothing to report), by opening date."""
    return (sa.select(Call.id, Call.programme_id, Call.code, Call.title_lv, Call.title_en, Call.status, Call.opens_at,
                      Call.closes_at)
            .where(Call.status != CallStatus.DRAFT).order_by(Call.opens_at, Call.code))


def programme_calls(programme: Programme) -> list[CallEntry]:
    """The programme's calls with a report (one statement)."""
    return [entry for _id, entry in _call_entries(_calls_query().where(Call.programme_id == programme.id))]


def catalogue() -> list[ProgrammeEntry]:
    """Every programme with its calls (drafts left out), for the list of reports: two statements."""
    programmes = list(db.session.scalars(sa.select(Programme).order_by(Programme.starts_on.desc(), Programme.code)))
    entries = {programme.id: ProgrammeEntry(programme) for programme in programmes}
    for programme_id, entry in _call_entries(_calls_query()):
        if programme_id in entries:
            entries[programme_id].calls.append(entry)
    return list(entries.values())

