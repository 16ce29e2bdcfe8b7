"""Evaluation services: assignment, declarations, reviews, the 30 % rule, consolidation, ranking, decisions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.core.db import db
from grants.core.errors import Conflict, PermissionDenied, TransitionNotAllowed, UserInputError
from grants.decisions.models import Decision
from grants.decisions.ranking import ranking
from grants.decisions.services import decide, today
from grants.evaluations.models import Assignment, EvaluationResult
from grants.evaluations.rubrics import RubricError, default_rubric, validate_rubric
from grants.evaluations.services import (
    auto_assign,
    declare,
    declare_relation,
    discrepant,
    return_review,
    save_review,
    submit_review,
)
from grants.workflows.engine import fire
from tests.factories import (
    in_evaluation,
    make_evaluation_call,
    make_pool,
    make_user,
    review,
    scores_totalling,
)


@pytest.fixture
def officer(app):
    return make_user("officer")


@pytest.fixture
def committee(app):
    return make_user("committee")


def _assignments(application, *states):
    query = sa.select(Assignment).where(Assignment.application_id == application.id).order_by(Assignment.id)
    if states:
        query = query.where(Assignment.state.in_(states))
    return list(db.session.scalars(query).unique())


def _evaluated(call, officer, totals):
    """An application in ``call`` scored by len(totals) evaluators with these totals."""
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    for assignment, total in zip(_assignments(application, "assigned"), totals, strict=False):
        review(assignment, total)
    return application


# --- rubric -----------------------------------------------------------------------------------------

def test_rubric_validation_names_each_problem():
    with pytest.raises(RubricError) as refused:
        validate_rubric({"criteria": [{"code": "Bad code", "title_lv": "", "title_en": "x", "max_points": 0},
                                      {"code": "ok", "title_lv": "a", "title_en": "b", "max_points": 10,
                                       "min_points": 11}],
                         "threshold": 500, "evaluators_required": 0, "discrepancy_percent": 0,
                         "tie_break": "coin"})
    fields = refused.value.fields
    for key in ("criteria.0.code", "criteria.0.title_lv", "criteria.0.max_points", "criteria.1.min_points",
                "threshold", "evaluators_required", "discrepancy_percent", "tie_break"):
        assert key in fields, key
    assert default_rubric()["threshold"] == 60


def test_discrepancy_boundary_is_strict():
    assert not discrepant([Decimal(100), Decimal(70)], Decimal(30))  # exactly 30 % of the higher
    assert discrepant([Decimal(100), Decimal("69.99")], Decimal(30))
    assert not discrepant([Decimal(0), Decimal(0)], Decimal(30))


# --- assignment ---------------------------------------------------------------------------------------

def test_auto_assign_balances_and_avoids_conflicts(officer):
    call = make_evaluation_call()
    evaluators = make_pool(call, 3, officer)
    applications = [in_evaluation(call, officer) for _ in range(3)]
    # Evaluator 0 belongs to the first applicant organisation, evaluator 1 declared a relation with the second.
    from grants.organisations.models import Membership

    db.session.add(Membership(user_id=evaluators[0].id, organisation_id=applications[0].organisation_id))
    declare_relation(evaluators[1], applications[1].organisation_id, "Valdes loceklis")
    report = auto_assign(call, officer)
    assert len(report.created) == 6 and not report.short
    for application in applications:
        assert len(_assignments(application)) == 2
    assert evaluators[0].id not in {a.evaluator_id for a in _assignments(applications[0])}
    assert evaluators[1].id not in {a.evaluator_id for a in _assignments(applications[1])}
    loads = [len([a for a in report.created if a.evaluator_id == e.id]) for e in evaluators]
    assert sorted(loads) == [2, 2, 2]
    assert all(a.due_at > a.created_at + timedelta(days=13) for a in report.created)
    # Running again assigns nothing more.
    assert auto_assign(call, officer).created == []
    events = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action == "assignment.create")).all()
    assert len(events) == 6


def test_shortfall_is_reported_when_pool_is_too_small(officer):
    call = make_evaluation_call()
    make_pool(call, 1, officer)
    application = in_evaluation(call, officer)
    report = auto_assign(call, officer)
    assert len(report.created) == 1 and report.short == {application.id: 1}


# --- declarations -----------------------------------------------------------------------------------

def test_conflict_of_interest_gates_access_and_recusal_reassigns(client, officer):
    from tests.factories import bearer

    call = make_evaluation_call()
    evaluators = make_pool(call, 3, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    first, second = _assignments(application)
    headers = bearer(first.evaluator)
    assert client.get(f"/api/v1/applications/{application.id}", headers=headers).status_code == 403
    outsider = make_user("evaluator")
    assert client.get(f"/api/v1/applications/{application.id}", headers=bearer(outsider)).status_code == 404
    with pytest.raises(PermissionDenied):
        save_review(first, first.evaluator, scores={}, comments={}, summary="")
    declare(first, first.evaluator, False, "")
    assert first.state == "accepted" and first.has_conflict is False and first.statement
    assert client.get(f"/api/v1/applications/{application.id}", headers=headers).status_code == 200
    # Another evaluator may not declare on someone else's assignment.
    from grants.core.errors import PermissionDenied as Denied

    with pytest.raises(Denied):
        declare(second, first.evaluator, False, "")
    with pytest.raises(UserInputError):
        declare(second, second.evaluator, True, "  ")
    declare(second, second.evaluator, True, "Mana māsa vada šo biedrību.")
    assert second.state == "recused"
    replacement = _assignments(application, "assigned")
    assert len(replacement) == 1 and replacement[0].replaces_id == second.id
    assert replacement[0].evaluator_id not in (first.evaluator_id, second.evaluator_id)
    assert {e.id for e in evaluators} >= {replacement[0].evaluator_id}
    assert client.get(f"/api/v1/applications/{application.id}", headers=bearer(second.evaluator)).status_code == 403


# --- reviews ----------------------------------------------------------------------------------------

def test_review_scores_are_checked_and_submission_locks(officer):
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    assignment = _assignments(application)[0]
    declare(assignment, assignment.evaluator, False, "")
    for bad in ({"need": 26}, {"need": -1}, {"need": "x"}, {"unknown": 1}, {"need": 1.555}, {"need": True}):
        with pytest.raises(UserInputError):
            save_review(assignment, assignment.evaluator, scores=bad, comments={}, summary="")
    save_review(assignment, assignment.evaluator, scores={"need": 25, "novelty": 12.5}, comments={}, summary="")
    assert assignment.review.total == Decimal("37.50")
    with pytest.raises(TransitionNotAllowed) as refused:
        submit_review(assignment, assignment.evaluator)
    assert {r["code"] for r in refused.value.reasons} == {"review_incomplete"}
    assert assignment.review.total == Decimal("37.50")  # the draft is kept
    review(assignment, 80)
    assert assignment.state == "submitted" and assignment.review.submitted_at is not None
    assert assignment.review.content_hash == application.latest_submission.content_hash
    with pytest.raises(Conflict):
        save_review(assignment, assignment.evaluator, scores={"need": 1}, comments={}, summary="x")
    return_review(assignment, officer, "Lūdzu, pamatojiet kritēriju “Budžets”.")
    assert assignment.state == "accepted" and assignment.review.submitted_at is None
    save_review(assignment, assignment.evaluator, scores=scores_totalling(81), comments={}, summary="Labots.")


# --- consolidation ----------------------------------------------------------------------------------

def test_exactly_thirty_percent_does_not_bring_a_third_evaluator(officer):
    call = make_evaluation_call()
    make_pool(call, 3, officer)
    application = _evaluated(call, officer, [100, 70])
    assert application.state == "evaluated"
    result = db.session.scalar(sa.select(EvaluationResult).where(EvaluationResult.application_id == application.id))
    assert result.final_score == Decimal("85.00") and not result.needs_third and result.above_threshold
    assert len(_assignments(application)) == 2
    completed = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "application.complete_evaluation",
        AuditEvent.object_id == str(application.id))).one()
    assert completed.actor_id is None and completed.role == "system"


def test_above_thirty_percent_brings_a_third_and_averages_the_two_closest(officer):
    call = make_evaluation_call()
    make_pool(call, 3, officer)
    application = _evaluated(call, officer, [100, 69])
    assert application.state == "in_evaluation"
    result = db.session.scalar(sa.select(EvaluationResult).where(EvaluationResult.application_id == application.id))
    assert result.needs_third and result.final_score is None
    third = _assignments(application, "assigned")
    assert len(third) == 1 and third[0].reason == "third" and third[0].assigned_by_id is None
    review(third[0], 90)
    assert application.state == "evaluated"
    db.session.refresh(result)
    assert result.final_score == Decimal("95.00") and not result.needs_third and result.discrepancy
    assert len(result.review_ids) == 2


def test_criterion_minimum_and_threshold_fail(officer):
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    low_need = {"need": 9, "novelty": 20, "change": 20, "capacity": 15, "budget": 20}  # 84, need below 10
    application = _evaluated(call, officer, [low_need, low_need])
    result = db.session.scalar(sa.select(EvaluationResult).where(EvaluationResult.application_id == application.id))
    assert result.final_score == Decimal("84.00") and result.failed_minima == ["need"] and not result.above_threshold
    below = _evaluated(call, officer, [59, 59])
    result = db.session.scalar(sa.select(EvaluationResult).where(EvaluationResult.application_id == below.id))
    assert not result.above_threshold and result.failed_minima == []


# --- ranking and decisions ----------------------------------------------------------------------------

def test_ranking_draws_the_funding_line(officer):
    call = make_evaluation_call(stages=(("idea_generation", "12000.00", "1000.00", "10000.00"),))
    make_pool(call, 2, officer)
    top = _evaluated(call, officer, [90, 90])
    second = _evaluated(call, officer, [80, 80])
    tie = _evaluated(call, officer, [80, 80])
    failing = _evaluated(call, officer, [50, 50])
    waiting = in_evaluation(call, officer)
    rows = ranking(call)
    assert [r.application_id for r in rows] == [top.id, second.id, tie.id, failing.id, waiting.id]
    assert [r.rank for r in rows] == [1, 2, 3, 4, None]
    assert [r.cumulative_amount for r in rows[:3]] == [Decimal("5000.00"), Decimal("10000.00"), Decimal("15000.00")]
    assert [r.within_budget for r in rows] == [True, True, False, False, False]
    assert [r.recommendation for r in rows] == ["approved", "approved", "reserve", "rejected", None]


def test_decisions_need_date_justification_and_separation_of_duties(officer, committee):
    call = make_evaluation_call(stages=(("idea_generation", "5000.00", "1000.00", "5000.00"),))
    evaluators = make_pool(call, 2, officer)
    first = _evaluated(call, officer, [90, 90])
    second = _evaluated(call, officer, [80, 80])
    with pytest.raises(UserInputError) as refused:
        decide(first, committee, {"outcome": "approved", "decided_on": (today() + timedelta(days=1)).isoformat()})
    assert "decided_on" in refused.value.fields
    with pytest.raises(UserInputError) as refused:
        decide(second, committee, {"outcome": "approved", "decided_on": today().isoformat()})
    assert "justification" in refused.value.fields and second.state == "evaluated"
    with pytest.raises(UserInputError):
        decide(first, committee, {"outcome": "approved", "amount": "6000.00", "decided_on": today().isoformat()})
    decision = decide(first, committee, {"outcome": "approved", "amount": "4500.00", "decided_on": today().isoformat(),
                                         "conditions": "Precizēt budžetu."})
    assert first.state == "approved" and decision.amount == Decimal("4500.00") and not decision.departs_from_ranking
    assert decision.recommended == "approved" and decision.rank == 1
    # An evaluator who also sits on the committee may not decide what they evaluated.
    evaluators[0].roles.append(committee.roles[0])
    with pytest.raises(TransitionNotAllowed) as refused:
        decide(second, evaluators[0], {"outcome": "reserve", "decided_on": today().isoformat()})
    assert refused.value.reasons[0]["code"] == "separation_of_duties"
    decision = decide(second, committee, {"outcome": "reserve", "decided_on": today().isoformat()})
    assert second.state == "reserve" and decision.recommended == "reserve"
    # The direct transition without a decision record is refused.
    with pytest.raises(TransitionNotAllowed):
        fire(second, "approve", committee)
    decision = decide(second, committee, {"outcome": "approved", "decided_on": today().isoformat(),
                                          "justification": "Atbrīvojās līdzekļi no cita konkursa."})
    assert decision.departs_from_ranking and second.state == "approved"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 3
