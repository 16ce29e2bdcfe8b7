"""Bad input and the language of the API's answers (API.md: ``Accept-Language: lv|en``, default lv).

A refused action says why in the request's language, wholly, the wrapper ("This action is not possible
now: …") included, and a guard's reason names the fields it is about (the answers missing from a draft);
validation messages, marshmallow's own among them, are in one language too, however deeply nested.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.demo import load_demo
from grants.users.models import User
from tests.factories import (
    bearer,
    in_evaluation,
    make_application,
    make_call,
    make_evaluation_call,
    make_organisation,
    make_pool,
    make_user,
)

LV = {"Accept-Language": "lv"}
EN = {"Accept-Language": "en"}


def _words(text: str) -> set[str]:
    """The words of a message (four letters or more, so that ``EUR`` and codes do not count)."""
    return {word.lower() for word in re.findall(r"[^\W\d_]{4,}", text)}


def _both(client, method: str, url: str, headers: dict, **kwargs) -> tuple[dict, dict]:
    lv = client.open(url, method=method, headers={**headers, **LV}, **kwargs)
    en = client.open(url, method=method, headers={**headers, **EN}, **kwargs)
    assert lv.status_code == en.status_code, (lv.get_json(), en.get_json())
    return lv.get_json(), en.get_json()


def _texts(body: dict) -> list[str]:
    """Every human text of an error: the message, each reason's, each field's."""
    texts = [body["message"]]
    texts += [reason["message"] for reason in body.get("reasons", [])]
    texts += [message for messages in body["fields"].values() for message in messages]
    texts += [message for reason in body.get("reasons", []) for messages in (reason.get("fields") or {}).values()
              for message in messages]
    return texts


def assert_one_language_each(lv: dict, en: dict) -> None:
    """No word of the English answer is in the Latvian one, and no word of the Latvian in the English."""
    for lv_text, en_text in zip(_texts(lv), _texts(en), strict=True):
        shared = _words(lv_text) & _words(en_text)
        assert not shared, f"the same words {sorted(shared)} in\n  lv: {lv_text}\n  en: {en_text}"


# --- a refused submission --------------------------------------------------------------------------------------

@pytest.fixture
def incomplete(session):
    """A draft whose required "Project name" is not answered and whose description is too long."""
    applicant = make_user("applicant")
    application = make_application(make_call(), make_organisation(applicant),
                                   answers={"description": "Apraksts. " * 60})
    return application, bearer(applicant)


def test_a_refused_submit_names_the_answers_it_is_missing(client, incomplete):
    application, headers = incomplete
    response = client.post(f"/api/v1/applications/{application.id}/transitions", json={"trigger": "submit"},
                           headers={**headers, **EN})
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "transition_not_allowed"
    assert set(body["fields"]) == {"answers.project_name", "answers.description"}
    assert body["fields"]["answers.project_name"] == ["Answer this question."]
    [reason] = body["reasons"]
    assert reason["code"] == "answers_incomplete" and reason["fields"] == body["fields"]
    # the message says which, by the questions' labels, as the applicant reads them
    assert reason["message"].startswith("2 answers are missing or need correcting.")
    assert "Project name: Answer this question." in reason["message"] and "Description: " in reason["message"]
    assert body["message"] == f"This action is not possible now: {reason['message']}"


def test_a_refused_submit_is_wholly_in_the_requests_language(client, incomplete):
    application, headers = incomplete
    lv, en = _both(client, "POST", f"/api/v1/applications/{application.id}/transitions", headers,
                   json={"trigger": "submit"})
    assert lv["message"].startswith("Šī darbība pašlaik nav iespējama: ")
    assert "Projekta nosaukums: " in lv["reasons"][0]["message"]
    assert en["message"].startswith("This action is not possible now: ")
    assert lv["fields"].keys() == en["fields"].keys()  # field names are codes, the same in both
    assert_one_language_each(lv, en)


def test_without_accept_language_the_api_speaks_latvian_and_takes_regional_variants(client, incomplete):
    application, headers = incomplete
    url = f"/api/v1/applications/{application.id}/transitions"
    plain = client.post(url, json={"trigger": "submit"}, headers=headers).get_json()
    regional = client.post(url, json={"trigger": "submit"},
                           headers={**headers, "Accept-Language": "lv-LV,lv;q=0.9,en;q=0.5"}).get_json()
    british = client.post(url, json={"trigger": "submit"}, headers={**headers, "Accept-Language": "en-GB"}).get_json()
    assert plain["message"] == regional["message"] and plain["message"].startswith("Šī darbība")
    assert british["message"].startswith("This action is not possible now: ")


def test_refusals_across_the_workflows_are_in_one_language(client, session):
    """In the demo: the draft submitted with every answer gone and an amount below the stage's minimum (its own
    reasons and an eligibility rule's), the advance paid again, the accepted report submitted again, a
    payment verified by someone who may not, an initiative advanced without proof."""
    load_demo()
    people = {user.email: user for user in session.scalars(sa.select(User))}
    owner = bearer(people["applicant@demo.lv"])
    draft = session.scalars(sa.select(Application).where(Application.state == "draft")).unique().one()
    draft.answers, draft.requested_amount = {}, 1
    session.flush()
    grant = session.scalars(sa.select(Application).where(Application.state == "gate_review")).unique().one()
    payments = client.get(f"/api/v1/applications/{grant.id}/payments", headers=owner).get_json()
    reports = client.get(f"/api/v1/applications/{grant.id}/grant-reports", headers=owner).get_json()
    officer, finance = bearer(people["officer@demo.lv"]), bearer(people["finance@demo.lv"])
    refusals = [
        (f"/api/v1/applications/{draft.id}/transitions", owner, "submit"),
        (f"/api/v1/payments/{payments[0]['id']}/transitions", finance, "pay"),
        (f"/api/v1/payments/{payments[-1]['id']}/transitions", finance, "verify"),
        (f"/api/v1/grant-reports/{reports[0]['id']}/transitions", owner, "submit"),
        (f"/api/v1/initiatives/{grant.initiative_id}/transitions", officer, "advance"),
    ]
    for url, headers, trigger in refusals:
        lv, en = _both(client, "POST", url, headers, json={"trigger": trigger})
        assert lv["error"] in ("transition_not_allowed", "forbidden"), (url, lv)
        assert_one_language_each(lv, en)
    submit_lv, submit_en = _both(client, "POST", refusals[0][0], owner, json={"trigger": "submit"})
    assert {r["code"] for r in submit_lv["reasons"]} >= {"answers_incomplete", "eligibility_failed"}
    assert submit_lv["message"].startswith("Šī darbība pašlaik nav iespējama: ")


def test_an_incomplete_review_names_what_it_lacks(client, session):
    from grants.evaluations.models import Assignment
    from grants.evaluations.services import auto_assign, declare

    officer = make_user("officer")
    call = make_evaluation_call()
    application = in_evaluation(call, officer)
    make_pool(call, 2, officer)
    auto_assign(call, officer)
    assignment = session.scalars(sa.select(Assignment).where(Assignment.application_id == application.id)).first()
    declare(assignment, assignment.evaluator, False, "")
    lv, en = _both(client, "PUT", f"/api/v1/assignments/{assignment.id}/review", bearer(assignment.evaluator),
                   json={"scores": {"need": 10}, "summary": " ", "submit": True})
    assert en["error"] == "transition_not_allowed"
    assert set(en["fields"]) == {"scores.novelty", "scores.change", "scores.capacity", "scores.budget", "summary"}
    assert {reason["code"] for reason in en["reasons"]} == {"review_incomplete"}
    assert_one_language_each(lv, en)


# --- validation messages -------------------------------------------------------------------------------------

def test_range_and_other_validation_messages_are_in_one_language(client, session):
    headers = bearer(make_user("applicant"))
    lv, en = _both(client, "POST", "/api/v1/applications", headers, json={
        "call_id": "x", "organisation_id": 0, "si_stage": "idea_generation", "title": "",
        "requested_amount": "-5", "duration_months": 1000})
    assert lv["error"] == en["error"] == "validation_error"
    assert lv["fields"]["duration_months"] == ["Vērtībai jābūt ne mazākai par 1 un ne lielākai par 120."]
    assert en["fields"]["duration_months"] == ["Must be greater than or equal to 1 and less than or equal to 120."]
    assert {"call_id", "organisation_id", "requested_amount", "duration_months"} <= set(lv["fields"])
    assert_one_language_each(lv, en)


def test_nested_validation_messages_are_translated_and_say_where(client, session):
    headers = bearer(make_user("applicant"))
    long_code = "q1" * 30 + "q"  # 61 characters, none of them a word
    lv, en = _both(client, "POST", "/api/v1/applications", headers, json={
        "call_id": 1, "organisation_id": 1, "si_stage": "idea_generation", "title": "Nosaukums",
        "requested_amount": "100.00", "duration_months": 6, "answers": {long_code: "x"}})
    assert lv["fields"]["answers"] == [f"{long_code}.key: Pārsniegts maksimālais garums 60."]
    assert en["fields"]["answers"] == [f"{long_code}.key: Longer than maximum length 60."]
    assert_one_language_each(lv, en)


def test_a_page_number_beyond_any_is_refused_by_field_not_by_a_crash(client, session):
    lv, en = _both(client, "GET", "/api/v1/calls?page=99999999999999999999", {})
    assert lv["error"] == "validation_error" and set(lv["fields"]) == {"page"}
    assert_one_language_each(lv, en)
