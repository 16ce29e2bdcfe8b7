"""The evaluator's API: own assignments, the declaration gate, reviews, relations, and a full journey."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from grants.core.db import db
from grants.evaluations.models import Assignment
from grants.evaluations.services import add_to_pool, auto_assign
from tests.factories import (
    bearer,
    in_evaluation,
    make_evaluation_call,
    make_organisation,
    make_pool,
    make_user,
    review,
    scores_totalling,
)


@pytest.fixture
def officer(app):
    return make_user("officer")


def _assignments(application, *states):
    query = sa.select(Assignment).where(Assignment.application_id == application.id).order_by(Assignment.id)
    if states:
        query = query.where(Assignment.state.in_(states))
    return list(db.session.scalars(query).unique())


@pytest.fixture
def assigned(officer):
    call = make_evaluation_call()
    pool = make_pool(call, 3, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    first, second = _assignments(application)
    third = next(e for e in pool if e.id not in (first.evaluator_id, second.evaluator_id))
    return call, application, first, second, third


def _declare(client, assignment, has_conflict=False, statement="", headers=None):
    return client.post(f"/api/v1/assignments/{assignment.id}/declaration",
                       headers=headers or bearer(assignment.evaluator),
                       json={"has_conflict": has_conflict, "statement": statement})


def _put(client, assignment, headers=None, **body):
    body.setdefault("scores", {})
    return client.put(f"/api/v1/assignments/{assignment.id}/review", headers=headers or bearer(assignment.evaluator),
                      json=body)


def test_assignments_are_listed_for_their_evaluator_only(client, assigned):
    call, application, first, second, _third = assigned
    response = client.get("/api/v1/assignments", headers=bearer(first.evaluator))
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 1 and body["page"] == 1
    item = body["items"][0]
    assert item["id"] == first.id and item["application_id"] == application.id and item["call_id"] == call.id
    assert item["status"] == "assigned" and item["status_label"] and item["overdue"] is False
    assert item["declared_at"] is None and item["due_at"] and item["title"] == application.title
    assert client.get("/api/v1/assignments?status=submitted", headers=bearer(first.evaluator)).get_json()["total"] == 0
    assert client.get("/api/v1/assignments?status=nonsense", headers=bearer(first.evaluator)).status_code == 422
    assert client.get("/api/v1/assignments").status_code == 401
    for role in ("applicant", "officer", "committee"):
        assert client.get("/api/v1/assignments", headers=bearer(make_user(role))).status_code == 403, role
    detail = client.get(f"/api/v1/assignments/{first.id}", headers=bearer(first.evaluator)).get_json()
    assert [c["code"] for c in detail["criteria"]] == ["need", "novelty", "change", "capacity", "budget"]
    assert detail["criteria"][0] == {"code": "need", "title": detail["criteria"][0]["title"],
                                     "guidance": detail["criteria"][0]["guidance"], "max_points": 25, "weight": 1,
                                     "min_points": 10}
    assert detail["criteria"][2]["min_points"] is None
    assert detail["content_hash"] == application.latest_submission.content_hash
    assert client.get(f"/api/v1/assignments/{first.id}", headers=bearer(second.evaluator)).status_code == 404
    assert client.get("/api/v1/assignments/999999", headers=bearer(first.evaluator)).status_code == 404


def test_the_declaration_gates_the_application_and_the_review(client, assigned):
    _call, application, first, second, _third = assigned
    headers = bearer(first.evaluator)
    assert client.get(f"/api/v1/applications/{application.id}", headers=headers).status_code == 403
    assert client.get(f"/api/v1/assignments/{first.id}/review", headers=headers).status_code == 403
    assert _put(client, first, headers, scores={"need": 10}).status_code == 403
    # Someone else's assignment: not found, and nothing happens to it.
    assert _declare(client, first, headers=bearer(second.evaluator)).status_code == 404
    response = client.post(f"/api/v1/assignments/{first.id}/declaration", headers=headers, json={"statement": "x"})
    assert response.status_code == 422 and "has_conflict" in response.get_json()["fields"]
    response = _declare(client, first, has_conflict=True, statement="  ", headers=headers)
    assert response.status_code == 422 and "statement" in response.get_json()["fields"]
    db.session.refresh(first)
    assert first.state == "assigned"
    response = _declare(client, first, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "accepted" and body["has_conflict"] is False and body["declared_at"]
    assert client.get(f"/api/v1/applications/{application.id}", headers=headers).status_code == 200
    review_body = client.get(f"/api/v1/assignments/{first.id}/review", headers=headers).get_json()
    assert review_body == {"scores": {}, "comments": {}, "summary": "", "total": 0, "max_total": 100.0,
                           "submitted": False, "submitted_at": None, "content_hash": None, "version": None}
    again = _declare(client, first, has_conflict=True, statement="Tomēr konflikts.", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"] == "transition_not_allowed"
    db.session.refresh(first)
    assert first.state == "accepted"


def test_a_conflict_recuses_and_the_replacement_sees_the_assignment(client, assigned):
    _call, application, first, second, third = assigned
    assert client.get("/api/v1/assignments", headers=bearer(third)).get_json()["total"] == 0
    response = _declare(client, second, has_conflict=True, statement="Esmu šīs biedrības valdē.")
    assert response.status_code == 200 and response.get_json()["status"] == "recused"
    assert client.get(f"/api/v1/assignments/{second.id}/review", headers=bearer(second.evaluator)).status_code == 403
    assert client.get(f"/api/v1/applications/{application.id}", headers=bearer(second.evaluator)).status_code == 403
    items = client.get("/api/v1/assignments", headers=bearer(third)).get_json()["items"]
    assert [(i["application_id"], i["status"]) for i in items] == [(application.id, "assigned")]


@pytest.mark.parametrize(("need", "ok"), [(0, True), (25, True), (24.99, True), ("7.25", True), (-0.01, False),
                                          (25.01, False), (1.555, False), ("x", False), (True, False)])
def test_scores_outside_the_range_are_refused_and_nothing_is_saved(client, assigned, need, ok):
    _call, _application, first, _second, _third = assigned
    _declare(client, first)
    assert _put(client, first, scores={"novelty": 5}, comments={"novelty": "Sākotnējais"}).status_code == 200
    response = _put(client, first, scores={"need": need, "novelty": 20}, comments={"novelty": "Jauns"})
    saved = client.get(f"/api/v1/assignments/{first.id}/review", headers=bearer(first.evaluator)).get_json()
    if ok:
        assert response.status_code == 200
        assert saved["scores"] == {"need": float(need), "novelty": 20} and saved["comments"] == {"novelty": "Jauns"}
        assert saved["total"] == pytest.approx(float(need) + 20)
        return
    assert response.status_code == 422
    assert list(response.get_json()["fields"]) == ["scores.need"]
    assert saved["scores"] == {"novelty": 5} and saved["comments"] == {"novelty": "Sākotnējais"}


def test_unknown_criteria_and_stale_versions_are_refused(client, assigned):
    _call, _application, first, _second, _third = assigned
    _declare(client, first)
    response = _put(client, first, scores={"beauty": 3}, comments={"beauty": "?"})
    assert response.status_code == 422 and set(response.get_json()["fields"]) == {"scores.beauty", "comments.beauty"}
    version = _put(client, first, scores={"need": 3}).get_json()["version"]
    assert _put(client, first, scores={"need": 4}, version=version).status_code == 200
    stale = _put(client, first, scores={"need": 5}, version=version)
    assert stale.status_code == 409 and stale.get_json()["error"] == "conflict"


def test_an_incomplete_submission_keeps_the_draft_and_a_submitted_review_is_locked(client, assigned):
    _call, application, first, _second, _third = assigned
    _declare(client, first)
    response = _put(client, first, scores={"need": 20}, comments={"need": "Skaidri."}, summary="", submit=True)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "transition_not_allowed"
    assert {r["code"] for r in body["reasons"]} == {"review_incomplete"} and len(body["reasons"]) == 5
    draft = client.get(f"/api/v1/assignments/{first.id}/review", headers=bearer(first.evaluator)).get_json()
    assert draft["scores"] == {"need": 20} and draft["comments"] == {"need": "Skaidri."} and not draft["submitted"]
    response = _put(client, first, scores=scores_totalling(69), summary="Pietiekami.", submit=True)
    assert response.status_code == 200
    body = response.get_json()
    assert body["submitted"] is True and body["total"] == 69 and body["submitted_at"]
    assert body["content_hash"] == application.latest_submission.content_hash
    locked = _put(client, first, scores=scores_totalling(70), summary="Labots.")
    assert locked.status_code == 409 and locked.get_json()["error"] == "review_locked"
    assert _put(client, first, scores=scores_totalling(70), submit=True).get_json()["error"] == "review_locked"
    after = client.get(f"/api/v1/assignments/{first.id}/review", headers=bearer(first.evaluator)).get_json()
    assert after["total"] == 69 and after["summary"] == "Pietiekami."
    listed = client.get("/api/v1/assignments?status=submitted", headers=bearer(first.evaluator)).get_json()
    assert [i["id"] for i in listed["items"]] == [first.id]


def test_evaluators_never_read_each_others_reviews(client, assigned):
    _call, _application, first, second, _third = assigned
    review(first, 90)
    db.session.commit()
    _declare(client, second)
    assert client.get(f"/api/v1/assignments/{first.id}/review", headers=bearer(second.evaluator)).status_code == 404
    assert _put(client, first, headers=bearer(second.evaluator), scores={"need": 1}).status_code == 404
    own = client.get(f"/api/v1/assignments/{second.id}/review", headers=bearer(second.evaluator)).get_json()
    assert own["scores"] == {} and "Labi pamatots." not in str(own)


def test_full_journey_a_discrepancy_brings_a_third_evaluator(client, assigned):
    _call, application, first, second, third = assigned
    for assignment, total in ((first, 100), (second, 69)):
        headers = bearer(assignment.evaluator)
        assert _declare(client, assignment, headers=headers).status_code == 200
        assert client.get(f"/api/v1/applications/{application.id}", headers=headers).status_code == 200
        criteria = client.get(f"/api/v1/assignments/{assignment.id}", headers=headers).get_json()["criteria"]
        scores = scores_totalling(total)
        assert {c["code"] for c in criteria} == set(scores)
        response = _put(client, assignment, headers, scores=scores, comments={"need": f"Vērtējums {total}"},
                        summary="Kopsavilkums.", submit=True)
        assert response.status_code == 200 and response.get_json()["total"] == total
    items = client.get("/api/v1/assignments", headers=bearer(third)).get_json()["items"]
    assert len(items) == 1
    assert items[0]["application_id"] == application.id and items[0]["status"] == "assigned"
    third_assignment = db.session.get(Assignment, items[0]["id"])
    assert third_assignment.reason == "third"
    db.session.refresh(application)
    assert application.state == "in_evaluation"


def test_list_queries_do_not_grow_with_the_assignments(client, officer, count_queries):
    evaluator = make_user("evaluator")
    headers = bearer(evaluator)

    def more(count):
        call = make_evaluation_call()
        make_pool(call, 1, officer)
        add_to_pool(call, evaluator, officer)
        for _ in range(count):
            in_evaluation(call, officer)
        auto_assign(call, officer)
        db.session.commit()

    more(1)
    client.get("/api/v1/assignments", headers=headers)
    with count_queries() as small:
        assert client.get("/api/v1/assignments", headers=headers).get_json()["total"] == 1
    more(4)
    more(4)
    with count_queries() as large:
        assert client.get("/api/v1/assignments", headers=headers).get_json()["total"] == 9
    assert large.count == small.count


def test_relations_are_declared_listed_and_removed(client):
    evaluator = make_user("evaluator")
    headers = bearer(evaluator)
    owner = make_user("applicant")
    organisation = make_organisation(owner, name="Biedrība API")
    other = make_organisation(owner)
    response = client.post("/api/v1/relations", headers=headers,
                           json={"registration_number": organisation.registration_number, "description": "Valdē"})
    assert response.status_code == 201
    created = response.get_json()
    assert created["organisation_id"] == organisation.id and created["organisation_name"] == "Biedrība API"
    assert created["registration_number"] == organisation.registration_number
    assert client.post("/api/v1/relations", headers=headers,
                       json={"organisation_id": other.id, "description": "Radinieks"}).status_code == 201
    response = client.post("/api/v1/relations", headers=headers, json={"registration_number": "0", "description": "x"})
    assert response.status_code == 422 and "registration_number" in response.get_json()["fields"]
    response = client.post("/api/v1/relations", headers=headers, json={"organisation_id": other.id, "description": ""})
    assert response.status_code == 422 and "description" in response.get_json()["fields"]
    listed = client.get("/api/v1/relations", headers=headers).get_json()
    assert listed["total"] == 2 and [r["organisation_id"] for r in listed["items"]] == [organisation.id, other.id]
    assert client.get("/api/v1/relations", headers=bearer(make_user("evaluator"))).get_json()["total"] == 0
    assert client.delete(f"/api/v1/relations/{created['id']}",
                         headers=bearer(make_user("evaluator"))).status_code == 404
    assert client.delete(f"/api/v1/relations/{created['id']}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/relations/{created['id']}", headers=headers).status_code == 404
    assert client.get("/api/v1/relations", headers=headers).get_json()["total"] == 1
    assert client.get("/api/v1/relations", headers=bearer(owner)).status_code == 403


def test_the_openapi_document_describes_the_evaluator_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {"get"} <= set(paths["/api/v1/assignments"])
    assert {"post"} <= set(paths["/api/v1/assignments/{assignment_id}/declaration"])
    assert {"get", "put"} <= set(paths["/api/v1/assignments/{assignment_id}/review"])
    assert {"get", "post"} <= set(paths["/api/v1/relations"])
    assert {"delete"} <= set(paths["/api/v1/relations/{relation_id}"])
    schemas = spec["components"]["schemas"]
    review_input = next(s for name, s in schemas.items() if name.startswith("ReviewInput"))
    assert all(field.get("description") for field in review_input["properties"].values())


def test_a_submit_without_the_fields_submits_the_saved_draft(client, session):
    """PUT {submit: true} alone keeps what was saved (fields left out are not wiped) and submits it."""
    from grants.evaluations.services import auto_assign, declare
    from tests.factories import bearer, in_evaluation, make_evaluation_call, make_pool, make_user, scores_totalling

    officer = make_user("officer")
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    application = in_evaluation(call, officer)
    assignment = auto_assign(call, officer).created[0]
    declare(assignment, assignment.evaluator, False, "")
    headers = bearer(assignment.evaluator)
    saved = client.put(f"/api/v1/assignments/{assignment.id}/review", headers=headers,
                       json={"scores": scores_totalling(70), "summary": "Labi."})
    assert saved.status_code == 200 and saved.json["total"] == 70
    submitted = client.put(f"/api/v1/assignments/{assignment.id}/review", headers=headers, json={"submit": True})
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["submitted"] is True and submitted.json["total"] == 70
    assert application.id == assignment.application_id
