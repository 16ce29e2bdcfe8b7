"""The officer's side of a call's evaluation (DESIGN §6, §9): what the officer's pages list — the
evaluator pool with its workload, the call's assignments, and the applications short of
evaluators. The per-call dashboard built on them (with the ranking) is grants.dashboard.calls.

Every reading here runs a fixed number of queries, whatever the number of applications,
assignments or evaluators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.applications.models import Application
from grants.calls.models import Call
from grants.core.db import db, utcnow
from grants.core.paging import bounded_count, window
from grants.core.roles import RoleCode
from grants.evaluations.models import (
    ACTIVE_STATES,
    OPEN_STATES,
    Assignment,
    EvaluationResult,
    PoolMember,
    Review,
)
from grants.evaluations.rubrics import rubric_of
from grants.evaluations.services import EVALUATION_STATE, GATE_STATE, ROUND_STATES, evaluation_round, wanted
from grants.initiatives.stages import stage_label
from grants.organisations.models import Organisation
from grants.users.models import Role, User, user_roles
from grants.workflows.engine import get_definition

# --- labels -------------------------------------------------------------------------------------------

def assignment_state_label(state: str) -> str:
    found = get_definition("assignment", 1).states.get(state)
    return _(found.label) if found else state


def reason_label(reason: str) -> str:
    labels = {"auto": _("Automatic"), "third": _("Third evaluator"), "replacement": _("Replacement"),
              "manual": _("Chosen by an officer")}
    return labels.get(reason, reason)


# --- the pool -----------------------------------------------------------------------------------------

@dataclass
class PoolRow:
    user_id: int
    name: str
    email: str
    is_active: bool
    added_at: datetime
    #: Open assignments (declaration pending or scoring) across all calls, and in this call.
    open_total: int
    open_in_call: int
    submitted_in_call: int


def _workload() -> sa.Subquery:
    return (sa.select(Assignment.evaluator_id, sa.func.count().label("n"))
            .where(Assignment.state.in_(OPEN_STATES)).group_by(Assignment.evaluator_id).subquery("workload"))


def _in_call(call: Call) -> sa.Subquery:
    def count(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    return (sa.select(Assignment.evaluator_id, count(Assignment.state.in_(OPEN_STATES)).label("open"),
                      count(Assignment.state == "submitted").label("submitted"))
            .where(Assignment.call_id == call.id).group_by(Assignment.evaluator_id).subquery("in_call"))


def pool_query(call: Call) -> sa.Select:
    """The pool of ``call`` with each member's workload, by name: one statement."""
    workload, in_call = _workload(), _in_call(call)
    return (sa.select(PoolMember.user_id, User.name, User.email, User.is_active_account, PoolMember.created_at,
                      sa.func.coalesce(workload.c.n, 0), sa.func.coalesce(in_call.c.open, 0),
                      sa.func.coalesce(in_call.c.submitted, 0))
            .join(User, User.id == PoolMember.user_id)
            .outerjoin(workload, workload.c.evaluator_id == PoolMember.user_id)
            .outerjoin(in_call, in_call.c.evaluator_id == PoolMember.user_id)
            .where(PoolMember.call_id == call.id)
            .order_by(User.name, User.id))


def pool_rows(call: Call) -> list[PoolRow]:
    return [PoolRow(*row) for row in db.session.execute(pool_query(call))]


def pool_page(call: Call, page: int, per_page: int) -> tuple[list[PoolRow], int]:
    """One page of the pool of ``call`` (by name) with each member's workload, and the pool's size: two
    statements (the size comes with the page's members; read on its own past the last page). The workload is one
    GROUP BY over the page's evaluators' assignments only (an index range of ``(evaluator_id, state)`` per member),
    not over every assignment of every call."""
    size = sa.select(sa.func.count()).select_from(PoolMember).where(PoolMember.call_id == call.id)
    found = db.session.execute(
        sa.select(PoolMember.user_id, User.name, User.email, User.is_active_account, PoolMember.created_at,
                  size.correlate(None).scalar_subquery())
        .join(User, User.id == PoolMember.user_id).where(PoolMember.call_id == call.id)
        .order_by(User.name, User.id).limit(per_page).offset((page - 1) * per_page)).all()
    if not found:  # past the last page (or an empty pool): the size alone
        return [], db.session.execute(size).scalar_one()
    members, total = [row[:-1] for row in found], found[0][-1]

    def count(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    is_open = Assignment.state.in_(OPEN_STATES)
    workload = {evaluator_id: (open_total, in_call, submitted) for evaluator_id, open_total, in_call, submitted
                in db.session.execute(
                    sa.select(Assignment.evaluator_id, count(is_open),
                              count(sa.and_(is_open, Assignment.call_id == call.id)),
                              count(sa.and_(Assignment.state == "submitted", Assignment.call_id == call.id)))
                    .where(Assignment.evaluator_id.in_([member[0] for member in members]),
                           sa.or_(is_open, Assignment.call_id == call.id))
                    .group_by(Assignment.evaluator_id))}
    return [PoolRow(*member, *workload.get(member[0], (0, 0, 0))) for member in members], total


def pool_choices(call: Call) -> list[tuple[int, str, str]]:
    """``(user_id, name, email)`` of the active members of the pool of ``call``, by name: one statement, no
    workload (for choosing an evaluator)."""
    return [tuple(row) for row in db.session.execute(
        sa.select(PoolMember.user_id, User.name, User.email).join(User, User.id == PoolMember.user_id)
        .where(PoolMember.call_id == call.id, User.is_active_account.is_(True)).order_by(User.name, User.id))]


def pool_candidates(call: Call) -> list[tuple[int, str, str]]:
    """``(user_id, name, email)`` of the active evaluators not in the pool of ``call``, by name: one
    statement."""
    in_pool = sa.select(PoolMember.user_id).where(PoolMember.call_id == call.id)
    return [tuple(row) for row in db.session.execute(
        sa.select(User.id, User.name, User.email).join(user_roles, user_roles.c.user_id == User.id)
        .join(Role, Role.id == user_roles.c.role_id)
        .where(Role.code == RoleCode.EVALUATOR, User.is_active_account.is_(True), User.id.not_in(in_pool))
        .order_by(User.name, User.id))]


def pool_item(row: PoolRow | sa.Row) -> dict[str, Any]:
    """The API item of a pool member: a :class:`PoolRow` (``pool_page``) or a row of ``pool_query``."""
    member = row if isinstance(row, PoolRow) else PoolRow(*row)
    return {"user_id": member.user_id, "name": member.name, "email": member.email, "is_active": member.is_active,
            "added_at": member.added_at, "open_assignments": member.open_total, "open_in_call": member.open_in_call,
            "submitted_in_call": member.submitted_in_call}


# --- assignments --------------------------------------------------------------------------------------

@dataclass
class AssignmentRow:
    id: int
    application_id: int
    evaluator_id: int
    evaluator: str
    state: str
    due_at: datetime
    reason: str
    replaces_id: int | None
    total: Decimal | None
    #: The round: empty for the selection, else the SI stage the stage gate opens.
    gate_stage: str = ""
    now: datetime = field(repr=False, default_factory=utcnow)

    @property
    def overdue(self) -> bool:
        return self.state in OPEN_STATES and self.due_at < self.now

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def state_label(self) -> str:
        return assignment_state_label(self.state)

    @property
    def reason_label(self) -> str:
        return reason_label(self.reason)


def assignments_query(call: Call) -> sa.Select:
    """The assignments of ``call`` with the evaluator's name and, for submitted reviews only, the
    total: one statement (columns, not objects, so nothing more is loaded)."""
    total = sa.case((sa.and_(Assignment.state == "submitted", Review.submitted_at.is_not(None)), Review.total),
                    else_=None)
    return (sa.select(Assignment.id, Assignment.application_id, Assignment.evaluator_id, User.name,
                      Assignment.state, Assignment.due_at, Assignment.reason, Assignment.replaces_id,
                      total.label("total"), Assignment.gate_stage)
            .join(User, User.id == Assignment.evaluator_id)
            .outerjoin(Review, Review.assignment_id == Assignment.id)
            .where(Assignment.call_id == call.id)
            .order_by(Assignment.application_id, Assignment.id))


def assignment_rows(query: sa.Select) -> list[AssignmentRow]:
    now = utcnow()
    return [AssignmentRow(*row, now=now) for row in db.session.execute(query)]


@dataclass
class ApplicationAssignments:
    """One evaluation round of one application of the call (its selection, or a stage gate) with its
    assignments, for the assignments page."""

    application_id: int
    title: str
    organisation: str
    si_stage: str
    state: str
    needs_third: bool
    #: Empty for the selection; the SI stage a stage gate opens.
    gate_stage: str = ""
    #: The round is being scored now (so evaluators may still be assigned to it).
    is_current: bool = False
    assignments: list[AssignmentRow] = field(default_factory=list)

    @property
    def active(self) -> int:
        return sum(1 for a in self.assignments if a.state in ACTIVE_STATES)

    @property
    def in_evaluation(self) -> bool:
        return self.is_current

    @property
    def anchor(self) -> str:
        return f"app-{self.application_id}" + (f"-{self.gate_stage}" if self.gate_stage else "")

    @property
    def round_label(self) -> str:
        """Empty for the selection; for a stage gate, which stage it opens."""
        return _("Stage gate into “%(stage)s”", stage=stage_label(self.gate_stage)) if self.gate_stage else ""


def assignments_by_application(call: Call) -> list[ApplicationAssignments]:
    """Applications of the call that are (or were) evaluated or have assignments, one group per
    evaluation round (the selection, each stage gate) with its assignments: three statements."""
    has_assignment = sa.select(Assignment.id).where(Assignment.application_id == Application.id).exists()
    applications = db.session.execute(
        sa.select(Application)
        .where(Application.call_id == call.id, sa.or_(Application.state.in_(ROUND_STATES), has_assignment))
        .order_by(Application.id)).unique().scalars().all()
    thirds = {(app_id, gate_stage) for app_id, gate_stage in db.session.execute(
        sa.select(EvaluationResult.application_id, EvaluationResult.gate_stage)
        .where(EvaluationResult.call_id == call.id, EvaluationResult.needs_third.is_(True)))}
    return _grouped(applications, assignment_rows(assignments_query(call)), thirds,
                    with_current=lambda application: True)


def _grouped(applications, rows, thirds, *, with_current) -> list[ApplicationAssignments]:
    """The assignment ``rows`` in one group per application and evaluation round they belong to, in the
    applications' order; an application's current round gets a group of its own, even when nobody is assigned
    to it yet, where ``with_current(application)`` says so."""
    rounds: dict[int, set[str]] = {}
    for row in rows:
        rounds.setdefault(row.application_id, set()).add(row.gate_stage)
    groups: dict[tuple[int, str], ApplicationAssignments] = {}
    for application in applications:
        current = evaluation_round(application)
        shown = set(rounds.get(application.id, set()))
        if current is not None and with_current(application):
            shown.add(current)
        for gate_stage in sorted(shown):
            groups[(application.id, gate_stage)] = ApplicationAssignments(
                application.id, application.title, application.organisation.name, application.si_stage,
                application.state, (application.id, gate_stage) in thirds, gate_stage=gate_stage,
                is_current=current == gate_stage)
    for row in rows:
        group = groups.get((row.application_id, row.gate_stage))
        if group is not None:
            group.assignments.append(row)
    return list(groups.values())


def assignment_states() -> list[str]:
    """The states an assignment may be in (the filter of the assignments page)."""
    return list(get_definition("assignment", 1).states)


@dataclass
class AssignmentsPage:
    groups: list[ApplicationAssignments]
    #: Assignments matching the filters (all pages).
    total: int
    page: int
    per_page: int
    #: ``total`` is the database's estimate (a very long list, see grants.core.paging.bounded_count).
    total_is_estimate: bool = False

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def assignments_page(call: Call, *, page: int, per_page: int, state: str | None = None,
                     application_id: int | None = None) -> AssignmentsPage:
    """One page of the assignments of ``call`` (by application, as the API lists them; filters: the
    assignment's ``state``, one application), grouped by evaluation round of the applications on the page:
    at most five statements whatever the size of the call. Filtered by an application, its current round is
    shown even when nobody is assigned to it yet."""
    conditions = [Assignment.call_id == call.id]
    if state:
        conditions.append(Assignment.state == state)
    if application_id is not None:
        conditions.append(Assignment.application_id == application_id)
    total, is_estimate = bounded_count(sa.select(Assignment.id).where(*conditions))
    # The page's ids first, from the assignments alone (with an index on (call_id, application_id, id) an
    # index-only range read); then the columns of those 50 rows. One statement with the joins lets the planner
    # walk the application index of every call.
    ids_on_page = window(sa.select(Assignment.id).where(*conditions)
                         .order_by(Assignment.application_id, Assignment.id), page, per_page).scalar_subquery()
    rows = assignment_rows(assignments_query(call).where(Assignment.id.in_(ids_on_page))) if total else []
    ids = {row.application_id for row in rows} | ({application_id} if application_id is not None else set())
    if not ids:
        return AssignmentsPage([], total, page, per_page, is_estimate)
    applications = db.session.execute(
        sa.select(Application).where(Application.call_id == call.id, Application.id.in_(ids))
        .options(sa.orm.lazyload(Application.submissions))  # not shown: no snapshots read
        .order_by(Application.id)).unique().scalars().all()
    thirds = {(app_id, gate_stage) for app_id, gate_stage in db.session.execute(
        sa.select(EvaluationResult.application_id, EvaluationResult.gate_stage)
        .where(EvaluationResult.application_id.in_(ids), EvaluationResult.needs_third.is_(True)))}
    groups = _grouped(applications, rows, thirds,
                      with_current=lambda application: application.id == application_id and not state)
    return AssignmentsPage(groups, total, page, per_page, is_estimate)


def assignment_item(row: AssignmentRow) -> dict[str, Any]:
    return {"id": row.id, "application_id": row.application_id, "evaluator_id": row.evaluator_id,
            "evaluator": row.evaluator, "status": row.state, "due_at": row.due_at, "overdue": row.overdue,
            "reason": row.reason, "replaces_id": row.replaces_id, "total": row.total, "gate_stage": row.gate_stage}


def assignment_of(assignment: Assignment) -> dict[str, Any]:
    """The API item of one loaded assignment (same fields as :func:`assignment_item`)."""
    review = assignment.review
    total = review.total if assignment.state == "submitted" and review is not None else None
    return {"id": assignment.id, "application_id": assignment.application_id,
            "evaluator_id": assignment.evaluator_id, "evaluator": assignment.evaluator.name,
            "status": assignment.state, "due_at": assignment.due_at, "overdue": assignment.is_overdue,
            "reason": assignment.reason, "replaces_id": assignment.replaces_id, "total": total,
            "gate_stage": assignment.gate_stage}


# --- shortfalls ---------------------------------------------------------------------------------------

def short_of_evaluators(call: Call) -> list[dict[str, Any]]:
    """Applications being scored (in evaluation, or at a stage gate) with fewer evaluators in that round
    than they need (the pool had no one else free of conflicts), by application: three statements. The
    selection round is counted by the database (only the short applications come back); stage gates, few
    and with their round decided in Python, are read as before."""
    required = rubric_of(call.rubric).evaluators_required
    active = (sa.select(sa.func.count()).select_from(Assignment)
              .where(Assignment.application_id == Application.id, Assignment.gate_stage == "",
                     Assignment.state.in_(ACTIVE_STATES)).correlate(Application).scalar_subquery())
    third = sa.func.coalesce(sa.case((EvaluationResult.needs_third.is_(True), 1), else_=0), 0)
    short = [{"application_id": app_id, "title": title, "organisation": organisation, "assigned": assigned,
              "missing": required + extra - assigned}
             for app_id, title, organisation, assigned, extra in db.session.execute(
                 sa.select(Application.id, Application.title, Organisation.name, active, third)
                 .join(Organisation, Organisation.id == Application.organisation_id)
                 .outerjoin(EvaluationResult, sa.and_(EvaluationResult.application_id == Application.id,
                                                      EvaluationResult.call_id == call.id,
                                                      EvaluationResult.gate_stage == ""))
                 .where(Application.call_id == call.id, Application.state == EVALUATION_STATE,
                        active < required + third))]
    applications = db.session.execute(
        sa.select(Application).where(Application.call_id == call.id, Application.state == GATE_STATE)
        .options(sa.orm.lazyload(Application.submissions))
        .order_by(Application.id)).unique().scalars().all()
    if applications:
        short += _short_at_gates(applications, required)
    return sorted(short, key=lambda item: item["application_id"])


def _short_at_gates(applications: list[Application], required: int) -> list[dict[str, Any]]:
    """Applications at a stage gate short of evaluators in the gate's round."""
    counts: dict[tuple[int, str], int] = {}
    thirds: set[tuple[int, str]] = set()
    ids = [application.id for application in applications]
    for app_id, gate_stage, n, third in db.session.execute(
            sa.select(Application.id, Assignment.gate_stage, sa.func.count(Assignment.id),
                      sa.func.max(sa.case((EvaluationResult.needs_third.is_(True), 1), else_=0)))
            .select_from(Application)
            .join(Assignment, sa.and_(Assignment.application_id == Application.id,
                                      Assignment.state.in_(ACTIVE_STATES)), isouter=True)
            .join(EvaluationResult, sa.and_(EvaluationResult.application_id == Application.id,
                                            EvaluationResult.gate_stage == sa.func.coalesce(Assignment.gate_stage,
                                                                                             "")), isouter=True)
            .where(Application.id.in_(ids)).group_by(Application.id, Assignment.gate_stage)):
        counts[(app_id, gate_stage or "")] = n
        if third:
            thirds.add((app_id, gate_stage or ""))
    short = []
    for application in applications:
        gate_stage = evaluation_round(application)
        if not gate_stage:
            continue
        app_id, title, organisation = application.id, application.title, application.organisation.name
        assigned = counts.get((app_id, gate_stage), 0)
        missing = wanted(required, (app_id, gate_stage) in thirds) - assigned
        if missing > 0:
            short.append({"application_id": app_id, "title": title, "organisation": organisation,
                          "assigned": assigned, "missing": missing})
    return short
