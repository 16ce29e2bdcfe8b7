"""The ranked list of a call, per SI-stage envelope (DESIGN §6): final score, threshold, tie-break,
cumulative requested amount, the funding line and the reserve list.

Within each stage envelope the scored applications are ordered by final score, highest first;
equal scores are ordered by the call's stated tie-break (by default the earlier submission),
then by application number. Walking down the list, each application that passes (threshold and
criterion minima) adds the amount it would take to the cumulative sum: the amount approved
when the committee approved it, nothing when the committee rejected it, otherwise the amount
requested. Applications are within the budget while the cumulative sum stays within the
envelope; the first that does not fit draws the funding line, and every passing application
below it goes to the reserve list (the line is not skipped to fit smaller requests). Failing
applications are recommended for rejection. Applications still in evaluation are listed
unranked at the end.

One query reads the whole list, whatever its length.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from grants.applications.models import Application, Submission
from grants.calls.models import Call
from grants.core.db import db
from grants.decisions.models import Decision
from grants.evaluations.models import Assignment, EvaluationResult, Review
from grants.evaluations.rubrics import TIE_BREAKS, rubric_of
from grants.organisations.models import Organisation

#: States of applications that were (or are being) scored: the ranked list shows them.
RANKED_STATES = ("in_evaluation", "evaluated", "reserve", "approved", "rejected", "contracted", "in_implementation",
                 "final_report_submitted", "gate_review", "completed", "closed_at_gate", "terminated", "appealed")

def is_ranked() -> sa.ColumnElement[bool]:
    """Applications that were (or are being) scored: the ranked states, an appeal only against a
    rejection (one against ineligibility was never scored)."""
    return sa.or_(Application.state.in_([s for s in RANKED_STATES if s != "appealed"]),
                  sa.and_(Application.state == "appealed", Application.appealed_from == "rejected"))


#: What the ranking recommends the committee decide.
APPROVE, RESERVE, REJECT = "approved", "reserve", "rejected"


@dataclass
class RankRow:
    application_id: int
    title: str
    organisation: str
    si_stage: str
    state: str
    requested_amount: Decimal
    submitted_at: datetime | None
    final_score: Decimal | None
    reviews: int
    needs_third: bool
    discrepancy: bool
    above_threshold: bool
    failed_minima: list[str]
    decision: str | None
    decided_amount: Decimal | None
    envelope: Decimal
    rank: int | None = None
    cumulative_amount: Decimal = Decimal("0.00")
    within_budget: bool = False
    recommendation: str | None = None

    @property
    def departs(self) -> bool:
        """A decision was taken and it differs from what the ranking recommends now."""
        return self.decision is not None and self.recommendation is not None and self.decision != self.recommendation


def _query(call: Call, si_stage: str | None) -> sa.Select:
    # Each aggregate reads only this call's rows, however many other calls the database holds.
    in_call = sa.select(Application.id).where(Application.call_id == call.id).scalar_subquery()
    first = (sa.select(Submission.application_id, sa.func.min(Submission.submitted_at).label("first"))
             .where(Submission.application_id.in_(in_call)).group_by(Submission.application_id).subquery())
    # The selection's reviews and result only: a stage gate's (after award) do not move the ranking.
    reviews = (sa.select(Review.application_id, sa.func.count().label("n"))
               .join(Assignment, Assignment.id == Review.assignment_id)
               .where(Review.submitted_at.is_not(None), Review.application_id.in_(in_call),
                      Assignment.gate_stage == "")
               .group_by(Review.application_id).subquery())
    latest = (sa.select(Decision.application_id, sa.func.max(Decision.id).label("id"))
              .where(Decision.application_id.in_(in_call)).group_by(Decision.application_id).subquery())
    query = (
        sa.select(Application.id, Application.title, Organisation.name, Application.si_stage, Application.state,
                  Application.requested_amount, first.c.first,
                  EvaluationResult.final_score, EvaluationResult.above_threshold, EvaluationResult.needs_third,
                  EvaluationResult.discrepancy,
                  # As text: parsed only for the few rows that failed a minimum ("[]" for the others).
                  sa.cast(EvaluationResult.failed_minima, sa.Text), reviews.c.n, Decision.outcome,
                  Decision.amount)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(first, first.c.application_id == Application.id)
        .outerjoin(reviews, reviews.c.application_id == Application.id)
        .outerjoin(EvaluationResult, sa.and_(EvaluationResult.application_id == Application.id,
                                             EvaluationResult.gate_stage == ""))
        .outerjoin(latest, latest.c.application_id == Application.id)
        .outerjoin(Decision, Decision.id == latest.c.id)
        .where(Application.call_id == call.id, is_ranked())
    )
    if si_stage:
        query = query.where(Application.si_stage == si_stage)
    return query


def ranking(call: Call, si_stage: str | None = None) -> list[RankRow]:
    """The ranked list of ``call`` (one stage envelope when ``si_stage`` is given), stage by stage
    in the call's order."""
    envelopes = {stage.si_stage: stage.envelope for stage in call.stages}
    rows: list[RankRow] = []
    for (app_id, title, organisation, stage, state, requested, submitted_at, score, above, third,
         discrepancy, minima, reviews, outcome, amount) in db.session.execute(_query(call, si_stage)):
        rows.append(RankRow(application_id=app_id, title=title, organisation=organisation, si_stage=stage,
                            state=state, requested_amount=requested, submitted_at=submitted_at, final_score=score,
                            reviews=reviews or 0, needs_third=bool(third), discrepancy=bool(discrepancy),
                            above_threshold=bool(above) and score is not None, failed_minima=_codes(minima),
                            decision=outcome.value if outcome is not None else None, decided_amount=amount,
                            envelope=envelopes.get(stage, Decimal("0.00"))))
    tie_break = rubric_of(call.rubric).tie_break
    order = list(envelopes) + sorted({r.si_stage for r in rows} - set(envelopes))
    ranked: list[RankRow] = []
    for stage in order:
        in_stage = [r for r in rows if r.si_stage == stage]
        scored = sorted((r for r in in_stage if r.final_score is not None), key=lambda r: _key(r, tie_break))
        _walk(scored, envelopes.get(stage, Decimal("0.00")))
        ranked.extend(scored)
        ranked.extend(sorted((r for r in in_stage if r.final_score is None), key=lambda r: r.application_id))
    return ranked


def _codes(text: str | None) -> list[str]:
    if not text or text.replace(" ", "") in ("[]", "null"):
        return []
    return list(json.loads(text))


def _key(row: RankRow, tie_break: str):
    when = row.submitted_at.timestamp() if row.submitted_at is not None else float("inf")
    if tie_break == "lower_amount":
        return (-row.final_score, row.requested_amount, when, row.application_id)
    return (-row.final_score, when, row.application_id)


def _walk(scored: list[RankRow], envelope: Decimal) -> None:
    cumulative = Decimal("0.00")
    line_drawn = False
    for rank, row in enumerate(scored, start=1):
        row.rank = rank
        if not row.above_threshold:
            row.cumulative_amount, row.within_budget, row.recommendation = cumulative, False, REJECT
            continue
        if row.decision == REJECT:
            takes = Decimal("0.00")
        elif row.decision == APPROVE and row.decided_amount is not None:
            takes = row.decided_amount
        else:
            takes = row.requested_amount
        cumulative += takes
        row.cumulative_amount = cumulative
        row.within_budget = not line_drawn and cumulative <= envelope
        if not row.within_budget:
            line_drawn = True
        row.recommendation = APPROVE if row.within_budget else RESERVE


def row_for(call: Call, application_id: int) -> RankRow | None:
    """The application's row in its stage's ranking (the whole envelope has to be walked)."""
    application = db.session.get(Application, application_id)
    if application is None:
        return None
    return next((r for r in ranking(call, application.si_stage) if r.application_id == application_id), None)


def tie_break_text(call: Call) -> str:
    return str(TIE_BREAKS[rubric_of(call.rubric).tie_break])
