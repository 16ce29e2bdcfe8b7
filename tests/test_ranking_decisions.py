"""The ranked list (funding line, reserve, tie-break, threshold), the committee's decision page and the
result the applicant reads on the application's page (DESIGN §6, §7, §12 items 5 and 6)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.applications.models import Application, Submission
from grants.core.db import db
from grants.decisions.models import Decision
from grants.decisions.ranking import ranking
from grants.decisions.services import decide, today
from grants.eligibility.services import appeal_deadline
from grants.evaluations.models import Assignment
from grants.evaluations.services import auto_assign
from grants.notifications.models import OutboxMessage
from grants.notifications.services import local_time
from grants.workflows.engine import fire
from tests.conftest import csrf_token_from
from tests.factories import (
    in_evaluation,
    login,
    make_application,
    make_evaluation_call,
    make_pool,
    make_user,
    review,
)

ONE_STAGE = "idea_generation"


@pytest.fixture
def officer(app):
    return make_user("officer")


@pytest.fixture
def committee(app):
    user = make_user("committee")
    user.name = "Komisijas Loceklis Bērziņš"
    return user


def _call(envelope: str = "10000.00"):
    return make_evaluation_call(stages=((ONE_STAGE, envelope, "1000.00", "5000.00"),))


def _pool(call, officer, count: int = 2):
    evaluators = make_pool(call, count, officer)
    for n, evaluator in enumerate(evaluators, start=1):
        evaluator.name = f"Vērtētājs Ozoliņš {n}"
    return evaluators


def _score(application, officer, totals):
    auto_assign(application.call, officer)
    assignments = db.session.scalars(sa.select(Assignment).where(
        Assignment.application_id == application.id, Assignment.state == "assigned")
        .order_by(Assignment.id)).unique().all()
    for assignment, total in zip(assignments, totals, strict=False):
        review(assignment, total)
    return application


def _evaluated(call, officer, totals, **overrides):
    return _score(in_evaluation(call, officer, **overrides), officer, totals)


def _ids(rows):
    return [r.application_id for r in rows]


# --- the ranked list ---------------------------------------------------------------------------------

def test_cumulative_equal_to_the_envelope_is_within_budget(officer):
    call = _call("10000.00")
    _pool(call, officer)
    first = _evaluated(call, officer, [90, 90])
    second = _evaluated(call, officer, [80, 80])
    third = _evaluated(call, officer, [70, 70])
    rows = ranking(call)
    assert _ids(rows) == [first.id, second.id, third.id]
    assert [r.cumulative_amount for r in rows] == [Decimal("5000.00"), Decimal("10000.00"), Decimal("15000.00")]
    assert [r.within_budget for r in rows] == [True, True, False]
    assert [r.recommendation for r in rows] == ["approved", "approved", "reserve"]


def test_one_cent_over_the_envelope_goes_to_the_reserve_list(officer):
    call = _call("9999.99")
    _pool(call, officer)
    first = _evaluated(call, officer, [90, 90])
    second = _evaluated(call, officer, [80, 80])
    rows = ranking(call)
    assert _ids(rows) == [first.id, second.id]
    assert rows[1].cumulative_amount == Decimal("10000.00")
    assert [r.within_budget for r in rows] == [True, False]
    assert [r.recommendation for r in rows] == ["approved", "reserve"]


def test_equal_scores_rank_the_earlier_submission_first(officer):
    call = _call("100000.00")
    _pool(call, officer)
    # The older application (lower id) is submitted an hour later than the newer one.
    older = make_application(call)
    newer = make_application(call)
    for application in (older, newer):
        fire(application, "submit", application.organisation.memberships[0].user)
        fire(application, "declare_eligible", officer)
    submission = db.session.scalar(sa.select(Submission).where(Submission.application_id == older.id))
    submission.submitted_at = submission.submitted_at + timedelta(hours=1)
    db.session.flush()
    _score(older, officer, [80, 80])
    _score(newer, officer, [80, 80])
    top = _evaluated(call, officer, [85, 85])
    rows = ranking(call)
    assert _ids(rows) == [top.id, newer.id, older.id]
    assert [r.rank for r in rows] == [1, 2, 3]


def test_below_threshold_is_recommended_for_rejection_and_takes_no_budget(officer):
    call = _call("10000.00")
    _pool(call, officer)
    low_need = {"need": 9, "novelty": 20, "change": 20, "capacity": 15, "budget": 20}  # 84 but need below 10
    failing_minimum = _evaluated(call, officer, [low_need, low_need])
    good = _evaluated(call, officer, [80, 80])
    below = _evaluated(call, officer, [50, 50])
    rows = {r.application_id: r for r in ranking(call)}
    assert rows[failing_minimum.id].rank == 1 and rows[failing_minimum.id].recommendation == "rejected"
    assert rows[failing_minimum.id].failed_minima == ["need"] and not rows[failing_minimum.id].within_budget
    assert rows[good.id].cumulative_amount == Decimal("5000.00") and rows[good.id].recommendation == "approved"
    assert rows[below.id].recommendation == "rejected" and not rows[below.id].above_threshold


# --- the ranking page --------------------------------------------------------------------------------

def _world(officer, envelope: str = "10000.00"):
    """Four scored applications (two within the envelope, one reserve, one below the threshold) and one
    waiting for a third evaluator."""
    call = _call(envelope)
    _pool(call, officer, 2)
    apps = [_evaluated(call, officer, totals) for totals in ([90, 90], [80, 80], [70, 70], [50, 50])]
    waiting = _evaluated(call, officer, [100, 60])  # more than 30 % apart: a third evaluator
    return call, apps, waiting


@pytest.mark.parametrize("role, status", [("officer", 200), ("committee", 200), ("auditor", 200), ("admin", 200),
                                          ("applicant", 403), ("evaluator", 403), ("finance", 403)])
def test_ranking_page_is_for_officers_committee_auditors_and_admins(client, officer, role, status):
    call = _call()
    login(client, make_user(role))
    assert client.get(f"/calls/{call.id}/ranking").status_code == status


def test_ranking_page_draws_the_funding_line_and_offers_decisions_to_the_committee(app, client, officer,
                                                                                   committee):
    call, (first, second, reserve, below), waiting = _world(officer)
    login(client, committee)
    html = client.get(f"/calls/{call.id}/ranking").get_data(as_text=True)
    order = [int(n) for n in re.findall(r'<tr id="application-(\d+)"', html)]
    assert order == [first.id, second.id, reserve.id, below.id, waiting.id]
    # the funding line sits between the last row within the envelope and the reserve list
    line = html.index('data-funding-line="idea_generation"')
    assert html.index(f'id="application-{second.id}"') < line < html.index(f'id="application-{reserve.id}"')
    assert html.count('class="funding-line"') == 1
    assert re.search(rf'id="application-{reserve.id}"[^>]*data-recommendation="reserve"', html)
    assert re.search(rf'id="application-{below.id}"[^>]*data-recommendation="rejected"[^>]*'
                     r'class="ranked below-threshold"', html)
    assert 'class="needs-third"' in html
    decide_links = re.findall(r'href="/applications/(\d+)/decision"', html)
    assert sorted(int(n) for n in decide_links) == sorted([first.id, second.id, reserve.id, below.id])
    assert 'data-amount="10000.00"' in html  # the envelope and the cumulative sum at the line
    # officers see the list, without the committee's links
    other = app.test_client()
    login(other, make_user("officer"))
    assert "/decision" not in other.get(f"/calls/{call.id}/ranking").get_data(as_text=True)


def test_ranking_page_queries_do_not_grow_with_the_applications(client, officer, committee, count_queries):
    call = _call("100000.00")
    _pool(call, officer, 2)
    _evaluated(call, officer, [80, 80])
    login(client, committee)
    client.get(f"/calls/{call.id}/ranking")
    with count_queries() as small:
        assert client.get(f"/calls/{call.id}/ranking").status_code == 200
    for totals in ([90, 90], [70, 70], [50, 50], [100, 60], [85, 85]):
        _evaluated(call, officer, totals)
    decide(_first_evaluated(call), committee, {"outcome": "approved", "decided_on": today().isoformat()})
    with count_queries() as large:
        html = client.get(f"/calls/{call.id}/ranking").get_data(as_text=True)
    assert html.count('<tr id="application-') == 6
    assert large.count == small.count
    assert large.count <= 20


def _first_evaluated(call):
    row = next(r for r in ranking(call) if r.recommendation == "approved" and r.state == "evaluated")
    return db.session.get(Application, row.application_id)


# --- the decision page -------------------------------------------------------------------------------

def _post_decision(client, application, **data):
    page = client.get(f"/applications/{application.id}/decision")
    assert page.status_code == 200
    form = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), "decided_on": today().isoformat(),
            "amount": "", "conditions": "", "justification": ""}
    form.update(data)
    return client.post(f"/applications/{application.id}/decision", data=form)


def _decisions(application) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Decision)
                             .where(Decision.application_id == application.id))


@pytest.mark.parametrize("role", ["officer", "auditor", "admin", "applicant", "evaluator"])
def test_only_the_committee_opens_the_decision_page(client, officer, role):
    call = _call()
    _pool(call, officer)
    application = _evaluated(call, officer, [80, 80])
    login(client, make_user(role))
    assert client.get(f"/applications/{application.id}/decision").status_code == 403
    assert client.post(f"/applications/{application.id}/decision", data={}).status_code in (400, 403)


def test_decision_page_shows_the_row_and_defaults(client, officer, committee):
    call, (first, *_rest), _waiting = _world(officer)
    login(client, committee)
    html = client.get(f"/applications/{first.id}/decision").get_data(as_text=True)
    assert 'data-rank="1"' in html and 'data-recommendation="approved"' in html
    assert re.search(r'<input checked[^>]*name="outcome"[^>]*value="approved"', html)
    assert 'value="5000.00"' in html and f'value="{today().isoformat()}"' not in html  # the date: the committee's
    assert "Labi pamatots." in html  # the consolidated comments
    assert "Vērtētājs" not in html


def test_departure_without_justification_is_refused_and_the_input_kept(client, officer, committee):
    call, (first, second, reserve, below), _waiting = _world(officer)
    login(client, committee)
    response = _post_decision(client, reserve, outcome="approved", amount="4000.00", conditions="Precizēt budžetu.")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="justification-error"' in html
    assert "Precizēt budžetu." in html and 'value="4000.00"' in html
    assert _decisions(reserve) == 0 and reserve.state == "evaluated"
    response = _post_decision(client, reserve, outcome="approved", amount="4000.00",
                              justification="Atbrīvojās līdzekļi.")
    assert response.status_code == 302
    decision = db.session.scalar(sa.select(Decision).where(Decision.application_id == reserve.id))
    assert decision.departs_from_ranking and decision.amount == Decimal("4000.00") and decision.recommended == "reserve"
    assert decision.decided_by_id == committee.id
    db.session.refresh(reserve)
    assert reserve.state == "approved"


def test_future_decision_date_is_refused(client, officer, committee):
    call, (first, *_rest), _waiting = _world(officer)
    login(client, committee)
    response = _post_decision(client, first, outcome="approved",
                              decided_on=(today() + timedelta(days=1)).isoformat())
    assert response.status_code == 422
    assert 'id="decided_on-error"' in response.get_data(as_text=True)
    assert _decisions(first) == 0


def test_an_evaluator_of_the_application_on_the_committee_may_not_decide(client, officer, committee):
    call = _call()
    evaluators = _pool(call, officer)
    application = _evaluated(call, officer, [80, 80])
    evaluators[0].roles.append(committee.roles[0])
    db.session.flush()
    login(client, evaluators[0])
    response = _post_decision(client, application, outcome="approved")
    assert response.status_code == 409
    assert 'class="reasons"' in response.get_data(as_text=True)
    assert _decisions(application) == 0
    db.session.refresh(application)
    assert application.state == "evaluated"


# --- the applicant's result --------------------------------------------------------------------------

def test_applicant_reads_the_result_with_anonymous_feedback_and_the_appeal_deadline(client, officer, committee):
    call = _call()
    evaluators = _pool(call, officer)
    application = _evaluated(call, officer, [50, 50])
    decide(application, committee, {"outcome": "rejected", "decided_on": today().isoformat(),
                                    "justification": "Nepietiekams punktu skaits."})
    deadline = local_time(appeal_deadline(application))
    member = application.organisation.memberships[0].user
    # the members were told, with the appeal deadline
    messages = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == "decision", OutboxMessage.object_id == str(application.id))).all()
    assert [m.to_address for m in messages] == [member.email]
    assert deadline in messages[0].body
    login(client, member)
    html = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'class="decision-result outcome-rejected"' in html
    assert 'class="appeal-deadline"' in html and deadline in html
    assert "Nepietiekams punktu skaits." in html and "Labi pamatots." in html and "Kopsavilkums." in html
    assert 'data-final-score="50.00"' in html
    for person in (*evaluators, committee):
        assert person.name not in html and person.email not in html


def test_approved_result_shows_the_amount_and_conditions(app, client, officer, committee):
    call = _call()
    _pool(call, officer)
    application = _evaluated(call, officer, [90, 90])
    decide(application, committee, {"outcome": "approved", "amount": "4500.00", "decided_on": today().isoformat(),
                                    "conditions": "Iesniegt precizētu budžetu."})
    login(client, application.organisation.memberships[0].user)
    html = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'data-amount="4500.00"' in html and "Iesniegt precizētu budžetu." in html
    assert 'class="appeal-deadline"' not in html
    # staff see who decided
    staff = app.test_client()
    login(staff, make_user("officer"))
    assert committee.name in staff.get(f"/applications/{application.id}").get_data(as_text=True)


def test_application_page_without_a_decision_has_no_result(client, officer):
    call = _call()
    _pool(call, officer)
    application = _evaluated(call, officer, [90, 90])
    login(client, application.organisation.memberships[0].user)
    assert "decision-result" not in client.get(f"/applications/{application.id}").get_data(as_text=True)


def test_application_page_with_a_result_has_bounded_queries(app, officer, committee, count_queries):
    call = _call("100000.00")
    _pool(call, officer, 3)
    plain = _evaluated(call, officer, [90, 90])
    third = _evaluated(call, officer, [100, 60])
    _score(third, officer, [95])  # a third review: three reviews in, the two closest used
    assert third.state == "evaluated"
    counts = []
    for application in (plain, third):
        decide(application, committee, {"outcome": "approved", "decided_on": today().isoformat()})
        client = app.test_client()
        login(client, application.organisation.memberships[0].user)
        client.get(f"/applications/{application.id}")
        with count_queries() as counter:
            assert client.get(f"/applications/{application.id}").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 40


def test_decision_page_queries_do_not_grow_with_the_history(client, officer, committee, count_queries):
    call, (first, second, reserve, below), _waiting = _world(officer)
    decide(reserve, committee, {"outcome": "reserve", "decided_on": today().isoformat()})
    login(client, committee)
    client.get(f"/applications/{reserve.id}/decision")
    with count_queries() as small:
        assert client.get(f"/applications/{reserve.id}/decision").status_code == 200
    other = make_user("committee")
    decide(reserve, other, {"outcome": "approved", "decided_on": today().isoformat(),
                            "justification": "Atbrīvojās līdzekļi."})
    with count_queries() as large:
        html = client.get(f"/applications/{reserve.id}/decision").get_data(as_text=True)
    assert html.count("<li data-decision=") == 2 and committee.name in html
    assert large.count == small.count


@pytest.mark.parametrize("kept", [False, True], ids=["walked", "kept"])
def test_the_decision_pages_row_is_the_rankings_row(session, monkeypatch, count_queries, kept):
    """The decision page reads one row of the kept order of a large call (grants.decisions.ranking.shown_row)
    instead of ordering the whole call: the same rank, cumulative amount and recommendation as ``row_for``, in
    the same few statements for every application."""
    from bench.ranking import build
    from grants.decisions import ranking as ranking_module
    from grants.decisions.ranking import row_for, shown_row

    if kept:
        monkeypatch.setattr(ranking_module, "CACHE_FROM", 0)
    call = build(60, seed=5)
    for stage in call.stages:  # a funding line part-way down each envelope
        stage.envelope = Decimal(60 * 600)
    db.session.flush()
    db.session.expire_all()
    fields = ("application_id", "si_stage", "final_score", "above_threshold", "needs_third", "failed_minima",
              "reviews", "envelope", "rank", "cumulative_amount", "within_budget", "recommendation", "decision")
    ids = db.session.scalars(sa.select(Application.id).where(Application.call_id == call.id)).all()
    shown_row(call, ids[0])
    counts = set()
    for app_id in ids:
        expected = row_for(call, app_id)
        with count_queries() as counter:
            got = shown_row(call, app_id)
        counts.add(counter.count)
        assert (None if got is None else tuple(getattr(got, f) for f in fields)) == \
            (None if expected is None else tuple(getattr(expected, f) for f in fields)), app_id
    assert {row_for(call, app_id).recommendation for app_id in ids if row_for(call, app_id)} >= {"approved",
                                                                                                  "reserve"}
    if kept:
        assert counts == {2}  # the fingerprint, then the row's columns
