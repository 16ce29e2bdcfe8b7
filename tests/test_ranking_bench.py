"""The ranking benchmark's promise, kept small enough for the suite: the data it builds with bulk inserts
ranks as the application would rank it, and ``ranking`` sends the same statements for 30 applications
as for 300."""

from __future__ import annotations

from bench.ranking import QUERY_BUDGET, STAGES, build, describe
from grants.decisions.ranking import ranking


def _ranked(session, count_queries, n: int):
    call = build(n, seed=n)
    session.expire_all()
    _ = [stage.envelope for stage in call.stages]
    with count_queries() as counter:
        rows = ranking(call)
    return counter.count, rows


def test_the_bench_builds_a_ranked_call_with_a_bounded_number_of_statements(session, count_queries):
    few, few_rows = _ranked(session, count_queries, 30)
    many, rows = _ranked(session, count_queries, 300)
    assert many == few <= QUERY_BUDGET
    assert len(few_rows) == 30 and len(rows) == 300
    # stage by stage in the call's order, scored rows first, ranked by score
    order = [code for code, _share, _envelope in STAGES]
    assert [order.index(r.si_stage) for r in rows] == sorted(order.index(r.si_stage) for r in rows)
    for code in order:
        stage = [r for r in rows if r.si_stage == code]
        scored = [r for r in stage if r.rank is not None]
        assert [r.rank for r in scored] == list(range(1, len(scored) + 1))
        assert all(r.rank is None for r in stage[len(scored):])
        assert [r.final_score for r in scored] == sorted((r.final_score for r in scored), reverse=True)
    assert {r.recommendation for r in rows} >= {"approved", "rejected", None}
    assert any(r.needs_third for r in rows) and any(r.decision for r in rows)
    assert "300 rows" in describe(rows)
