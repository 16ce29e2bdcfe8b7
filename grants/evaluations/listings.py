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
from grants.evaluations.models import (
    ACTIVE_STATES,
    OPEN_STATES,
    Assignment,
    EvaluationResult,
    PoolMember,
    Review,
)
from grants.evaluations.rubrics import rubric_of
from grants.evaluations.services import EVALUATION_STATE, wanted
from grants.organisations.models import Organisation
from grants.users.models import User
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


def pool_item(row) -> dict[str, Any]:
    user_id, name, email, is_active, added_at, open_total, open_in_call, submitted = row
    return {"user_id": user_id, "name": name, "email": email, "is_active": is_active, "added_at": added_at,
            "open_assignments": open_total, "open_in_call": open_in_call, "submitted_in_call": submitted}


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
                      total.label("total"))
            .join(User, User.id == Assignment.evaluator_id)
            .outerjoin(Review, Review.assignment_id == Assignment.id)
            .where(Assignment.call_id == call.id)
            .order_by(Assignment.application_id, Assignment.id))


def assignment_rows(query: sa.Select) -> list[AssignmentRow]:
    now = utcnow()
    return [AssignmentRow(*row, now=now) for row in db.session.execute(query)]


@dataclass
class ApplicationAssignments:
    """One application of the call with its assignments, for the assignments page."""

    application_id: int
    title: str
    organisation: str
    si_stage: str
    state: str
    needs_third: bool
    assignments: list[AssignmentRow] = field(default_factory=list)

    @property
    def active(self) -> int:
        return sum(1 for a in self.assignments if a.state in ACTIVE_STATES)

    @property
    def in_evaluation(self) -> bool:
        return self.state == EVALUATION_STATE


def assignments_by_application(call: Call) -> list[ApplicationAssignments]:
    """Applications of the call that are (or were) evaluated or have assignments, each with its
    assignments: two statements."""
    has_assignment = sa.select(Assignment.id).where(Assignment.application_id == Application.id).exists()
    applications = db.session.execute(
        sa.select(Application.id, Application.title, Organisation.name, Application.si_stage, Application.state,
                  EvaluationResult.needs_third)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(EvaluationResult, EvaluationResult.application_id == Application.id)
        .where(Application.call_id == call.id,
               sa.or_(Application.state == EVALUATION_STATE, has_assignment))
        .order_by(Application.id)).all()
    groups = {app_id: ApplicationAssignments(app_id, title, organisation, stage, state, bool(third))
              for app_id, title, organisation, stage, state, third in applications}
    for row in assignment_rows(assignments_query(call)):
        group = groups.get(row.application_id)
        if group is not None:
            group.assignments.append(row)
    return list(groups.values())


def assignment_item(row: AssignmentRow) -> dict[str, Any]:
    return {"id": row.id, "application_id": row.application_id, "evaluator_id": row.evaluator_id,
            "evaluator": row.evaluator, "status": row.state, "due_at": row.due_at, "overdue": row.overdue,
            "reason": row.reason, "replaces_id": row.replaces_id, "total": row.total}


def assignment_of(assignment: Assignment) -> dict[str, Any]:
    """The API item of one loaded assignment (same fields as :func:`assignment_item`)."""
    review = assignment.review
    total = review.total if assignment.state == "submitted" and review is not None else None
    return {"id": assignment.id, "application_id": assignment.application_id,
            "evaluator_id": assignment.evaluator_id, "evaluator": assignment.evaluator.name,
            "status": assignment.state, "due_at": assignment.due_at, "overdue": assignment.is_overdue,
            "reason": assignment.reason, "replaces_id": assignment.replaces_id, "total": total}


# --- shortfalls ---------------------------------------------------------------------------------------

def short_of_evaluators(call: Call) -> list[dict[str, Any]]:
    """Applications in evaluation with fewer evaluators than they need (the pool had no one else
    free of conflicts): one statement."""
    active = (sa.select(Assignment.application_id, sa.func.count().label("n"))
              .where(Assignment.call_id == call.id, Assignment.state.in_(ACTIVE_STATES))
              .group_by(Assignment.application_id).subquery("active"))
    required = rubric_of(call.rubric).evaluators_required
    rows = db.session.execute(
        sa.select(Application.id, Application.title, Organisation.name, sa.func.coalesce(active.c.n, 0),
                  EvaluationResult.needs_third)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(active, active.c.application_id == Application.id)
        .outerjoin(EvaluationResult, EvaluationResult.application_id == Application.id)
        .where(Application.call_id == call.id, Application.state == EVALUATION_STATE)
        .order_by(Application.id)).all()
    short = []
    for app_id, title, organisation, assigned, third in rows:
        missing = wanted(required, bool(third)) - assigned
        if missing > 0:
            short.append({"application_id": app_id, "title": title, "organisation": organisation,
                          "assigned": assigned, "missing": missing})
    return short
