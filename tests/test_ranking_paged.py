"""The paged read of the ranking (``ranking_slice``, ``envelope_summaries``: window functions in the
database) gives exactly what the full walk (``ranking``, which decisions use) gives, row by row, for both
tie-breaks, with decisions that change what applications take (approved with less, rejected), and in a
fixed number of statements whatever the call's size."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bench.ranking import build
from grants.applications.models import Application
from grants.core.db import db, today
from grants.decisions import ranking as ranking_module
from grants.decisions.models import Decision, Outcome
from grants.decisions.ranking import envelope_summaries, ranking, ranking_slice
from grants.evaluations.models import EvaluationResult
from grants.evaluations.rubrics import default_rubric

FIELDS = ("application_id", "title", "organisation", "si_stage", "state", "requested_amount", "final_score",
          "reviews", "needs_third", "discrepancy", "above_threshold", "failed_minima", "decision", "decided_amount",
          "envelope", "rank", "cumulative_amount", "within_budget", "recommendation")


def _as_tuple(row) -> tuple:
    return tuple(getattr(row, name) for name in FIELDS)


def _call(n: int, *, tie_break: str = "earlier_submission", seed: int = 1):
    call = build(n, seed=seed)
    rng = random.Random(seed)
    decisions = db.session.scalars(sa.select(Decision).where(Decision.application_id.in_(
        sa.select(Application.id).where(Application.call_id == call.id)))).all()
    for decision in decisions:  # approved for less than asked, some for nothing at all (amount unset)
        if decision.outcome == Outcome.APPROVED and rng.random() < 0.5:
            decision.amount = (decision.amount / 2).quantize(Decimal("0.01")) if rng.random() < 0.8 else None
    if tie_break != "earlier_submission":
        call.rubric = {**default_rubric(), "tie_break": tie_break}
    # envelopes small enough that each one draws its funding line part-way down
    for stage in call.stages:
        stage.envelope = Decimal(n * 600)
    db.session.flush()
    db.session.expire_all()
    return call


@pytest.fixture(params=["direct", "kept"])
def kept(request, monkeypatch):
    """Both paths: ordered by the database on each read, and the order kept per call (large calls)."""
    if request.param == "kept":
        monkeypatch.setattr(ranking_module, "CACHE_FROM", 0)
    return request.param == "kept"


@pytest.mark.parametrize("tie_break", ["earlier_submission", "lower_amount"])
def test_pages_of_the_window_are_the_full_ranking(session, tie_break, kept):
    call = _call(240, tie_break=tie_break, seed=7)
    full = ranking(call)
    assert ranking_slice(call).total == len(full)
    paged = []
    for first in range(1, len(full) + 1, 37):
        paged += ranking_slice(call, span=(first, first + 36)).rows
    assert [_as_tuple(r) for r in paged] == [_as_tuple(r) for r in full]
    assert {r.recommendation for r in full} >= {"approved", "reserve", "rejected", None}
    # per envelope: the same rows by place within the envelope
    for code in ("idea_generation", "scaling"):
        stage = [r for r in full if r.si_stage == code]
        assert [_as_tuple(r) for r in ranking_slice(call, places={code: (3, 30)}).rows] == \
            [_as_tuple(r) for r in stage[2:30]]
        assert [_as_tuple(r) for r in ranking_slice(call, span=(2, 20), si_stage=code).rows] == \
            [_as_tuple(r) for r in stage[1:20]]


def test_envelope_summaries_are_the_totals_of_the_full_ranking(session, kept):
    call = _call(180, seed=3)
    full = ranking(call)
    summaries = envelope_summaries(call)
    assert any(s.reserve for s in summaries) and all(s.within for s in summaries)
    for summary in summaries:
        rows = [r for r in full if r.si_stage == summary.si_stage]
        scored = [r for r in rows if r.rank is not None]
        within = [r for r in scored if r.within_budget]
        assert summary.scored == len(scored) and summary.unscored == len(rows) - len(scored)
        assert summary.passing == sum(1 for r in scored if r.above_threshold)
        assert summary.within == len(within)
        assert summary.reserve == sum(1 for r in scored if r.recommendation == "reserve")
        assert summary.line_after == within[-1].rank
        assert summary.committed == within[-1].cumulative_amount <= summary.envelope
        assert summary.requested == sum(r.requested_amount for r in scored)
        assert summary.recommended == sum(r.requested_amount for r in within)
        assert summary.approved == sum((r.decided_amount if r.decided_amount is not None else r.requested_amount)
                                       for r in rows if r.decision == "approved")
        assert summary.needs_third == sum(1 for r in rows if r.rank is None and r.needs_third)
    assert envelope_summaries(call, "scaling")[0].si_stage == "scaling"


def test_top_ranks_and_places_past_the_end(session, kept):
    call = _call(120, seed=5)
    full = ranking(call)
    top = ranking_slice(call, places=dict.fromkeys(call.stage_codes, (1, 3)), scored_only=True).rows
    assert [_as_tuple(r) for r in top] == [_as_tuple(r) for r in full if r.rank is not None and r.rank <= 3]
    past = ranking_slice(call, places={"prototyping": (900, 950)}, span=(5000, 5010))
    assert past.rows == [] and past.total == len(full)
    assert [e.si_stage for e in past.envelopes] == ["idea_generation", "prototyping", "scaling"]


def test_the_paged_read_sends_two_statements_for_any_size(session, count_queries):
    counts = []
    for n in (30, 300):
        call = _call(n, seed=n)
        _ = [stage.envelope for stage in call.stages], call.rubric
        with count_queries() as counter:
            rows = ranking_slice(call, span=(11, 60)).rows
        counts.append(counter.count)
        assert len(rows) == min(50, n - 10)
    assert counts == [2, 2]  # the fingerprint, then the slice


def test_a_kept_order_follows_every_change(session, monkeypatch, count_queries):
    monkeypatch.setattr(ranking_module, "CACHE_FROM", 0)
    call = _call(90, seed=9)
    before = ranking_slice(call, span=(1, 200)).rows
    assert [_as_tuple(r) for r in before] == [_as_tuple(r) for r in ranking(call)]
    with count_queries() as kept_read:
        again = ranking_slice(call, span=(1, 200)).rows
    assert kept_read.count == 2 and [_as_tuple(r) for r in again] == [_as_tuple(r) for r in before]
    # a committee decision on the first reserve row, then a score changed, then an envelope widened
    reserve = next(r for r in before if r.recommendation == "reserve")
    db.session.add(Decision(application_id=reserve.application_id, outcome=Outcome.REJECTED, conditions="",
                            justification="Pamatojums.", decided_on=today(), decided_by_id=_committee().id,
                            recommended="reserve", departs_from_ranking=True))
    db.session.flush()
    changed = ranking_slice(call, span=(1, 200)).rows
    assert [_as_tuple(r) for r in changed] == [_as_tuple(r) for r in ranking(call)] != \
        [_as_tuple(r) for r in before]
    result = db.session.scalars(sa.select(EvaluationResult).where(
        EvaluationResult.application_id == before[-1].application_id)).first() or db.session.scalars(
        sa.select(EvaluationResult).where(EvaluationResult.call_id == call.id)).first()
    result.final_score, result.above_threshold, result.needs_third = Decimal("99.50"), True, False
    db.session.flush()
    assert [_as_tuple(r) for r in ranking_slice(call, span=(1, 200)).rows] == [_as_tuple(r) for r in ranking(call)]
    call.stages[0].envelope = call.stages[0].envelope * 3
    db.session.flush()
    assert [_as_tuple(r) for r in ranking_slice(call, span=(1, 200)).rows] == [_as_tuple(r) for r in ranking(call)]


def _committee():
    from tests.factories import make_user

    return make_user("committee")
