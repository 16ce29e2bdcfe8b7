"""API: the ranked list of a call and the committee's decisions (API.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.core.db import db
from grants.decisions.models import Decision
from grants.decisions.services import decide, today
from grants.eligibility.services import appeal_deadline
from grants.evaluations.models import Assignment
from grants.evaluations.services import auto_assign
from grants.notifications.models import OutboxMessage
from grants.notifications.services import local_time
from tests.factories import bearer, in_evaluation, make_evaluation_call, make_pool, make_user, review

CONTRACT_FIELDS = {"application_id", "final_score", "reviews", "needs_third", "above_threshold", "cumulative_amount",
                   "within_budget"}


@pytest.fixture
def officer(app):
    return make_user("officer")


@pytest.fixture
def committee(app):
    user = make_user("committee")
    user.name = "Komisijas Loceklis Bērziņš"
    return user


def _pool(call, officer, count: int = 2):
    evaluators = make_pool(call, count, officer)
    for n, evaluator in enumerate(evaluators, start=1):
        evaluator.name = f"Vērtētājs Ozoliņš {n}"
    return evaluators


def _evaluated(call, officer, totals):
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    assignments = db.session.scalars(sa.select(Assignment).where(
        Assignment.application_id == application.id, Assignment.state == "assigned")
        .order_by(Assignment.id)).unique().all()
    for assignment, total in zip(assignments, totals, strict=False):
        review(assignment, total)
    return application


def _world(officer, envelope: str = "10000.00"):
    call = make_evaluation_call(stages=(("idea_generation", envelope, "1000.00", "5000.00"),
                                        ("prototyping", "20000.00", "1000.00", "10000.00")))
    evaluators = _pool(call, officer)
    first = _evaluated(call, officer, [90, 90])
    second = _evaluated(call, officer, [80, 80])
    reserve = _evaluated(call, officer, [70, 70])
    below = _evaluated(call, officer, [50, 50])
    waiting = _evaluated(call, officer, [100, 60])
    return call, evaluators, (first, second, reserve, below, waiting)


# --- ranking -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, status", [("officer", 200), ("committee", 200), ("auditor", 200), ("admin", 200),
                                          ("applicant", 403), ("evaluator", 403), ("finance", 403)])
def test_ranking_roles(client, role, status):
    call = make_evaluation_call()
    assert client.get(f"/api/v1/calls/{call.id}/ranking", headers=bearer(make_user(role))).status_code == status


def test_ranking_needs_a_token_and_a_known_call(client):
    call = make_evaluation_call()
    assert client.get(f"/api/v1/calls/{call.id}/ranking").status_code == 401
    assert client.get("/api/v1/calls/999999/ranking", headers=bearer(make_user("officer"))).status_code == 404


def test_ranking_shape_funding_line_and_reserve(client, officer):
    call, _evaluators, (first, second, reserve, below, waiting) = _world(officer)
    response = client.get(f"/api/v1/calls/{call.id}/ranking", headers=bearer(officer))
    assert response.status_code == 200
    rows = response.get_json()
    assert isinstance(rows, list)  # a bare list, as API.md shows
    assert [r["application_id"] for r in rows] == [first.id, second.id, reserve.id, below.id, waiting.id]
    for row in rows:
        assert set(row) >= CONTRACT_FIELDS
        assert isinstance(row["cumulative_amount"], str) and isinstance(row["reviews"], int)
    assert [r["final_score"] for r in rows] == [90.0, 80.0, 70.0, 50.0, None]
    assert [r["cumulative_amount"] for r in rows[:3]] == ["5000.00", "10000.00", "15000.00"]
    assert [r["within_budget"] for r in rows] == [True, True, False, False, False]
    assert [r["recommendation"] for r in rows] == ["approved", "approved", "reserve", "rejected", None]
    assert [r["above_threshold"] for r in rows] == [True, True, True, False, False]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, None]
    assert rows[4]["needs_third"] is True and rows[4]["reviews"] == 2
    assert rows[0]["envelope"] == "10000.00" and rows[0]["si_stage"] == "idea_generation"
    assert rows[0]["requested_amount"] == "5000.00" and rows[0]["state"] == "evaluated"
    assert rows[0]["decision"] is None and rows[0]["failed_minima"] == []


def test_ranking_stage_filter(client, officer):
    call, _evaluators, _apps = _world(officer)
    headers = bearer(officer)
    assert client.get(f"/api/v1/calls/{call.id}/ranking?si_stage=prototyping", headers=headers).get_json() == []
    assert len(client.get(f"/api/v1/calls/{call.id}/ranking?si_stage=idea_generation", headers=headers)
               .get_json()) == 5
    response = client.get(f"/api/v1/calls/{call.id}/ranking?si_stage=scaling", headers=headers)
    assert response.status_code == 422 and "si_stage" in response.get_json()["fields"]


def test_ranking_queries_do_not_grow(client, officer, count_queries):
    call = make_evaluation_call(stages=(("idea_generation", "100000.00", "1000.00", "5000.00"),))
    _pool(call, officer)
    _evaluated(call, officer, [80, 80])
    headers = bearer(officer)
    client.get(f"/api/v1/calls/{call.id}/ranking", headers=headers)
    with count_queries() as small:
        client.get(f"/api/v1/calls/{call.id}/ranking", headers=headers)
    for totals in ([90, 90], [70, 70], [50, 50], [100, 60]):
        _evaluated(call, officer, totals)
    with count_queries() as large:
        assert len(client.get(f"/api/v1/calls/{call.id}/ranking", headers=headers).get_json()) == 5
    assert large.count == small.count


# --- recording a decision ----------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["officer", "auditor", "admin", "applicant", "evaluator", "finance"])
def test_only_the_committee_decides(client, officer, role):
    call, _evaluators, (first, *_rest) = _world(officer)
    response = client.post(f"/api/v1/applications/{first.id}/decision", json={"outcome": "approved"},
                           headers=bearer(make_user(role)))
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0


def test_decision_follows_the_ranking(client, officer, committee):
    call, _evaluators, (first, *_rest) = _world(officer)
    response = client.post(f"/api/v1/applications/{first.id}/decision", headers=bearer(committee),
                           json={"outcome": "approved", "amount": "4500.00", "conditions": "Precizēt budžetu."})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["outcome"] == "approved" and body["amount"] == "4500.00" and body["state"] == "approved"
    assert body["decided_on"] == today().isoformat()  # the API defaults to today
    assert body["decided_by"] == committee.name and body["recommended"] == "approved" and body["rank"] == 1
    assert body["final_score"] == 90.0 and body["departs_from_ranking"] is False
    assert body["conditions"] == "Precizēt budžetu." and body["application_id"] == first.id
    assert db.session.get(Decision, body["id"]).decided_by_id == committee.id


def test_departure_needs_a_justification(client, officer, committee):
    call, _evaluators, (first, second, reserve, below, waiting) = _world(officer)
    headers = bearer(committee)
    response = client.post(f"/api/v1/applications/{reserve.id}/decision", headers=headers,
                           json={"outcome": "approved"})
    assert response.status_code == 422
    assert "justification" in response.get_json()["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0
    response = client.post(f"/api/v1/applications/{reserve.id}/decision", headers=headers,
                           json={"outcome": "approved", "justification": "Atbrīvojās līdzekļi."})
    assert response.status_code == 201
    body = response.get_json()
    assert body["departs_from_ranking"] is True and body["recommended"] == "reserve"
    assert body["justification"] == "Atbrīvojās līdzekļi." and body["amount"] == "5000.00"


def test_future_date_and_bad_input_are_422(client, officer, committee):
    call, _evaluators, (first, *_rest) = _world(officer)
    headers = bearer(committee)
    tomorrow = (today() + timedelta(days=1)).isoformat()
    for payload, field in (({"outcome": "approved", "decided_on": tomorrow}, "decided_on"),
                           ({"outcome": "approved", "amount": "6000.00"}, "amount"),
                           ({"outcome": "reserve", "amount": "100.00"}, "amount"),
                           ({"outcome": "maybe"}, "outcome"),
                           ({"outcome": "approved", "decided_on": "31.12.2026"}, "decided_on")):
        response = client.post(f"/api/v1/applications/{first.id}/decision", headers=headers, json=payload)
        assert response.status_code == 422, payload
        assert field in response.get_json()["fields"], payload
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0


def test_not_decidable_state_is_409_and_unknown_is_404(client, officer, committee):
    call, _evaluators, (*_scored, waiting) = _world(officer)
    headers = bearer(committee)
    response = client.post(f"/api/v1/applications/{waiting.id}/decision", headers=headers,
                           json={"outcome": "approved"})
    assert response.status_code == 409
    assert client.post("/api/v1/applications/999999/decision", headers=headers,
                       json={"outcome": "approved"}).status_code == 404


def test_separation_of_duties_is_409_with_reasons(client, officer, committee):
    call, evaluators, (first, *_rest) = _world(officer)
    evaluators[0].roles.append(committee.roles[0])
    db.session.flush()
    response = client.post(f"/api/v1/applications/{first.id}/decision", headers=bearer(evaluators[0]),
                           json={"outcome": "approved"})
    assert response.status_code == 409
    assert [r["code"] for r in response.get_json()["reasons"]] == ["separation_of_duties"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0
    assert first.state == "evaluated"


# --- reading the decision ----------------------------------------------------------------------------

def test_applicant_reads_the_rejection_with_feedback_and_deadline_without_names(client, officer, committee):
    call, evaluators, (first, second, reserve, below, waiting) = _world(officer)
    response = client.post(f"/api/v1/applications/{below.id}/decision", headers=bearer(committee),
                           json={"outcome": "rejected", "justification": "Zem slieksņa."})
    assert response.status_code == 201 and response.get_json()["state"] == "rejected"
    member = below.organisation.memberships[0].user
    response = client.get(f"/api/v1/applications/{below.id}/decision", headers=bearer(member))
    assert response.status_code == 200
    body = response.get_json()
    assert body["outcome"] == "rejected" and body["justification"] == "Zem slieksņa."
    assert "decided_by" not in body
    deadline = datetime.fromisoformat(body["appeal_deadline"])
    assert deadline.utcoffset() is not None
    assert abs(deadline - appeal_deadline(below)) < timedelta(seconds=1)
    feedback = body["feedback"]
    assert feedback["final_score"] == 50.0 and feedback["max_total"] == 100.0 and feedback["threshold"] == 60.0
    assert feedback["above_threshold"] is False
    need = next(c for c in feedback["criteria"] if c["code"] == "need")
    assert need["points"] == 25 and need["comments"] == ["Labi pamatots.", "Labi pamatots."]
    assert feedback["summaries"] == ["Kopsavilkums.", "Kopsavilkums."]
    text = response.get_data(as_text=True)
    for person in (*evaluators, committee):
        assert person.name not in text and person.email not in text
        assert f'"evaluator_id": {person.id}' not in text
    # the members were told, with the appeal deadline
    messages = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == "decision", OutboxMessage.object_id == str(below.id))).all()
    assert [m.to_address for m in messages] == [member.email]
    assert local_time(appeal_deadline(below)) in messages[0].body
    # staff see the committee member's name; no deadline on an approval
    decide(first, committee, {"outcome": "approved", "decided_on": today().isoformat()})
    staff = client.get(f"/api/v1/applications/{first.id}/decision", headers=bearer(officer)).get_json()
    assert staff["decided_by"] == committee.name and staff["appeal_deadline"] is None
    assert staff["amount"] == "5000.00"


def test_reading_without_decision_or_access_is_404(client, officer, committee):
    call, _evaluators, (first, *_rest) = _world(officer)
    member = first.organisation.memberships[0].user
    assert client.get(f"/api/v1/applications/{first.id}/decision", headers=bearer(member)).status_code == 404
    decide(first, committee, {"outcome": "approved", "decided_on": today().isoformat()})
    stranger = make_user("applicant")
    assert client.get(f"/api/v1/applications/{first.id}/decision", headers=bearer(stranger)).status_code == 404
    assert client.get(f"/api/v1/applications/{first.id}/decision", headers=bearer(member)).status_code == 200
    assert Decimal(client.get(f"/api/v1/applications/{first.id}/decision", headers=bearer(member))
                   .get_json()["amount"]) == Decimal("5000.00")


def test_decision_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/applications/{application_id}/decision"])
    assert "get" in paths["/api/v1/calls/{call_id}/ranking"]
