"""The workflow of an application through the HTTP API: GET/POST …/transitions and GET …/history
(API.md), with bearer tokens, as integrators and the outside acceptance tests use them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from tests.factories import bearer, make_application, make_call, make_organisation, make_user

EN = {"Accept-Language": "en"}
LV = {"Accept-Language": "lv"}
QUESTION = "Lūdzu precizējiet budžeta 3. pozīciju."


@pytest.fixture
def case(session):
    """A draft of Anna's organisation, and the people around it."""
    applicant = make_user("applicant", name="Anna Applicant")
    application = make_application(make_call(), make_organisation(applicant))
    officer = make_user("officer", name="Olga Officer")
    return {"application": application, "applicant": applicant, "officer": officer,
            "headers": {"applicant": bearer(applicant), "officer": bearer(officer)}}


def _url(application, what: str = "transitions") -> str:
    application_id = application if isinstance(application, int) else application.id
    return f"/api/v1/applications/{application_id}/{what}"


def _error(response, status: int, code: str) -> dict:
    """The contract's error shape: {error, message, fields} (plus reasons on refused transitions)."""
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"].strip()
    assert isinstance(body["fields"], dict)
    return body


def _stored(session, application) -> tuple[str, int, int]:
    """State, version and number of audit events as the database has them."""
    state, version = session.execute(sa.select(Application.state, Application.version)
                                     .where(Application.id == application.id)).one()
    events = session.execute(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.object_type == "application", AuditEvent.object_id == str(application.id))).scalar_one()
    return state, version, events


def _fire(client, application, headers, trigger, **body):
    return client.post(_url(application), json={"trigger": trigger, **body}, headers={**headers, **EN})


def test_applicant_submits_own_draft_and_the_history_tells_both_steps(client, session, case):
    application, headers = case["application"], case["headers"]["applicant"]
    offered = client.get(_url(application), headers={**headers, **EN})
    assert offered.status_code == 200
    assert offered.get_json() == [{"trigger": "submit", "label": "Submit"},
                                  {"trigger": "withdraw", "label": "Withdraw"}]

    response = _fire(client, application, headers, "submit", version=1)
    assert response.status_code == 200
    body = response.get_json()
    # submitted, then at once (automatically, as the system) into the eligibility review
    assert (body["id"], body["state"], body["version"]) == (application.id, "eligibility_review", 3)
    assert body["state_label"] == "Eligibility review" and body["status"] == "Eligibility is being checked"
    assert _stored(session, application) == ("eligibility_review", 3, 2)

    history = client.get(_url(application, "history"), headers={**headers, **EN})
    assert history.status_code == 200
    assert [{key: entry[key] for key in ("action", "trigger", "from_state", "to_state", "from_label", "to_label",
                                         "actor", "role", "comment")} for entry in history.get_json()] == [
        {"action": "application.submit", "trigger": "submit", "from_state": "draft", "to_state": "submitted",
         "from_label": "Draft", "to_label": "Submitted", "actor": "Anna Applicant", "role": "applicant",
         "comment": None},
        {"action": "application.start_eligibility_review", "trigger": "start_eligibility_review",
         "from_state": "submitted", "to_state": "eligibility_review", "from_label": "Submitted",
         "to_label": "Eligibility review", "actor": "System", "role": "system", "comment": None}]
    assert all(entry["occurred_at"] and entry["id"] for entry in history.get_json())
    # nothing more for the applicant to do while the officer checks eligibility but withdraw
    assert [t["trigger"] for t in client.get(_url(application), headers=headers).get_json()] == ["withdraw"]


def test_applicants_see_the_role_of_staff_who_acted_and_staff_see_the_name(client, session, case):
    application, headers = case["application"], case["headers"]
    assert _fire(client, application, headers["applicant"], "submit").status_code == 200
    officer_options = client.get(_url(application), headers={**headers["officer"], **EN}).get_json()
    assert {"trigger": "request_clarification", "label": "Request clarification"} in officer_options
    assert _fire(client, application, headers["officer"], "request_clarification",
                 comment=f"  {QUESTION}  ").status_code == 200

    def last(viewer: str) -> dict:
        return client.get(_url(application, "history"), headers={**headers[viewer], **EN}).get_json()[-1]

    seen_by_applicant, seen_by_officer = last("applicant"), last("officer")
    assert seen_by_applicant["actor"] == "Programme officer" and seen_by_officer["actor"] == "Olga Officer"
    for entry in (seen_by_applicant, seen_by_officer):
        # the question reaches the applicant, trimmed
        assert (entry["trigger"], entry["to_state"], entry["comment"]) == (
            "request_clarification", "clarification_requested", QUESTION)
        assert entry["role"] == "officer"
    assert "Olga" not in str(client.get(_url(application, "history"), headers=headers["applicant"]).get_json())
    assert client.get(_url(application, "history"), headers={**headers["officer"], **EN}).get_json()[0]["actor"] \
        == "Anna Applicant"


@pytest.mark.parametrize("comment", [None, "", "   "], ids=["no comment", "empty", "blank"])
def test_a_guard_refusing_over_http_changes_nothing(client, session, case, comment):
    application, headers = case["application"], case["headers"]
    assert _fire(client, application, headers["applicant"], "submit").status_code == 200
    before = _stored(session, application)
    history_before = client.get(_url(application, "history"), headers=headers["officer"]).get_json()
    body = {} if comment is None else {"comment": comment}

    refused = _fire(client, application, headers["officer"], "request_clarification", version=before[1], **body)
    error = _error(refused, 409, "transition_not_allowed")
    assert error["reasons"][0]["code"] == "comment_required" and error["reasons"][0]["message"]
    assert error["fields"] == {}

    assert _stored(session, application) == before
    assert client.get(_url(application, "history"), headers=headers["officer"]).get_json() == history_before
    # and the same action with a reason goes through on the same version
    assert _fire(client, application, headers["officer"], "request_clarification", version=before[1],
                 comment=QUESTION).status_code == 200


def test_a_role_the_workflow_does_not_name_gets_403_and_changes_nothing(client, session, case):
    application, headers = case["application"], case["headers"]
    assert _fire(client, application, headers["applicant"], "submit").status_code == 200
    before = _stored(session, application)
    _error(_fire(client, application, headers["applicant"], "declare_eligible"), 403, "forbidden")
    _error(_fire(client, application, bearer(make_user("committee")), "declare_eligible"), 403, "forbidden")
    _error(_fire(client, application, bearer(make_user("auditor")), "withdraw"), 403, "forbidden")
    assert _stored(session, application) == before


def test_people_of_another_organisation_are_told_it_does_not_exist(client, session, case):
    application = case["application"]
    stranger = make_user("applicant")
    make_organisation(stranger)
    headers = {**bearer(stranger), **EN}
    before = _stored(session, application)
    for response in (client.get(_url(application), headers=headers),
                     client.post(_url(application), json={"trigger": "submit"}, headers=headers),
                     client.post(_url(application), json={"trigger": "withdraw", "version": 1}, headers=headers),
                     client.get(_url(application, "history"), headers=headers)):
        _error(response, 404, "not_found")
    assert _stored(session, application) == before
    # an evaluator reads an application only through an assignment: without one it does not exist either
    evaluator = bearer(make_user("evaluator"))
    _error(client.get(_url(application), headers=evaluator), 404, "not_found")
    # and a missing application looks the same as someone else's
    missing = application.id + 10_000
    _error(client.get(_url(missing), headers=case["headers"]["officer"]), 404, "not_found")
    _error(client.post(_url(missing), json={"trigger": "submit"}, headers=case["headers"]["officer"]),
           404, "not_found")


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer "],
                         ids=["no token", "unknown token", "other scheme", "empty token"])
def test_without_a_valid_token_every_endpoint_answers_401(client, session, case, authorization):
    application = case["application"]
    headers = {"Authorization": authorization} if authorization else {}
    for response in (client.get(_url(application), headers=headers),
                     client.post(_url(application), json={"trigger": "submit", "version": 1}, headers=headers),
                     client.post(_url(application), json={"trigger": 5, "comment": []}, headers=headers),
                     client.get(_url(application, "history"), headers=headers)):
        _error(response, 401, "unauthorized")
    assert _stored(session, application) == ("draft", 1, 0)


@pytest.mark.parametrize("trigger, code", [("teleport", "unknown_trigger"), ("resubmit", "invalid_from_state"),
                                           ("declare_eligible", "invalid_from_state")])
def test_an_unknown_trigger_or_one_not_possible_now_is_409_with_the_reason(client, session, case, trigger, code):
    application, headers = case["application"], case["headers"]
    who = headers["officer"] if trigger == "declare_eligible" else headers["applicant"]
    error = _error(_fire(client, application, who, trigger), 409, "transition_not_allowed")
    assert [reason["code"] for reason in error["reasons"]] == [code]
    assert _stored(session, application) == ("draft", 1, 0)


@pytest.mark.parametrize("body, field", [
    ({}, "trigger"),
    ({"comment": "Bez darbības"}, "trigger"),
    ({"trigger": 42}, "trigger"),
    ({"trigger": ["submit"]}, "trigger"),
    ({"trigger": None}, "trigger"),
    ({"trigger": ""}, "trigger"),
    ({"trigger": "submit", "comment": "x" * 5001}, "comment"),
    ({"trigger": "submit", "comment": 7}, "comment"),
    ({"trigger": "submit", "version": "first"}, "version"),
    ({"trigger": "submit", "surprise": True}, "surprise"),
], ids=["empty body", "trigger missing", "trigger a number", "trigger a list", "trigger null", "trigger empty",
        "comment too long", "comment a number", "version not a number", "unknown field"])
def test_a_malformed_body_is_422_naming_the_field(client, session, case, body, field):
    application = case["application"]
    response = client.post(_url(application), json=body, headers={**case["headers"]["applicant"], **EN})
    error = _error(response, 422, "validation_error")
    assert field in error["fields"] and all(isinstance(m, str) and m for m in error["fields"][field])
    assert _stored(session, application) == ("draft", 1, 0)


def test_a_body_that_is_not_json_is_refused_in_the_error_shape(client, session, case):
    application = case["application"]
    response = client.post(_url(application), data="trigger=submit", content_type="application/json",
                           headers=case["headers"]["applicant"])
    assert response.status_code in (400, 422)
    _error(response, response.status_code, "bad_request" if response.status_code == 400 else "validation_error")
    assert _stored(session, application) == ("draft", 1, 0)


def test_a_stale_version_is_409_conflict_and_changes_nothing(client, session, case):
    application, headers = case["application"], case["headers"]
    assert _fire(client, application, headers["applicant"], "submit", version=1).status_code == 200
    before = _stored(session, application)
    assert before[:2] == ("eligibility_review", 3)
    # the officer decides on what the applicant sent first (version 1): someone changed it since
    error = _error(_fire(client, application, headers["officer"], "declare_eligible", version=1), 409, "conflict")
    assert "reasons" not in error and error["fields"] == {}
    _error(_fire(client, application, headers["officer"], "declare_eligible", version=4), 409, "conflict")
    assert _stored(session, application) == before
    # on the version they have seen it works, and the answer carries the next one
    response = _fire(client, application, headers["officer"], "declare_eligible", version=3)
    assert response.status_code == 200 and response.get_json()["version"] == 4


def test_the_request_language_chooses_the_labels_and_messages(client, session, case):
    application, headers = case["application"], case["headers"]

    def labels(language: dict) -> tuple:
        offered = client.get(_url(application), headers={**headers["applicant"], **language}).get_json()
        history = client.get(_url(application, "history"), headers={**headers["applicant"], **language}).get_json()
        return ([t["label"] for t in offered],
                [(e["from_label"], e["to_label"], e["actor"]) for e in history])

    fired = client.post(_url(application), json={"trigger": "submit"}, headers={**headers["applicant"], **LV})
    assert fired.status_code == 200
    english, latvian = labels(EN), labels(LV)
    assert english == (["Withdraw"], [("Draft", "Submitted", "Anna Applicant"),
                                      ("Submitted", "Eligibility review", "System")])
    assert latvian[0] != english[0]
    assert [pair[:2] for pair in latvian[1]] != [pair[:2] for pair in english[1]]
    assert latvian[1][1][2] != "System"  # the system's name is translated too
    assert labels({}) == latvian  # Latvian is the default
    # the answer to the action speaks the request's language too (codes stay codes)
    assert fired.get_json()["state"] == "eligibility_review"
    assert fired.get_json()["status"] != "Eligibility is being checked"
    assert fired.get_json()["state_label"] != "Eligibility review"

    def refusal(language: dict) -> dict:
        response = client.post(_url(application), json={"trigger": "request_clarification"},
                               headers={**headers["officer"], **language})
        return _error(response, 409, "transition_not_allowed")

    in_english, in_latvian = refusal(EN), refusal(LV)
    assert in_english["reasons"][0]["code"] == in_latvian["reasons"][0]["code"] == "comment_required"
    assert in_english["reasons"][0]["message"] == "Write the reason or question in the comment."
    assert in_latvian["reasons"][0]["message"] != in_english["reasons"][0]["message"]
    assert in_latvian["message"] != in_english["message"]
