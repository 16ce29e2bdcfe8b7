"""The officer's dashboard of a call (DESIGN §9): applications by state, evaluation progress,
discrepancies waiting for a third evaluator, applications short of evaluators, overdue work,
the budget per SI stage envelope and the top of the ranking (aggregates and the top rows of the ranking
computed by the database: grants.decisions.ranking.ranking_slice).

It draws on evaluation (grants.evaluations.listings) and on the ranking with the committee's
decisions (grants.decisions.ranking), so it sits above both. A fixed number of statements,
whatever the number of applications, assignments or evaluators.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.applications.models import Application
from grants.calls.models import Call
from grants.core.db import db, utcnow
from grants.decisions.ranking import RANKED_STATES, EnvelopeSummary, RankRow, is_ranked, ranking_slice
from grants.evaluations.listings import (
    AssignmentRow,
    assignment_rows,
    assignment_state_label,
    assignments_query,
    short_of_evaluators,
)
from grants.evaluations.models import (
    ACTIVE_STATES,
    ASSIGNMENT_STATES,
    OPEN_STATES,
    Assignment,
    EvaluationResult,
    Review,
)
from grants.evaluations.rubrics import rubric_of
from grants.organisations.models import Organisation
from grants.workflows.engine import get_definition

#: Rows of the ranking's top shown per SI stage on the dashboard.
TOP_RANKS = 5
#: Overdue assignments, discrepancies and applications short of evaluators listed on the dashboard (the
#: assignments page has them all).
OVERDUE_SHOWN = LIST_SHOWN = 50


@dataclass
class Bar:
    """One bar of a chart: its value and its length as a share (0..100) of the chart's largest."""

    key: str
    label: str
    value: Any
    percent: float


def _bars(items: list[tuple[str, str, Any]], scale: Any | None = None) -> list[Bar]:
    largest = scale if scale is not None else max((value for _k, _l, value in items), default=0)
    return [Bar(key, label, value, round(float(value) * 100 / float(largest), 1) if largest else 0.0)
            for key, label, value in items]


@dataclass
class Envelope:
    si_stage: str
    label: str
    envelope: Decimal
    requested: Decimal
    recommended: Decimal
    approved: Decimal
    scored: int
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Dashboard:
    call: Call
    funnel: list[Bar]
    applications: int
    assignments: list[Bar]
    reviews_submitted: int
    reviews_required: int
    discrepancies: list[dict[str, Any]]
    short: list[dict[str, Any]]
    overdue: list[AssignmentRow]
    envelopes: list[Envelope]
    top: list[RankRow]
    #: All overdue assignments (``overdue`` lists the first OVERDUE_SHOWN) and applications short of evaluators
    #: (``short`` lists the first LIST_SHOWN).
    overdue_total: int = 0
    short_total: int = 0

    @property
    def progress_percent(self) -> int:
        if not self.reviews_required:
            return 0
        return min(100, round(self.reviews_submitted * 100 / self.reviews_required))


def _funnel(call: Call) -> tuple[list[Bar], int]:
    counts = dict(db.session.execute(sa.select(Application.state, sa.func.count())
                                     .where(Application.call_id == call.id).group_by(Application.state)).all())
    definition = get_definition(call.workflow_name, call.workflow_version)
    order = [state for state in definition.states if counts.get(state)]
    order += sorted(state for state in counts if state not in definition.states)
    items = [(state, _(definition.states[state].label) if state in definition.states else state, counts[state])
             for state in order]
    return _bars(items), sum(counts.values())


def _assignment_states(call: Call) -> list[Bar]:
    counts = dict(db.session.execute(sa.select(Assignment.state, sa.func.count())
                                     .where(Assignment.call_id == call.id).group_by(Assignment.state)).all())
    items = [(state, assignment_state_label(state), counts.get(state, 0)) for state in ASSIGNMENT_STATES]
    return _bars(items)


def _reviews_required(call: Call) -> int:
    """Reviews the call's applications in (or past) evaluation need: the required number each, plus
    one per discrepancy (a third evaluator). One statement of three counts (together ``is_ranked``): every
    ranked state but ``appealed``, on the ``(state, call_id)`` index without reading the rows; the appeals
    against a rejection (few: their rows are read for ``appealed_from``); and the discrepancies of the call's
    selection round, from the call's results only."""
    plain = [state for state in RANKED_STATES if state != "appealed"]
    in_states = (sa.select(sa.func.count()).select_from(Application)
                 .where(Application.call_id == call.id, Application.state.in_(plain)).scalar_subquery())
    appealed = (sa.select(sa.func.count()).select_from(Application)
                .where(Application.call_id == call.id, Application.state == "appealed",
                       Application.appealed_from == "rejected").scalar_subquery())
    thirds = (sa.select(sa.func.count()).select_from(EvaluationResult)
              .join(Application, Application.id == EvaluationResult.application_id)
              .where(EvaluationResult.call_id == call.id, EvaluationResult.gate_stage == "",
                     EvaluationResult.discrepancy.is_(True), is_ranked()).scalar_subquery())
    applications, appeals, extra = db.session.execute(sa.select(in_states, appealed, thirds)).one()
    return (applications + appeals) * rubric_of(call.rubric).evaluators_required + int(extra or 0)


def _discrepancies(call: Call) -> list[dict[str, Any]]:
    """Applications waiting for a third evaluator (in the selection or at a stage gate; the first LIST_SHOWN),
    with the submitted totals of that round and whether a third is assigned: two statements."""
    third_assigned = (sa.select(Assignment.id).where(Assignment.application_id == Application.id,
                                                     Assignment.gate_stage == EvaluationResult.gate_stage,
                                                     Assignment.reason == "third",
                                                     Assignment.state.in_(ACTIVE_STATES)).exists())
    rows = db.session.execute(
        sa.select(Application.id, Application.title, Organisation.name, EvaluationResult.gate_stage, third_assigned)
        .join(EvaluationResult, EvaluationResult.application_id == Application.id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(Application.call_id == call.id, EvaluationResult.call_id == call.id,
               EvaluationResult.needs_third.is_(True))
        .order_by(Application.id, EvaluationResult.gate_stage).limit(LIST_SHOWN)).all()
    totals: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    if rows:
        for app_id, gate_stage, total in db.session.execute(
                sa.select(Review.application_id, Assignment.gate_stage, Review.total)
                .join(Assignment, Assignment.id == Review.assignment_id)
                .where(Assignment.call_id == call.id, Assignment.state == "submitted",
                       Review.submitted_at.is_not(None), Review.application_id.in_([r[0] for r in rows]))
                .order_by(Review.application_id, Review.id)):
            totals[(app_id, gate_stage)].append(total)
    return [{"application_id": app_id, "title": title, "organisation": organisation, "gate_stage": gate_stage,
             "totals": totals.get((app_id, gate_stage), []), "third_assigned": bool(assigned)}
            for app_id, title, organisation, gate_stage, assigned in rows]


def _overdue(call: Call) -> tuple[list[AssignmentRow], int]:
    """The first OVERDUE_SHOWN overdue assignments (earliest due first) and how many there are. The page's ids
    come from the assignments alone (their open ones of the call, sorted), and only those rows are joined to
    the evaluators and reviews."""
    condition = (Assignment.call_id == call.id, Assignment.state.in_(OPEN_STATES), Assignment.due_at < utcnow())
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Assignment).where(*condition))
    if not total:
        return [], 0
    first = (sa.select(Assignment.id).where(*condition).order_by(Assignment.due_at, Assignment.id)
             .limit(OVERDUE_SHOWN).scalar_subquery())
    query = assignments_query(call).where(Assignment.id.in_(first))
    return assignment_rows(query.order_by(None).order_by(Assignment.due_at, Assignment.id)), total


def _envelopes(call: Call, summaries: list[EnvelopeSummary]) -> list[Envelope]:
    """Per SI stage: the envelope, the amount requested by scored applications, the amount the
    ranking recommends (within the funding line) and the amount approved (aggregates of the ranking)."""
    envelopes = []
    by_code = {s.si_stage: s for s in summaries}
    for stage in call.stages:
        summary = by_code.get(stage.si_stage) or EnvelopeSummary(stage.si_stage, stage.envelope)
        requested, recommended, approved = summary.requested, summary.recommended, summary.approved
        envelope = Envelope(stage.si_stage, stage.label, stage.envelope, requested, recommended, approved,
                            summary.scored)
        scale = max(stage.envelope, requested, approved)
        envelope.bars = _bars([("envelope", _("Envelope"), stage.envelope),
                               ("requested", _("Requested by scored applications"), requested),
                               ("recommended", _("Within the funding line"), recommended),
                               ("approved", _("Approved"), approved)], scale)
        envelopes.append(envelope)
    return envelopes


def dashboard(call: Call) -> Dashboard:
    """Everything the officer's per-call dashboard shows, in a fixed number of statements."""
    funnel, applications = _funnel(call)
    states = _assignment_states(call)
    submitted = next((bar.value for bar in states if bar.key == "submitted"), 0)
    top = ranking_slice(call, places=dict.fromkeys(call.stage_codes, (1, TOP_RANKS)), scored_only=True)
    overdue, overdue_total = _overdue(call)
    short = short_of_evaluators(call)
    return Dashboard(call=call, funnel=funnel, applications=applications, assignments=states,
                     reviews_submitted=submitted, reviews_required=_reviews_required(call),
                     discrepancies=_discrepancies(call), short=short[:LIST_SHOWN], overdue=overdue,
                     envelopes=_envelopes(call, top.envelopes), top=top.rows, overdue_total=overdue_total,
                     short_total=len(short))


def dashboard_data(board: Dashboard) -> dict[str, Any]:
    """The dashboard as plain data for the API."""
    return {
        "call_id": board.call.id,
        "applications": board.applications,
        "funnel": [{"state": bar.key, "label": bar.label, "count": bar.value} for bar in board.funnel],
        "progress": {"assignments": {bar.key: bar.value for bar in board.assignments},
                     "reviews_submitted": board.reviews_submitted, "reviews_required": board.reviews_required,
                     "percent": board.progress_percent},
        "discrepancies": board.discrepancies,
        "short": [{"application_id": s["application_id"], "title": s["title"], "assigned": s["assigned"],
                   "missing": s["missing"]} for s in board.short],
        "overdue_total": board.overdue_total,
        "short_total": board.short_total,
        "overdue": [{"id": row.id, "application_id": row.application_id, "evaluator_id": row.evaluator_id,
                     "evaluator": row.evaluator, "status": row.state, "due_at": row.due_at}
                    for row in board.overdue],
        "envelopes": [{"si_stage": e.si_stage, "envelope": e.envelope, "requested": e.requested,
                       "recommended": e.recommended, "approved": e.approved, "scored": e.scored}
                      for e in board.envelopes],
        "top": [{"application_id": r.application_id, "si_stage": r.si_stage, "rank": r.rank,
                 "final_score": r.final_score, "cumulative_amount": r.cumulative_amount,
                 "within_budget": r.within_budget} for r in board.top],
    }
