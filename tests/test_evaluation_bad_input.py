"""Bad input of any shape to the evaluation and decision endpoints: a 4xx, never a 500 (ids too large
for any column included)."""
import itertools

from grants.evaluations.services import auto_assign, declare
from tests.factories import bearer, in_evaluation, make_evaluation_call, make_pool, make_user

BODIES = [None, [], "x", 1, {}, {"scores": []}, {"scores": {"need": {"a": 1}}}, {"scores": {"need": 1e309}},
          {"scores": {"need": "NaN"}}, {"scores": {"need": "Infinity"}}, {"comments": {"need": 5}}, {"summary": 7},
          {"submit": "yes"}, {"version": "a"}, {"has_conflict": "maybe"}, {"has_conflict": True, "statement": None},
          {"outcome": "approved", "amount": "1e5"}, {"outcome": "approved", "amount": "-0"},
          {"outcome": "approved", "decided_on": "2026-13-45"}, {"outcome": "approved", "decided_on": 5},
          {"outcome": None}, {"user_id": "x"}, {"user_id": 10**20}, {"evaluator_id": -1, "comment": "x"},
          {"comment": ""}, {"criteria": "x"}, {"criteria": [None]}, {"threshold": "abc", "criteria": []},
          {"organisation_id": 10**20, "description": "x"}, {"registration_number": "\x00", "description": "x"}]


def test_bad_input_never_gives_a_server_error(client, session):
    officer, committee = make_user("officer"), make_user("committee")
    call = make_evaluation_call()
    evaluators = make_pool(call, 3, officer)
    application = in_evaluation(call, officer)
    assignment = auto_assign(call, officer).created[0]
    other = in_evaluation(call, officer)
    urls = [("put", f"/api/v1/assignments/{assignment.id}/review", assignment.evaluator),
            ("post", f"/api/v1/assignments/{assignment.id}/declaration", assignment.evaluator),
            ("post", f"/api/v1/applications/{application.id}/decision", committee),
            ("post", f"/api/v1/calls/{call.id}/evaluators", officer),
            ("put", f"/api/v1/calls/{call.id}/rubric", officer),
            ("post", f"/api/v1/assignments/{assignment.id}/reassign", officer),
            ("post", f"/api/v1/assignments/{assignment.id}/return", officer),
            ("post", "/api/v1/relations", evaluators[0]),
            ("get", f"/api/v1/calls/{call.id}/ranking?si_stage=%00", committee),
            ("get", "/api/v1/assignments?status=%00&page=-1", evaluators[0]),
            ("get", "/api/v1/applications/100000000000000000000", officer),
            ("get", "/api/v1/assignments/100000000000000000000", evaluators[0]),
            ("get", "/api/v1/calls/100000000000000000000/ranking", committee)]
    for (method, url, user), body in itertools.product(urls, BODIES):
        headers = bearer(user)
        if method == "get":
            response = client.get(url, headers=headers)
        else:
            response = getattr(client, method)(url, json=body, headers=headers)
        assert response.status_code < 500, \
            (method, url, body, response.status_code, response.get_data(as_text=True)[:300])
    declare(assignment, assignment.evaluator, False, "")
    for body in BODIES:
        response = client.put(f"/api/v1/assignments/{assignment.id}/review", json=body,
                              headers=bearer(assignment.evaluator))
        assert response.status_code < 500, (body, response.status_code, response.get_data(as_text=True)[:300])
    assert other.id


def test_ids_too_large_for_any_column_are_not_found(client, session):
    from tests.factories import login

    huge = 10**20
    officer = make_user("officer")
    assert client.get(f"/api/v1/applications/{huge}", headers=bearer(officer)).status_code == 404
    created = client.post("/api/v1/applications", headers=bearer(make_user("applicant")),
                          json={"call_id": huge, "organisation_id": huge, "si_stage": "idea_generation", "title": "x",
                                "requested_amount": "1.00", "duration_months": 1, "answers": {}})
    assert created.status_code == 422 and "call_id" in created.json["fields"]
    login(client, officer)
    assert client.get(f"/calls/{huge}/ranking").status_code == 404
    assert client.get(f"/applications/{huge}").status_code == 404


def test_text_with_nul_characters_is_refused_by_field(client, session):
    evaluator = make_user("evaluator")
    response = client.post("/api/v1/relations", headers=bearer(evaluator),
                           json={"registration_number": "4000\x001", "description": "x"})
    assert response.status_code == 422 and "registration_number" in response.json["fields"]
    response = client.get("/api/v1/calls?status=open%00", headers=bearer(evaluator))
    assert response.status_code == 422 and "status" in response.json["fields"]
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": "a\x00@example.lv", "password": "x", "csrf_token": token})
    assert response.status_code == 422
