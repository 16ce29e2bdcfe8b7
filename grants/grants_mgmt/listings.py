"""Lists of the grant phase, each in a fixed number of queries whatever the data size: the grants
(with what is awarded and paid, the next report due and the retention date), the payments finance
works through, the reports that are overdue, the irregularities register. Also the grantee record
the eligibility checks read (registered with grants.eligibility.facts).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from grants.applications.models import Application
from grants.applications.search import matching_ids
from grants.calls.models import Call
from grants.core.db import Money, db, money_sum
from grants.decisions.models import Decision, Outcome
from grants.eligibility.facts import GrantRecord, register_grant_records
from grants.eligibility.models import AidSource, DeMinimisAid
from grants.grants_mgmt.indicators import parse_value
from grants.grants_mgmt.models import GrantAgreement, GrantReport, Irregularity, Payment, ReportDue
from grants.grants_mgmt.models.irregularities import OPEN_IRREGULARITY_STATES
from grants.grants_mgmt.models.payments import OPEN_PAYMENT_STATES
from grants.grants_mgmt.models.reports import DELIVERED_STATES
from grants.grants_mgmt.permissions import reads_all
from grants.grants_mgmt.retention import CLOSED_STATES, keep_until
from grants.organisations.models import Membership, Organisation

# --- grants ----------------------------------------------------------------------------------------------


@dataclass
class GrantRow:
    application_id: int
    title: str
    organisation: str
    organisation_id: int
    call_id: int
    call_code: str
    si_stage: str
    award_stage: str
    state: str
    workflow_name: str
    workflow_version: int
    agreement_number: str | None
    awarded_amount: Decimal | None
    decided_amount: Decimal | None
    end_date: date | None
    signed_at: Any
    paid_amount: Decimal
    last_paid_on: date | None
    open_payments: int
    #: The award is in the de minimis register (a longer retention); read by :func:`grant_rows` for the grants
    #: with an agreement (the award is registered when it is signed).
    de_minimis: bool = False
    next_report_due: date | None = None
    overdue_reports: int = 0
    #: Indicators with a target in the agreement, and how many of them are reached.
    indicators_targeted: int = 0
    indicators_reached: int = 0
    indicator_percent: int | None = None

    @property
    def keep_until(self) -> date | None:
        if self.signed_at is None:
            return None
        return keep_until(self.last_paid_on or self.end_date, self.de_minimis)

    @property
    def retention_provisional(self) -> bool:
        return self.state not in CLOSED_STATES or bool(self.open_payments) or self.last_paid_on is None

    @property
    def amount(self) -> Decimal | None:
        """What the grant is worth: the agreement's amount, else the decided one."""
        return self.awarded_amount if self.awarded_amount is not None else self.decided_amount

    @property
    def workflow(self):
        """For the state labels (an object pinning the application's workflow)."""
        return _Pinned(self.workflow_name, self.workflow_version, self.state)


@dataclass(frozen=True)
class _Pinned:
    workflow_name: str
    workflow_version: int
    state: str


def approved_ids() -> sa.Select:
    """Applications the committee approved (their grant exists or is being contracted)."""
    return sa.select(Decision.application_id).where(Decision.outcome == Outcome.APPROVED)


def _per_grant(column) -> sa.ScalarSelect:
    """``column`` over the payments of the application of the row: a correlated subquery, evaluated for the
    rows of the page only (the payments' application index), never an aggregate of every payment joined in."""
    return (sa.select(column).where(Payment.application_id == Application.id).correlate(Application)
            .scalar_subquery())


def _money() -> tuple:
    """What is paid, when last, and how many payments are open, per grant."""
    paid = Payment.state == "paid"
    return (sa.func.coalesce(_per_grant(sa.type_coerce(sa.func.sum(sa.case((paid, Payment.amount), else_=0)),
                                                       Money)), 0),
            _per_grant(sa.func.max(sa.case((paid, Payment.paid_on)))),
            _per_grant(sa.func.count(sa.case((Payment.state.in_(OPEN_PAYMENT_STATES), 1)))))


def _decided() -> sa.Subquery:
    """The approval in force of each approved application: its newest approving decision, found as the one
    with no newer approving decision on the same application (the decisions' application index), not as the
    maximum of every application's decisions grouped first (0.1 s at 50,000 decisions, on every page)."""
    newer = aliased(Decision, name="newer_approval")
    return (sa.select(Decision.application_id, Decision.amount)
            .where(Decision.outcome == Outcome.APPROVED,
                   ~sa.exists().where(newer.application_id == Decision.application_id,
                                      newer.outcome == Outcome.APPROVED, newer.id > Decision.id))
            .subquery("decided"))


def _grant_conditions(user, *, call_id: int | None = None, state: str | None = None, si_stage: str | None = None,
                      programme_id: int | None = None, organisation_id: int | None = None, overdue: bool = False,
                      today: date | None = None, q: str | None = None) -> list[sa.ColumnElement[bool]]:
    """The filters of the grants list as conditions on the application alone, so that the list and its count
    (which joins nothing) share them."""
    conditions: list[sa.ColumnElement[bool]] = []
    if not reads_all(user):
        conditions.append(Application.organisation_id.in_(
            sa.select(Membership.organisation_id).where(Membership.user_id == user.id)))
    if call_id is not None:
        conditions.append(Application.call_id == call_id)
    if programme_id is not None:
        conditions.append(Application.call_id.in_(sa.select(Call.id).where(Call.programme_id == programme_id)))
    if organisation_id is not None:
        conditions.append(Application.organisation_id == organisation_id)
    if state:
        conditions.append(Application.state == state)
    if si_stage:
        conditions.append(Application.si_stage == si_stage)
    if overdue:
        conditions.append(Application.id.in_(overdue_dues(today or date.today()).with_only_columns(
            ReportDue.application_id)))
    if q and q.strip():
        # The words of the title, the organisation's name and the initiative's title (full-text index), or
        # a piece of the agreement number as typed.
        escaped = q.strip().replace("/", "//").replace("%", "/%").replace("_", "/_")
        conditions.append(sa.or_(Application.id.in_(matching_ids(q)), Application.id.in_(
            sa.select(GrantAgreement.application_id).where(GrantAgreement.number.ilike(f"%{escaped}%", escape="/")))))
    return conditions


def grants_query(user, *, page: int | None = None, per_page: int = 50, **filters) -> sa.Select:
    """The grants ``user`` may see, newest first, with their money: one statement. ``filters``: those of
    :func:`grants_total` (call_id, state, si_stage, programme_id, organisation_id, overdue, today, q); ``page``
    (from 1) of ``per_page`` rows, or every row.

    The order is the approved decisions' application index, walked from the newest; a page's grants are chosen
    first from the decisions (and the applications, when filtered) alone, and only they are joined to their
    organisation, call and agreement and have their payments summed: rows skipped by a far page cost an index
    entry each, not their joins and sums."""
    conditions = _grant_conditions(user, **filters)
    decided = _decided()
    query = (sa.select(Application.id, Application.title, Organisation.name, Organisation.id, Call.id, Call.code,
                       Application.si_stage, Application.award_stage, Application.state, Application.workflow_name,
                       Application.workflow_version, GrantAgreement.number, GrantAgreement.awarded_amount,
                       decided.c.amount, GrantAgreement.end_date, GrantAgreement.signed_at, *_money())
             .join(Organisation, Organisation.id == Application.organisation_id)
             .join(Call, Call.id == Application.call_id)
             .join(decided, decided.c.application_id == Application.id)
             .outerjoin(GrantAgreement, GrantAgreement.application_id == Application.id)
             .order_by(decided.c.application_id.desc()))
    if page is None:
        return query.where(*conditions)
    chosen = _decided()
    ids = sa.select(chosen.c.application_id)
    if conditions:
        ids = ids.join(Application, Application.id == chosen.c.application_id).where(*conditions)
    ids = ids.order_by(chosen.c.application_id.desc()).limit(per_page).offset((page - 1) * per_page)
    return query.where(Application.id.in_(sa.select(ids.subquery("page").c.application_id)))


def grants_total(user, **filters) -> int:
    """How many rows :func:`grants_query` gives, exactly, without its joins: the applications with an approved
    decision that pass the filters (every grant: the approved decisions' applications, from the decisions
    alone)."""
    conditions = _grant_conditions(user, **filters)
    if conditions:
        query = (sa.select(sa.func.count()).select_from(Application)
                 .where(Application.id.in_(approved_ids()), *conditions))
    else:
        query = sa.select(sa.func.count(sa.distinct(Decision.application_id))).where(
            Decision.outcome == Outcome.APPROVED)
    return db.session.execute(query).scalar_one()


def grant_calls(grant_states: tuple[str, ...]) -> list:
    """``(id, code, title_lv, title_en)`` of the calls that have a grant, by code (the grants list's filter).

    A grant is an application with an approved decision; its application is then in one of ``grant_states``
    (the workflows enter them only by the approval, and never leave them), which the applications' state index
    finds per call in a few entries, where asking every approved decision for its call reads them all."""
    has_grant = (sa.select(Application.id)
                 .where(Application.call_id == Call.id, Application.state.in_(grant_states),
                        sa.exists().where(Decision.application_id == Application.id,
                                          Decision.outcome == Outcome.APPROVED))
                 .correlate(Call).exists())
    return db.session.execute(sa.select(Call.id, Call.code, Call.title_lv, Call.title_en)
                              .where(has_grant).order_by(Call.code)).all()


def grant_rows(query: sa.Select, *, today: date) -> list[GrantRow]:
    """The rows of ``query`` with the next report due, the overdue count, the indicators reached and whether
    the award is de minimis aid: three more statements for the whole page."""
    rows = [GrantRow(*row) for row in db.session.execute(query)]
    if not rows:
        return rows
    ids = [row.application_id for row in rows]
    by_id = {row.application_id: row for row in rows}
    for app_id, next_due, late in db.session.execute(
            sa.select(ReportDue.application_id, sa.func.min(ReportDue.due_on),
                      sa.func.count(sa.case((ReportDue.due_on < today, 1))))
            .where(ReportDue.application_id.in_(ids), ~_delivered())
            .group_by(ReportDue.application_id)):
        by_id[app_id].next_report_due = next_due
        by_id[app_id].overdue_reports = late if by_id[app_id].signed_at is not None else 0
    reached: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    targets: dict[int, dict[str, Any]] = {}
    for app_id, values in db.session.execute(
            sa.select(GrantReport.application_id, GrantReport.indicators)
            .where(GrantReport.application_id.in_(ids), GrantReport.state == "accepted")):
        for code, value in (values or {}).items():
            number = parse_value(value)
            if number is not None:
                reached[app_id][code] += Decimal(number)
    # The register's rows of the page's awards only (asked per agreement: the register's application index, or
    # one pass over the register), not every award of the register hashed for every page.
    registered = (sa.select(DeMinimisAid.id)
                  .where(DeMinimisAid.application_id == GrantAgreement.application_id,
                         DeMinimisAid.source == AidSource.AWARD)
                  .correlate(GrantAgreement).exists())
    for app_id, target, de_minimis in db.session.execute(
            sa.select(GrantAgreement.application_id, GrantAgreement.indicator_targets, registered)
            .where(GrantAgreement.application_id.in_(ids))):
        targets[app_id] = target or {}
        by_id[app_id].de_minimis = bool(de_minimis)
    for row in rows:
        goals = {code: Decimal(str(value)) for code, value in targets.get(row.application_id, {}).items()}
        if not goals:
            continue
        actual = reached.get(row.application_id, {})
        row.indicators_targeted = len(goals)
        row.indicators_reached = sum(1 for code, goal in goals.items() if actual.get(code, 0) >= goal)
        shares = [min(actual.get(code, Decimal(0)) / goal, Decimal(1)) if goal else Decimal(1)
                  for code, goal in goals.items()]
        row.indicator_percent = int(sum(shares) * 100 / len(shares))
    return rows


# --- reports ---------------------------------------------------------------------------------------------

def _delivered() -> sa.Exists:
    """The required report of the row has been submitted or accepted: NOT EXISTS of it is an anti-join on the
    reports' unique due index (``NOT IN`` a subquery cannot be, and hashed every delivered report)."""
    return (sa.select(GrantReport.id).where(GrantReport.due_id == ReportDue.id, GrantReport.state.in_(DELIVERED_STATES))
            .correlate(ReportDue).exists())


def overdue_dues(today: date) -> sa.Select:
    """Reports required by signed agreements of grants not terminated, past their due date and
    neither submitted nor accepted."""
    return (sa.select(ReportDue)
            .join(GrantAgreement, GrantAgreement.application_id == ReportDue.application_id)
            .join(Application, Application.id == ReportDue.application_id)
            .where(ReportDue.due_on < today, GrantAgreement.signed_at.is_not(None), Application.state != "terminated",
                   ~_delivered()))


@dataclass(frozen=True)
class OverdueRow:
    application_id: int
    title: str
    organisation: str
    call_code: str
    kind: str
    si_stage: str
    period_end: date
    due_on: date
    report_id: int | None


def overdue_reports(today: date, *, organisation_ids: list[int] | None = None, limit: int = 50) -> list[OverdueRow]:
    """The overdue reports, the longest overdue first (one statement)."""
    query = (overdue_dues(today)
             .join(Organisation, Organisation.id == Application.organisation_id)
             .join(Call, Call.id == Application.call_id)
             .outerjoin(GrantReport, GrantReport.due_id == ReportDue.id)
             .with_only_columns(ReportDue.application_id, Application.title, Organisation.name, Call.code,
                                ReportDue.kind, ReportDue.si_stage, ReportDue.period_end, ReportDue.due_on,
                                GrantReport.id)
             .order_by(ReportDue.due_on, ReportDue.id).limit(limit))
    if organisation_ids is not None:
        query = query.where(Application.organisation_id.in_(organisation_ids or [0]))
    return [OverdueRow(app_id, title, organisation, code, getattr(kind, "value", kind), stage, period_end, due_on,
                       report_id)
            for app_id, title, organisation, code, kind, stage, period_end, due_on, report_id
            in db.session.execute(query)]


def reports_to_review(limit: int = 50) -> list[dict[str, Any]]:
    """Submitted reports waiting for an officer, oldest first (one statement)."""
    rows = db.session.execute(
        sa.select(GrantReport.id, GrantReport.application_id, Application.title, Organisation.name, ReportDue.kind,
                  ReportDue.period_end, GrantReport.submitted_at)
        .join(ReportDue, ReportDue.id == GrantReport.due_id)
        .join(Application, Application.id == GrantReport.application_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(GrantReport.state == "submitted").order_by(GrantReport.submitted_at, GrantReport.id).limit(limit))
    return [{"id": report_id, "application_id": app_id, "title": title, "organisation": organisation,
             "kind": getattr(kind, "value", kind), "period_end": period_end, "submitted_at": submitted_at}
            for report_id, app_id, title, organisation, kind, period_end, submitted_at in rows]


# --- payments --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PaymentRow:
    id: int
    application_id: int
    title: str
    organisation: str
    agreement_number: str | None
    kind: str
    si_stage: str
    amount: Decimal
    due_on: date
    state: str
    requested_at: Any
    verified_by_id: int | None
    verified_at: Any
    paid_on: date | None
    #: What the finance list's buttons need (grants.workflows.engine.available_triggers takes the row as the
    #: payment: its workflow, state and grantee), and the version the buttons post.
    organisation_id: int
    workflow_name: str
    workflow_version: int
    version: int


def _payment_conditions(*, state: str | None = None, application_id: int | None = None,
                        call_id: int | None = None) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if state:
        conditions.append(Payment.state == state)
    if application_id is not None:
        conditions.append(Payment.application_id == application_id)
    if call_id is not None:
        conditions.append(Payment.application_id.in_(sa.select(Application.id).where(Application.call_id == call_id)))
    return conditions


def payments_total(**filters) -> int:
    """How many payments pass ``filters`` (those of :func:`payment_page`): from the payments alone."""
    return db.session.execute(sa.select(sa.func.count()).select_from(Payment)
                              .where(*_payment_conditions(**filters))).scalar_one()


def payment_page(page: int, per_page: int, **filters) -> list[PaymentRow]:
    """Page ``page`` (from 1) of the payments with their grant, by due date: one statement. ``filters``: state,
    application_id, call_id.

    The page's payments are chosen first, by due date, from the payments alone (by the state's index when a
    state is asked for), and only they are joined to their applications, organisations and agreements:
    ordering the joined rows of every payment sorted them all."""
    chosen = (sa.select(Payment.id).where(*_payment_conditions(**filters))
              .order_by(Payment.due_on, Payment.id).limit(per_page).offset((page - 1) * per_page)
              .subquery("page"))
    query = (sa.select(Payment.id, Payment.application_id, Application.title, Organisation.name, GrantAgreement.number,
                       Payment.kind, Payment.si_stage, Payment.amount, Payment.due_on, Payment.state,
                       Payment.requested_at, Payment.verified_by_id, Payment.verified_at, Payment.paid_on,
                       Application.organisation_id, Payment.workflow_name, Payment.workflow_version, Payment.version)
             .join(chosen, chosen.c.id == Payment.id)
             .join(Application, Application.id == Payment.application_id)
             .join(Organisation, Organisation.id == Application.organisation_id)
             .outerjoin(GrantAgreement, GrantAgreement.application_id == Payment.application_id)
             .order_by(Payment.due_on, Payment.id))
    return [PaymentRow(*row[:5], getattr(row[5], "value", row[5]), *row[6:]) for row in db.session.execute(query)]


def payment_totals() -> dict[str, dict[str, Any]]:
    """Per payment state: how many and how much (one statement)."""
    totals = {state: {"count": 0, "amount": Decimal("0.00")} for state in ("planned", "requested", "verified", "paid",
                                                                          "rejected")}
    for state, count, amount in db.session.execute(
            sa.select(Payment.state, sa.func.count(), sa.type_coerce(sa.func.sum(Payment.amount), Money))
            .group_by(Payment.state)):
        totals[state] = {"count": count, "amount": amount or Decimal("0.00")}
    return totals


# --- irregularities --------------------------------------------------------------------------------------

#: The columns of a row of the irregularities register.
IRREGULARITY_KEYS = ("id", "application_id", "title", "organisation", "call_code", "amount", "detected_on", "state",
                     "description")


def irregularities_page(*, state: str | None, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the register, newest first, as rows (:data:`IRREGULARITY_KEYS`) with the register's size: the
    page's irregularities are picked from their own table first, then joined to their grants (two statements).
    Joined first, SQLite drove the statement from every application of the database when it had no statistics
    of the register (an empty one: 0.3 s at 100,000 applications); every irregularity has its application, call
    and organisation, so the count needs no join."""
    where = [Irregularity.state == state] if state else []
    ids = (sa.select(Irregularity.id).where(*where)
           .order_by(Irregularity.detected_on.desc(), Irregularity.id.desc())
           .limit(per_page).offset((page - 1) * per_page).subquery("page_ids"))
    query = (sa.select(Irregularity.id, Irregularity.application_id, Application.title, Organisation.name,
                       Call.code, Irregularity.amount, Irregularity.detected_on, Irregularity.state,
                       Irregularity.description)
             .join(ids, ids.c.id == Irregularity.id)
             .join(Application, Application.id == Irregularity.application_id)
             .join(Organisation, Organisation.id == Application.organisation_id)
             .join(Call, Call.id == Application.call_id)
             .order_by(Irregularity.detected_on.desc(), Irregularity.id.desc()))
    rows = [dict(zip(IRREGULARITY_KEYS, row, strict=True)) for row in db.session.execute(query)]
    total = db.session.scalar(sa.select(sa.func.count(Irregularity.id)).where(*where)) or 0
    return rows, int(total)


# --- the record eligibility reads ----------------------------------------------------------------------

def grant_records(organisation_ids: set[int], today: date) -> dict[int, GrantRecord]:
    """Per organisation: its overdue reports, open irregularities and grants under an agreement (three
    statements whatever the number of organisations)."""
    records: dict[int, GrantRecord] = defaultdict(GrantRecord)
    if not organisation_ids:
        return {}
    ids = list(organisation_ids)
    for org_id, app_id, code, due_on in db.session.execute(
            overdue_dues(today).join(Call, Call.id == Application.call_id)
            .with_only_columns(Application.organisation_id, ReportDue.application_id, Call.code, ReportDue.due_on)
            .where(Application.organisation_id.in_(ids)).order_by(ReportDue.due_on)):
        records[org_id].overdue_reports.append((app_id, code, due_on))
    for org_id, app_id, code, amount in db.session.execute(
            sa.select(Application.organisation_id, Irregularity.application_id, Call.code, Irregularity.amount)
            .join(Application, Application.id == Irregularity.application_id)
            .join(Call, Call.id == Application.call_id)
            .where(Application.organisation_id.in_(ids), Irregularity.state.in_(OPEN_IRREGULARITY_STATES))):
        records[org_id].irregularities.append((app_id, code, amount))
    for org_id, app_id in db.session.execute(
            sa.select(Application.organisation_id, GrantAgreement.application_id)
            .join(Application, Application.id == GrantAgreement.application_id)
            .where(Application.organisation_id.in_(ids))):
        records[org_id].with_agreement.add(app_id)
    return dict(records)


register_grant_records(grant_records)


@dataclass
class Counts:
    """What an officer's or finance officer's dashboard panel shows."""

    to_verify: int = 0
    to_pay: int = 0
    reports_to_review: int = 0
    overdue_reports: int = 0
    open_irregularities: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)


def irregularity_totals() -> dict[str, dict[str, Any]]:
    """Per irregularity state that has any: how many and how much (one statement)."""
    return {state: {"count": count, "amount": amount or Decimal("0.00")}
            for state, count, amount in db.session.execute(
                sa.select(Irregularity.state, sa.func.count(),
                          sa.type_coerce(sa.func.sum(Irregularity.amount), Money))
                .group_by(Irregularity.state))}


def staff_counts(today: date) -> Counts:
    """The grant phase at a glance, in one statement (the dashboard shows it beside other panels):
    payments by state, reports to review, overdue reports, irregularities open or being examined."""
    states = ("planned", "requested", "verified", "paid", "rejected")
    columns = []
    for state in states:
        columns.append(sa.func.count(sa.case((Payment.state == state, 1))))
        columns.append(money_sum(sa.case((Payment.state == state, Payment.amount))))
    submitted = (sa.select(sa.func.count()).select_from(GrantReport).where(GrantReport.state == "submitted")
                 .correlate(None).scalar_subquery())
    overdue = sa.select(sa.func.count()).select_from(overdue_dues(today).subquery()).correlate(None).scalar_subquery()
    irregular = (sa.select(sa.func.count()).select_from(Irregularity)
                 .where(Irregularity.state.in_(("suspected", *OPEN_IRREGULARITY_STATES)))
                 .correlate(None).scalar_subquery())
    row = db.session.execute(sa.select(*columns, submitted, overdue, irregular).select_from(Payment)).one()
    totals = {state: {"count": row[2 * i] or 0, "amount": row[2 * i + 1] or Decimal("0.00")}
              for i, state in enumerate(states)}
    return Counts(to_verify=totals["requested"]["count"], to_pay=totals["verified"]["count"],
                  reports_to_review=row[-3] or 0, overdue_reports=row[-2] or 0, open_irregularities=row[-1] or 0,
                  amounts={state: value["amount"] for state, value in totals.items()})
