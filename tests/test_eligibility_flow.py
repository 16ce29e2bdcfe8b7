"""The eligibility check end to end: the applicant's live check, the refusal of a blocking failure,
the results stored at submission, officers' decisions (pages and API), declaring eligible or not,
the ineligibility notice, the officers' queue and who may see what."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.core.db import db
from grants.eligibility.models import EligibilityResult, Outcome
from grants.eligibility.rules import validate_ruleset
from grants.eligibility.services import check_application, stored_results
from grants.notifications.models import OutboxMessage
from tests.conftest import csrf_token_from
from tests.factories import bearer, login, make_application, make_call, make_organisation, make_user

EN = {"Accept-Language": "en"}
LV = {"Accept-Language": "lv"}
JUSTIFICATION = "Checked the register extract of 12 May: the organisation qualifies."


def _rule(code, severity, title_lv, title_en, message_lv, message_en, **how):
    return {"code": code, "severity": severity, "title_lv": title_lv, "title_en": title_en,
            "message_lv": message_lv, "message_en": message_en, **how}


def ruleset():
    return validate_ruleset([
        _rule("max_amount", "blocking", "Summa līdz 8000 EUR", "Amount up to 8000 EUR",
              "Pieprasīts vairāk nekā 8000 EUR.", "More than 8000 EUR requested.",
              expression="application.requested_amount <= 8000"),
        _rule("long_summary", "warning", "Izvērsts kopsavilkums", "A full summary",
              "Kopsavilkums ir īss.", "The summary is short.", expression="application.summary.length >= 40"),
        _rule("double_funding", "manual", "Dubultā finansējuma pārbaude", "Double-funding check",
              "Līdzīgs pieteikums: {match} (līdzība {similarity}).",
              "A similar application: {match} (similarity {similarity}).", check="double_funding"),
    ])


@pytest.fixture
def case(session):
    """Anna's draft in a call with a blocking, a warning and a double-funding rule, and a
    near-identical application of her organisation in another call (so the manual rule flags it)."""
    applicant = make_user("applicant", name="Anna Applicant")
    organisation = make_organisation(applicant)
    call = make_call(eligibility_rules=ruleset())
    application = make_application(call, organisation, title="Kopienas virtuve senioriem Talsos")
    make_application(make_call(), organisation, title="Kopienas virtuve senioriem Talsos!", state="eligibility_review")
    return {"application": application, "applicant": applicant, "officer": make_user("officer", name="Olga Officer"),
            "auditor": make_user("auditor"), "call": call}


def _submit(client, application, user):
    response = client.post(f"/api/v1/applications/{application.id}/transitions",
                           json={"trigger": "submit", "version": _version(application)}, headers={**bearer(user), **EN})
    return response


def _version(application) -> int:
    return db.session.scalar(sa.select(Application.version).where(Application.id == application.id))


def _page(application) -> str:
    return f"/eligibility/applications/{application.id}"


def _rows(html: str) -> dict[str, str]:
    """The text of each rule's block on the page, by rule code."""
    return {code: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
            for code, body in re.findall(r'data-rule="([a-z_]+)">(.*?)</li>', html, re.S)}


# --- The applicant's check ---------------------------------------------------------------------

def test_applicant_sees_every_rule_outcome_and_message_in_latvian_by_default_and_in_english(client, case):
    application = case["application"]
    application.requested_amount = Decimal("9000.00")
    db.session.flush()
    login(client, case["applicant"])

    html = client.get(_page(application)).get_data(as_text=True)
    rows = _rows(html)
    assert list(rows) == ["max_amount", "long_summary", "double_funding"]
    assert "Summa līdz 8000 EUR" in rows["max_amount"] and "Pieprasīts vairāk nekā 8000 EUR." in rows["max_amount"]
    assert "Kopsavilkums ir īss." in rows["long_summary"]
    assert "Līdzīgs pieteikums: #" in rows["double_funding"] and "Kopienas virtuve" in rows["double_funding"]
    assert "similarity" not in html  # nothing in English

    html = client.get(_page(application) + "?lang=en").get_data(as_text=True)
    rows = _rows(html)
    assert "Amount up to 8000 EUR" in rows["max_amount"] and "Blocking" in rows["max_amount"]
    assert "Does not pass" in rows["max_amount"] and "More than 8000 EUR requested." in rows["max_amount"]
    assert "Warning" in rows["long_summary"] and "The summary is short." in rows["long_summary"]
    assert "Needs an officer&#39;s check" in html or "Needs an officer's check" in rows["double_funding"]
    assert "An officer will check" in rows["double_funding"]
    assert "cannot be submitted" in html
    assert "What the rule saw" not in html  # the inputs are for staff

    application.requested_amount = Decimal("5000.00")
    db.session.flush()
    html = client.get(_page(application) + "?lang=en").get_data(as_text=True)
    assert "Passes" in _rows(html)["max_amount"] and "can be submitted" in html and "cannot be submitted" not in html


def test_api_runs_the_check_of_a_draft_in_the_callers_language(client, case):
    application = case["application"]
    application.requested_amount = Decimal("9000.00")
    db.session.flush()
    url = f"/api/v1/applications/{application.id}/eligibility"
    body = client.get(url, headers={**bearer(case["applicant"]), **EN}).get_json()
    assert body["passed"] is False and body["round"] is None
    assert [(r["code"], r["severity"], r["outcome"]) for r in body["results"]] == [
        ("max_amount", "blocking", "fail"), ("long_summary", "warning", "fail"), ("double_funding", "manual", "manual")]
    assert body["results"][0]["title"] == "Amount up to 8000 EUR"
    assert body["results"][0]["message"] == "More than 8000 EUR requested."
    body = client.get(url, headers={**bearer(case["applicant"]), **LV}).get_json()
    assert body["results"][0]["message"] == "Pieprasīts vairāk nekā 8000 EUR."
    application.requested_amount = Decimal("5000.00")
    db.session.flush()
    assert client.get(url, headers={**bearer(case["applicant"]), **EN}).get_json()["passed"] is True


@pytest.mark.parametrize(("headers", "expected"), [(EN, "Amount up to 8000 EUR: More than 8000 EUR requested."),
                                                   (LV, "Summa līdz 8000 EUR: Pieprasīts vairāk nekā 8000 EUR.")])
def test_a_blocking_failure_stops_the_submission_naming_the_rule(client, session, case, headers, expected):
    application = case["application"]
    application.requested_amount = Decimal("9000.00")
    db.session.flush()
    response = client.post(f"/api/v1/applications/{application.id}/transitions",
                           json={"trigger": "submit", "version": _version(application)},
                           headers={**bearer(case["applicant"]), **headers})
    assert response.status_code == 409
    reasons = response.get_json()["reasons"]
    assert [(r["code"], r["rule"], r["message"]) for r in reasons] == [("eligibility_failed", "max_amount", expected)]
    assert session.scalar(sa.select(Application.state).where(Application.id == application.id)) == "draft"
    assert session.scalar(sa.select(sa.func.count()).select_from(EligibilityResult)) == 0


# --- Stored results and decisions --------------------------------------------------------------

def test_results_are_stored_per_rule_on_submission_with_their_inputs(client, session, case):
    application = case["application"]
    assert _submit(client, application, case["applicant"]).status_code == 200
    results = stored_results(application)
    assert [(r.round, r.rule_code, r.outcome) for r in results] == [
        (1, "max_amount", Outcome.PASS), (1, "long_summary", Outcome.FAIL), (1, "double_funding", Outcome.MANUAL)]
    assert float(results[2].inputs["similarity"]) >= 0.85 and "Kopienas virtuve" in results[2].inputs["match"]

    body = client.get(f"/api/v1/applications/{application.id}/eligibility",
                      headers={**bearer(case["applicant"]), **EN}).get_json()
    assert body["round"] == 1 and body["passed"] is False  # the manual rule is not decided yet
    assert [r["outcome"] for r in body["results"]] == ["pass", "fail", "manual"]

    login(client, case["officer"])
    html = client.get(_page(application) + "?lang=en").get_data(as_text=True)
    assert "What the rule saw" in html and "similarity" in _rows(html)["double_funding"]
    assert "Double-funding check" in html and "Rules still to be decided" in html


def test_a_manual_rule_must_be_decided_before_declaring_eligible(client, session, case):
    application = case["application"]
    _submit(client, application, case["applicant"])
    login(client, case["officer"])
    html = client.get(_page(application) + "?lang=en").get_data(as_text=True)
    token = csrf_token_from(html)

    refused = client.post(_page(application) + "?lang=en", data={
        "csrf_token": token, "trigger": "declare_eligible", "version": _version(application)})
    assert refused.status_code == 409
    assert "Double-funding check: decide this rule first" in refused.get_data(as_text=True)
    assert session.scalar(sa.select(Application.state).where(Application.id == application.id)) == "eligibility_review"

    decided = client.post(_page(application), data={
        "rule": "double_funding", "rule-double_funding-csrf_token": token, "rule-double_funding-outcome": "pass",
        "rule-double_funding-justification": "", "rule-double_funding-version": _version(application)})
    assert decided.status_code == 302
    result = stored_results(application)[2]
    assert (result.decided_outcome, result.decided_by_id) == (Outcome.PASS, case["officer"].id)

    done = client.post(_page(application), data={
        "csrf_token": token, "trigger": "declare_eligible", "version": _version(application)})
    assert done.status_code == 302
    assert session.scalar(sa.select(Application.state).where(Application.id == application.id)) == "in_evaluation"


def test_an_override_needs_a_justification_on_the_page_and_is_audited(client, session, case):
    application = case["application"]
    _submit(client, application, case["applicant"])
    login(client, case["officer"])
    token = csrf_token_from(client.get(_page(application)).get_data(as_text=True))
    form = {"rule": "long_summary", "rule-long_summary-csrf_token": token, "rule-long_summary-outcome": "pass",
            "rule-long_summary-version": _version(application)}

    refused = client.post(_page(application) + "?lang=en", data={**form, "rule-long_summary-justification": "ok"})
    assert refused.status_code == 422
    block = _rows(refused.get_data(as_text=True))["long_summary"]
    assert "Overriding a failed rule needs a written justification" in block
    assert stored_results(application)[1].decided_outcome is None
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "eligibility.decide")) == 0

    accepted = client.post(_page(application), data={**form, "rule-long_summary-justification": JUSTIFICATION})
    assert accepted.status_code == 302
    result = stored_results(application)[1]
    assert (result.outcome, result.decided_outcome, result.justification) == (Outcome.FAIL, Outcome.PASS,
                                                                             JUSTIFICATION)
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "eligibility.decide")).one()
    assert event.object_id == str(application.id) and event.actor_id == case["officer"].id
    assert event.payload["rule"] == "long_summary" and event.payload["decided"] == "pass"


def test_api_decisions_override_confirm_and_refuse(client, session, case):
    application = case["application"]
    url = f"/api/v1/applications/{application.id}/eligibility/max_amount/decision"
    officer = {**bearer(case["officer"]), **EN}
    # a draft is not in eligibility review
    draft = client.post(url, json={"outcome": "pass", "justification": JUSTIFICATION}, headers=officer)
    assert draft.status_code == 409
    _submit(client, application, case["applicant"])
    # a blocking rule failing at submission (e.g. the register changed): stored as fail
    stored = stored_results(application)[0]
    stored.outcome = Outcome.FAIL
    session.flush()

    refused = client.post(url, json={"outcome": "pass"}, headers=officer)
    assert refused.status_code == 422 and "justification" in refused.get_json()["fields"]
    assert client.post(url, json={"outcome": "maybe", "justification": JUSTIFICATION},
                       headers=officer).status_code == 422
    assert client.post(url, json={"outcome": "pass", "justification": JUSTIFICATION},
                       headers={**bearer(case["applicant"]), **EN}).status_code == 403

    accepted = client.post(url, json={"outcome": "pass", "justification": JUSTIFICATION, "version": 3}, headers=officer)
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json() == {"code": "max_amount", "title": "Amount up to 8000 EUR", "severity": "blocking",
                                   "outcome": "pass", "decided_outcome": "pass", "message": "",
                                   "justification": JUSTIFICATION}
    assert client.post(url, json={"outcome": "pass", "justification": JUSTIFICATION, "version": 1},
                       headers=officer).status_code == 409  # stale version
    manual = f"/api/v1/applications/{application.id}/eligibility/double_funding/decision"
    assert client.post(manual, json={"outcome": "fail"}, headers=officer).status_code == 422
    assert client.post(manual, json={"outcome": "pass"}, headers=officer).status_code == 200
    body = client.get(f"/api/v1/applications/{application.id}/eligibility",
                      headers={**bearer(case["applicant"]), **EN}).get_json()
    assert body["passed"] is True
    assert "justification" not in body["results"][0]  # passed in the end: the applicant is not shown it
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "eligibility.decide")) == 2


@pytest.mark.parametrize(("locale", "title", "heading"), [
    ("lv", "Dubultā finansējuma pārbaude", None), ("en", "Double-funding check", "You may appeal until")])
def test_declaring_ineligible_sends_the_reasons_and_the_appeal_deadline(client, session, case, locale, title, heading):
    from grants.eligibility.services import appeal_deadline
    from grants.notifications.services import local_time

    application, applicant = case["application"], case["applicant"]
    applicant.locale = locale
    _submit(client, application, applicant)
    login(client, case["officer"])
    token = csrf_token_from(client.get(_page(application)).get_data(as_text=True))
    reason = "The same kitchen is already funded by call C-1 for 2027."
    assert client.post(_page(application), data={
        "rule": "double_funding", "rule-double_funding-csrf_token": token, "rule-double_funding-outcome": "fail",
        "rule-double_funding-justification": reason, "rule-double_funding-version": _version(application),
    }).status_code == 302
    assert client.post(_page(application), data={
        "csrf_token": token, "trigger": "declare_ineligible", "comment": "Double funding.",
        "version": _version(application)}).status_code == 302
    assert session.scalar(sa.select(Application.state).where(Application.id == application.id)) == "ineligible"

    message = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "ineligible")).one()
    assert message.to_address == applicant.email and message.language == locale
    assert f"- {title}:" in message.body
    assert local_time(appeal_deadline(application)) in message.body
    if heading:
        assert heading in message.body
    # the applicant now reads the decision and its justification (the rule is finally not met)
    body = client.get(f"/api/v1/applications/{application.id}/eligibility", headers=bearer(applicant)).get_json()
    assert body["passed"] is False and body["results"][2]["justification"] == reason
    assert body["results"][2]["outcome"] == "fail" and body["results"][2]["decided_outcome"] == "fail"
    browser = client.application.test_client()
    login(browser, applicant)
    assert reason in _rows(browser.get(_page(application)).get_data(as_text=True))["double_funding"]


# --- Who may see what --------------------------------------------------------------------------

def test_an_auditor_reads_but_cannot_decide(client, session, case):
    application = case["application"]
    _submit(client, application, case["applicant"])
    login(client, case["auditor"])
    assert client.get("/eligibility/").status_code == 200
    page = client.get(_page(application))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="rule"' not in html and 'value="declare_eligible"' not in html
    token = csrf_token_from(html)  # the sign-out form's
    assert client.post(_page(application), data={
        "rule": "double_funding", "rule-double_funding-csrf_token": token,
        "rule-double_funding-outcome": "pass"}).status_code == 403
    assert client.post(_page(application), data={"csrf_token": token, "trigger": "declare_eligible"}).status_code == 403
    assert client.post(f"/api/v1/applications/{application.id}/eligibility/double_funding/decision",
                       json={"outcome": "pass"}, headers=bearer(case["auditor"])).status_code == 403
    assert client.get(f"/api/v1/applications/{application.id}/eligibility",
                      headers=bearer(case["auditor"])).status_code == 200
    assert stored_results(application)[2].decided_outcome is None


def test_an_applicant_of_another_organisation_is_told_nothing_exists(client, case):
    application = case["application"]
    stranger = make_user("applicant")
    make_organisation(stranger)
    assert client.get(f"/api/v1/applications/{application.id}/eligibility", headers=bearer(stranger)).status_code == 404
    login(client, stranger)
    assert client.get(_page(application)).status_code == 404
    assert client.get("/eligibility/").status_code == 403


def test_the_application_page_links_the_check_and_summarises_stored_results(client, case):
    application = case["application"]
    login(client, case["applicant"])
    html = client.get(f"/applications/{application.id}?lang=en").get_data(as_text=True)
    assert _page(application) in html and "waiting for an officer" not in html
    _submit(client, application, case["applicant"])
    html = client.get(f"/applications/{application.id}?lang=en").get_data(as_text=True)
    assert "Blocking rules failed: 0; waiting for an officer: 1; warnings: 1." in html


# --- The queue ---------------------------------------------------------------------------------

def _queued(count: int, call) -> list[Application]:
    applications = []
    for _ in range(count):
        applicant = make_user("applicant")
        application = make_application(call, make_organisation(applicant))
        applications.append((application, applicant))
    return applications


def test_the_queue_lists_oldest_first_with_counts_in_a_fixed_number_of_queries(client, session, case,
                                                                                  count_queries):
    call, first = case["call"], case["application"]
    call_id, first_id = call.id, first.id
    _submit(client, first, case["applicant"])
    login(client, case["officer"])
    session.expunge_all()  # nothing already loaded may hide a query per row
    with count_queries() as one:
        response = client.get("/eligibility/?lang=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    row = re.search(rf'data-application="{first_id}">(.*?)</tr>', html, re.S).group(1)
    assert [int(n) for n in re.findall(r'class="num">(\d+)</td>', row)] == [0, 1, 1]

    call = session.get(type(call), call_id)
    for application, applicant in _queued(5, call):
        assert _submit(client, application, applicant).status_code == 200
    session.expunge_all()
    with count_queries() as six:
        html = client.get("/eligibility/?lang=en").get_data(as_text=True)
    assert html.count('class="queue-row"') == 7  # the six of the call, and the other call's one (no results)
    assert six.count == one.count, six.statements

    filtered = client.get(f"/eligibility/?call_id={call_id}").get_data(as_text=True)
    assert filtered.count('class="queue-row"') == 6
    ids = [int(i) for i in re.findall(r'data-application="(\d+)"', filtered)]
    assert ids[0] == first_id  # the oldest submission first


def test_the_queue_shows_applications_waiting_for_a_clarification(client, session, case):
    application = case["application"]
    _submit(client, application, case["applicant"])
    officer = {**bearer(case["officer"]), **EN}
    response = client.post(f"/api/v1/applications/{application.id}/transitions",
                           json={"trigger": "request_clarification", "comment": "Which kitchen is this?"},
                           headers=officer)
    assert response.status_code == 200, response.get_json()
    login(client, case["officer"])
    html = client.get("/eligibility/?lang=en").get_data(as_text=True)
    assert "Waiting for the applicant" in html
    # while reopened, the page checks the application as it is now
    assert check_application(application)[0].outcome == Outcome.PASS
    assert "Your check now" in client.get(_page(application) + "?lang=en").get_data(as_text=True)
