"""The officer's evaluation API: rubric, evaluator pool, assignments, reassignment, the dashboard."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.calls.models import CallStatus
from grants.core.db import db
from grants.evaluations.models import Assignment, PoolMember
from grants.evaluations.rubrics import default_rubric
from grants.evaluations.services import auto_assign
from grants.organisations.models import Membership
from tests.factories import bearer, in_evaluation, make_evaluation_call, make_pool, make_user, review


@pytest.fixture
def officer(app):
    return make_user("officer")


@pytest.fixture
def headers(officer):
    return bearer(officer)


def _assignments(application, *states):
    query = sa.select(Assignment).where(Assignment.application_id == application.id).order_by(Assignment.id)
    if states:
        query = query.where(Assignment.state.in_(states))
    return list(db.session.scalars(query).unique())


def _events(action: str, object_id) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action,
                                                               AuditEvent.object_id == str(object_id))))


# --- the rubric ---------------------------------------------------------------------------------------

def test_read_and_replace_a_draft_rubric(client, headers, officer):
    call = make_evaluation_call(status=CallStatus.DRAFT)
    read = client.get(f"/api/v1/calls/{call.id}/rubric", headers=headers)
    assert read.status_code == 200
    body = read.json
    assert body["editable"] is True and len(body["rubric_hash"]) == 64
    assert [c["code"] for c in body["criteria"]] == ["need", "novelty", "change", "capacity", "budget"]
    assert body["threshold"] == 60 and body["evaluators_required"] == 2
    body["threshold"] = 50
    body["evaluators_required"] = 3
    body["criteria"] = body["criteria"][:4]
    saved = client.put(f"/api/v1/calls/{call.id}/rubric", json=body, headers=headers)
    assert saved.status_code == 200, saved.json
    assert saved.json["threshold"] == 50 and len(saved.json["criteria"]) == 4
    assert saved.json["rubric_hash"] != body["rubric_hash"]
    db.session.refresh(call)
    assert call.rubric["evaluators_required"] == 3 and "editable" not in call.rubric
    [event] = _events("call.rubric_update", call.id)
    assert event.actor_id == officer.id
    assert event.payload["changes"]["threshold"] == [60, 50]
    assert event.payload["changes"]["evaluators_required"] == [2, 3]
    # The hash read before is stale now.
    stale = client.put(f"/api/v1/calls/{call.id}/rubric", json=body, headers=headers)
    assert stale.status_code == 409 and stale.json["error"] == "conflict"


def test_a_bad_rubric_gets_422_naming_the_fields(client, headers):
    call = make_evaluation_call(status=CallStatus.DRAFT)
    rubric = default_rubric()
    rubric["criteria"][1]["max_points"] = "many"
    rubric["criteria"][2]["code"] = "Bad Code"
    rubric["threshold"] = 1000
    rubric["stages"] = {"scaling": {"criteria": [], "threshold": 1}}
    response = client.put(f"/api/v1/calls/{call.id}/rubric", json=rubric, headers=headers)
    assert response.status_code == 422
    fields = response.json["fields"]
    for key in ("criteria.1.max_points", "criteria.2.code", "threshold", "stages.scaling"):
        assert key in fields, key
    empty = client.put(f"/api/v1/calls/{call.id}/rubric", json={}, headers=headers)
    assert empty.status_code == 422 and "criteria" in empty.json["fields"]
    db.session.refresh(call)
    assert call.rubric == default_rubric()


def test_a_published_rubric_is_not_editable(client, headers):
    call = make_evaluation_call()
    read = client.get(f"/api/v1/calls/{call.id}/rubric", headers=headers)
    assert read.status_code == 200 and read.json["editable"] is False
    rubric = default_rubric() | {"threshold": 10}
    refused = client.put(f"/api/v1/calls/{call.id}/rubric", json=rubric, headers=headers)
    assert refused.status_code == 409 and refused.json["error"] == "not_editable"
    db.session.refresh(call)
    assert call.rubric["threshold"] == 60
    assert client.get("/api/v1/calls/999999/rubric", headers=headers).status_code == 404


def test_rubric_permissions(client):
    call = make_evaluation_call(status=CallStatus.DRAFT)
    url = f"/api/v1/calls/{call.id}/rubric"
    assert client.get(url).status_code == 401
    for role in ("applicant", "evaluator"):
        assert client.get(url, headers=bearer(make_user(role))).status_code == 403
    auditor = bearer(make_user("auditor"))
    assert client.get(url, headers=auditor).status_code == 200
    assert client.put(url, json=default_rubric(), headers=auditor).status_code == 403
    assert client.put(url, json=default_rubric(), headers=bearer(make_user("admin"))).status_code == 200


# --- the pool -----------------------------------------------------------------------------------------

def test_pool_add_list_remove(client, headers, officer):
    call = make_evaluation_call()
    evaluator = make_user("evaluator", name="Eva")
    url = f"/api/v1/calls/{call.id}/evaluators"
    added = client.post(url, json={"user_id": evaluator.id}, headers=headers)
    assert added.status_code == 201
    assert added.json["user_id"] == evaluator.id and added.json["open_assignments"] == 0
    assert len(_events("call.evaluator_added", call.id)) == 1
    for bad in (make_user("applicant").id, 999999):
        refused = client.post(url, json={"user_id": bad}, headers=headers)
        assert refused.status_code == 422 and "user_id" in refused.json["fields"]
    assert client.post(url, json={}, headers=headers).status_code == 422
    in_evaluation(call, officer)
    auto_assign(call, officer)
    listed = client.get(url, headers=headers)
    assert listed.status_code == 200 and listed.json["total"] == 1 and listed.json["page"] == 1
    [item] = listed.json["items"]
    assert item["user_id"] == evaluator.id and item["open_assignments"] == 1 and item["open_in_call"] == 1
    assert client.delete(f"{url}/{evaluator.id}", headers=headers).status_code == 204
    assert db.session.scalars(sa.select(PoolMember).where(PoolMember.call_id == call.id)).all() == []
    assert client.delete(f"{url}/{evaluator.id}", headers=headers).status_code == 404


def test_pool_permissions(client):
    call = make_evaluation_call()
    url = f"/api/v1/calls/{call.id}/evaluators"
    evaluator = make_user("evaluator")
    auditor = bearer(make_user("auditor"))
    assert client.get(url, headers=auditor).status_code == 200
    assert client.post(url, json={"user_id": evaluator.id}, headers=auditor).status_code == 403
    for role in ("applicant", "evaluator", "committee"):
        assert client.get(url, headers=bearer(make_user(role))).status_code == 403


# --- assignments ----------------------------------------------------------------------------------------

def test_auto_assign_reports_created_and_short_and_avoids_the_applicant(client, headers, officer):
    call = make_evaluation_call()
    evaluators = make_pool(call, 2, officer)
    first, second = in_evaluation(call, officer), in_evaluation(call, officer)
    db.session.add(Membership(user_id=evaluators[0].id, organisation_id=first.organisation_id))
    db.session.flush()
    response = client.post(f"/api/v1/calls/{call.id}/assignments/auto", headers=headers)
    assert response.status_code == 200
    body = response.json
    assert body["created"] == 3 and len(body["assignments"]) == 3
    assert body["short"] == [{"application_id": first.id, "missing": 1}]
    assert {a["evaluator_id"] for a in body["assignments"] if a["application_id"] == first.id} == {evaluators[1].id}
    assert all(a["due_at"] and a["id"] for a in body["assignments"])
    again = client.post(f"/api/v1/calls/{call.id}/assignments/auto", headers=headers)
    assert again.json["created"] == 0 and again.json["short"] == [{"application_id": first.id, "missing": 1}]
    assert client.post(f"/api/v1/calls/{call.id}/assignments/auto",
                       headers=bearer(make_user("auditor"))).status_code == 403
    assert second.id in {a["application_id"] for a in body["assignments"]}


def test_list_assignments_pages_and_shows_submitted_totals_only(client, headers, officer):
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    done, draft = _assignments(application)
    review(done, 80)
    review(draft, 40, submit=False)
    listed = client.get(f"/api/v1/calls/{call.id}/assignments", headers=headers)
    assert listed.status_code == 200 and listed.json["total"] == 2
    items = {item["id"]: item for item in listed.json["items"]}
    assert items[done.id]["total"] == 80 and items[done.id]["status"] == "submitted"
    assert items[draft.id]["total"] is None and items[draft.id]["status"] == "accepted"
    assert items[draft.id]["evaluator"] == draft.evaluator.name and items[draft.id]["overdue"] is False
    assert items[draft.id]["reason"] == "auto" and items[draft.id]["application_id"] == application.id
    paged = client.get(f"/api/v1/calls/{call.id}/assignments?per_page=1&page=2", headers=headers).json
    assert paged["total"] == 2 and paged["page"] == 2 and len(paged["items"]) == 1
    filtered = client.get(f"/api/v1/calls/{call.id}/assignments?status=submitted", headers=headers).json
    assert [item["id"] for item in filtered["items"]] == [done.id]
    assert client.get(f"/api/v1/calls/{call.id}/assignments",
                      headers=bearer(make_user("auditor"))).status_code == 200
    assert client.get(f"/api/v1/calls/{call.id}/assignments",
                      headers=bearer(done.evaluator)).status_code == 403


def test_reassign_needs_a_comment_is_audited_and_replaces(client, headers, officer):
    call = make_evaluation_call()
    make_pool(call, 3, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    first = _assignments(application)[0]
    url = f"/api/v1/assignments/{first.id}/reassign"
    for body in ({}, {"comment": ""}, {"comment": "   "}):
        refused = client.post(url, json=body, headers=headers)
        assert refused.status_code == 422 and "comment" in refused.json["fields"], body
    db.session.refresh(first)
    assert first.state == "assigned"
    response = client.post(url, json={"comment": "Atvaļinājumā."}, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["withdrawn"]["id"] == first.id and response.json["withdrawn"]["status"] == "withdrawn"
    replacement = response.json["replacement"]
    assert replacement["status"] == "assigned" and replacement["replaces_id"] == first.id
    assert replacement["evaluator_id"] != first.evaluator_id
    [event] = _events("assignment.withdraw_assignment", first.id)
    assert event.comment == "Atvaļinājumā." and event.actor_id == officer.id
    again = client.post(url, json={"comment": "Vēlreiz."}, headers=headers)
    assert again.status_code == 409
    assert client.post("/api/v1/assignments/999999/reassign", json={"comment": "x"},
                       headers=headers).status_code == 404


def test_reassign_to_a_chosen_or_conflicted_evaluator(client, headers, officer):
    call = make_evaluation_call()
    evaluators = make_pool(call, 4, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    first = _assignments(application)[0]
    free = [e for e in evaluators if e.id not in {a.evaluator_id for a in _assignments(application)}]
    db.session.add(Membership(user_id=free[0].id, organisation_id=application.organisation_id))
    db.session.flush()
    url = f"/api/v1/assignments/{first.id}/reassign"
    refused = client.post(url, json={"comment": "Cits.", "evaluator_id": free[0].id}, headers=headers)
    assert refused.status_code == 422 and "evaluator_id" in refused.json["fields"]
    db.session.refresh(first)
    assert first.state == "assigned"
    chosen = client.post(url, json={"comment": "Cits.", "evaluator_id": free[1].id}, headers=headers)
    assert chosen.status_code == 200 and chosen.json["replacement"]["evaluator_id"] == free[1].id


def test_reassign_without_anyone_free_withdraws_and_reports_no_replacement(client, headers, officer):
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    first = _assignments(application)[0]
    response = client.post(f"/api/v1/assignments/{first.id}/reassign", json={"comment": "Slims."}, headers=headers)
    assert response.status_code == 200 and response.json["replacement"] is None
    dashboard = client.get(f"/api/v1/calls/{call.id}/evaluation", headers=headers).json
    assert dashboard["short"] == [{"application_id": application.id, "title": application.title, "assigned": 1,
                                   "missing": 1}]


def test_return_a_review(client, headers, officer):
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    submitted = review(_assignments(application)[0], 75)
    url = f"/api/v1/assignments/{submitted.id}/return"
    assert client.post(url, json={"comment": " "}, headers=headers).status_code == 422
    assert client.post(url, json={"comment": "Labot."}, headers=bearer(submitted.evaluator)).status_code == 403
    response = client.post(url, json={"comment": "Pamatojiet budžetu."}, headers=headers)
    assert response.status_code == 200 and response.json["status"] == "accepted" and response.json["total"] is None
    assert len(_events("assignment.return_review", submitted.id)) == 1
    assert client.post(url, json={"comment": "Vēlreiz."}, headers=headers).status_code == 409


# --- the dashboard ------------------------------------------------------------------------------------

def test_dashboard_data_for_a_small_scenario(client, headers, officer):
    call = make_evaluation_call()
    make_pool(call, 3, officer)
    disputed = in_evaluation(call, officer)
    auto_assign(call, officer)
    for assignment, total in zip(_assignments(disputed), (100, 69), strict=True):
        review(assignment, total)
    waiting = in_evaluation(call, officer)
    response = client.get(f"/api/v1/calls/{call.id}/evaluation", headers=headers)
    assert response.status_code == 200
    body = response.json
    assert body["applications"] == 2
    assert body["funnel"] == [{"state": "in_evaluation", "label": body["funnel"][0]["label"], "count": 2}]
    assert body["progress"]["reviews_submitted"] == 2 and body["progress"]["reviews_required"] == 5
    assert body["progress"]["assignments"]["assigned"] == 1 and body["progress"]["assignments"]["submitted"] == 2
    assert body["discrepancies"] == [{"application_id": disputed.id, "title": disputed.title,
                                      "totals": [100.0, 69.0], "third_assigned": True}]
    assert body["short"] == [{"application_id": waiting.id, "title": waiting.title, "assigned": 0, "missing": 2}]
    assert body["envelopes"] == [{"si_stage": "idea_generation", "envelope": "100000.00", "requested": "0.00",
                                  "recommended": "0.00", "approved": "0.00", "scored": 0}]
    assert body["overdue"] == [] and body["top"] == []
    # Once the third evaluator scores, the application is ranked and its amount counts.
    [third] = _assignments(disputed, "assigned")
    review(third, 90)
    body = client.get(f"/api/v1/calls/{call.id}/evaluation", headers=headers).json
    assert body["discrepancies"] == []
    assert body["top"][0]["application_id"] == disputed.id and body["top"][0]["final_score"] == 95.0
    assert body["envelopes"][0]["requested"] == "5000.00" and body["envelopes"][0]["recommended"] == "5000.00"
    states = {item["state"]: item["count"] for item in body["funnel"]}
    assert states == {"in_evaluation": 1, "evaluated": 1}


def test_dashboard_queries_do_not_grow(client, headers, officer, count_queries):
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    in_evaluation(call, officer)
    auto_assign(call, officer)
    urls = [f"/api/v1/calls/{call.id}/{tail}" for tail in ("evaluation", "assignments", "evaluators")]
    for url in urls:
        client.get(url, headers=headers)
    small = {}
    for url in urls:
        with count_queries() as counter:
            assert client.get(url, headers=headers).status_code == 200
        small[url] = counter.count
    make_pool(call, 4, officer)
    for _ in range(5):
        in_evaluation(call, officer)
    auto_assign(call, officer)
    for url in urls:
        with count_queries() as counter:
            assert client.get(url, headers=headers).status_code == 200
        assert counter.count == small[url], url


@pytest.mark.parametrize("role, status", [("applicant", 403), ("evaluator", 403), ("committee", 403),
                                          ("auditor", 200), ("admin", 200)])
def test_dashboard_permissions(client, role, status):
    call = make_evaluation_call()
    assert client.get(f"/api/v1/calls/{call.id}/evaluation", headers=bearer(make_user(role))).status_code == status
