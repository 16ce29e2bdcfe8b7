"""Issue 17, items 2 and 3: a stage's smallest and largest grant and the programme's budget are the call's and the
programme's, enforced whatever the call's eligibility rules say (the calls here have none).

- The requested amount is within the SI stage's limits: a draft cannot take an amount outside them (API and
  page), a submission is refused while its amount is outside them (409 naming ``requested_amount``), and the
  committee awards within them, never more than requested (422 naming ``amount``).
- The calls' budgets together, and the awards together, stay within the programme's budget: creating, editing,
  publishing or correcting a call that would take more is refused (field ``budget``); so is an approval or an
  agreement that would award more (fields ``amount``, ``awarded_amount``). Exactly the budget is allowed.
- Two committee members approving at once cannot both pass the budget check (the programme's row is locked).
"""

from __future__ import annotations

import html
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.calls.models import Call, CallStatus, Programme
from grants.calls.programmes import awarded
from grants.core.db import db, today
from grants.core.errors import TransitionNotAllowed, UserInputError
from grants.decisions.models import Decision
from grants.decisions.services import decide
from grants.evaluations.models import Assignment
from grants.evaluations.services import auto_assign
from grants.users.models import User
from grants.workflows.engine import fire
from tests.conftest import csrf_token_from, in_transaction, live_application
from tests.factories import (
    approved,
    bearer,
    in_evaluation,
    login,
    make_application,
    make_call,
    make_evaluation_call,
    make_organisation,
    make_pool,
    make_programme,
    make_user,
    review,
    signed_grant,
    small_form,
)

EN = {"Accept-Language": "en"}
LV = {"Accept-Language": "lv"}
#: The stage of the calls below: from 2 000 to 15 000 EUR (no eligibility rule says so).
STAGE = (("prototyping", "100000.00", "2000.00", "15000.00"),)
LIMITS_LV = "Šim SI posmam: no 2 000,00 € līdz 15 000,00 €."
LIMITS_EN = "Between 2,000.00 € and 15,000.00 € for this SI stage."


def _plain(text: str) -> str:
    """Page or message text with the non-breaking spaces of formatted amounts as plain spaces."""
    return html.unescape(text).replace("\u00a0", " ").replace("\u202f", " ")


def _messages(body: dict, field: str) -> str:
    return _plain(" ".join(body["fields"][field]))


@pytest.fixture
def call(session):
    call = make_call(stages=STAGE)
    assert call.eligibility_rules == []
    return call


# --- the requested amount: submit --------------------------------------------------------------------

def _submit(client, application):
    member = application.organisation.memberships[0].user
    url = f"/api/v1/applications/{application.id}/transitions"
    return (client.post(url, json={"trigger": "submit"}, headers={**bearer(member), **LV}),
            client.post(url, json={"trigger": "submit"}, headers={**bearer(member), **EN}))


@pytest.mark.parametrize("amount", ["999999.00", "15000.01", "1999.99", "0.00"])
def test_a_submission_outside_the_stage_limits_is_refused_whatever_the_rules(client, call, amount):
    application = make_application(call, si_stage="prototyping", requested_amount=Decimal(amount))
    lv, en = _submit(client, application)
    assert lv.status_code == en.status_code == 409, lv.get_json()
    assert "amount_outside_limits" in {reason["code"] for reason in en.get_json()["reasons"]}
    assert _messages(lv.get_json(), "requested_amount") == LIMITS_LV
    assert _messages(en.get_json(), "requested_amount") == LIMITS_EN
    assert LIMITS_EN in _plain(en.get_json()["message"]) and LIMITS_LV in _plain(lv.get_json()["message"])
    db.session.refresh(application)
    assert application.state == "draft"  # the draft is kept


@pytest.mark.parametrize("amount", ["15000.00", "2000.00"])
def test_a_submission_at_the_stage_limits_goes_through(client, call, amount):
    application = make_application(call, si_stage="prototyping", requested_amount=Decimal(amount))
    response, _en = _submit(client, application)
    assert response.status_code == 200, response.get_json()


def test_a_resubmission_after_clarification_is_refused_outside_the_limits_too(client, session, call):
    application = make_application(call, si_stage="prototyping", requested_amount=Decimal("9000.00"))
    officer = make_user("officer")
    fire(application, "submit", application.organisation.memberships[0].user)
    fire(application, "request_clarification", officer, comment="Precizējiet summu.")
    application.requested_amount = Decimal("15000.01")  # as a corrigendum lowering the maximum would leave it
    session.flush()
    member = application.organisation.memberships[0].user
    response = client.post(f"/api/v1/applications/{application.id}/transitions", json={"trigger": "resubmit"},
                           headers={**bearer(member), **EN})
    assert response.status_code == 409 and _messages(response.get_json(), "requested_amount") == LIMITS_EN


# --- the requested amount: saving a draft -----------------------------------------------------------------

def _draft_body(call, organisation, amount: str) -> dict:
    return {"call_id": call.id, "organisation_id": organisation.id, "si_stage": "prototyping", "title": "Pilots",
            "summary": "Kopsavilkums", "requested_amount": amount, "duration_months": 6, "answers": {}}


def test_the_api_saves_no_draft_outside_the_stage_limits(client, session, call):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    for amount in ("999999.00", "15000.01", "1999.99"):
        for headers, expected in ((LV, LIMITS_LV), (EN, LIMITS_EN)):
            refused = client.post("/api/v1/applications", json=_draft_body(call, organisation, amount),
                                  headers={**bearer(applicant), **headers})
            assert refused.status_code == 422 and set(refused.get_json()["fields"]) == {"requested_amount"}
            assert _messages(refused.get_json(), "requested_amount") == expected
    assert session.scalar(sa.select(sa.func.count()).select_from(Application)
                          .where(Application.call_id == call.id)) == 0  # nothing half saved
    created = client.post("/api/v1/applications", json=_draft_body(call, organisation, "15000.00"),
                          headers=bearer(applicant))
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/applications/{created.get_json()['id']}"
    patched = client.patch(url, json={"version": 1, "requested_amount": "15000.01"},
                           headers={**bearer(applicant), **EN})
    assert patched.status_code == 422 and _messages(patched.get_json(), "requested_amount") == LIMITS_EN
    assert client.get(url, headers=bearer(applicant)).get_json()["requested_amount"] == "15000.00"
    patched = client.patch(url, json={"version": 1, "requested_amount": "2000.00"}, headers=bearer(applicant))
    assert patched.status_code == 200 and patched.get_json()["requested_amount"] == "2000.00"


def test_a_draft_left_outside_changed_limits_still_saves_its_other_fields(client, session, call):
    """A corrigendum may narrow the limits under a draft: the applicant keeps working on it (only a changed amount
    is checked); the submission is refused until the amount is within them."""
    application = make_application(call, si_stage="prototyping", requested_amount=Decimal("20000.00"))
    member = application.organisation.memberships[0].user
    patched = client.patch(f"/api/v1/applications/{application.id}", headers=bearer(member),
                           json={"version": application.version, "title": "Jauns nosaukums"})
    assert patched.status_code == 200 and patched.get_json()["requested_amount"] == "20000.00"
    refused, _en = _submit(client, application)
    assert refused.status_code == 409 and _messages(refused.get_json(), "requested_amount") == LIMITS_LV


def test_the_pages_say_the_limits_and_refuse_an_amount_outside_them(client, session, call):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    login(client, applicant)
    page = client.get(f"/applications/new?call_id={call.id}").get_data(as_text=True)
    assert "2 000,00 € – 15 000,00 €" in _plain(page)  # each stage with its limits
    form = {"csrf_token": csrf_token_from(page), "organisation_id": organisation.id, "si_stage": "prototyping",
            "initiative_id": 0, "title": "Pilots", "summary": "", "requested_amount": "999999", "duration_months": "6"}
    refused = client.post(f"/applications/new?call_id={call.id}", data=form)
    assert refused.status_code == 422 and LIMITS_LV in _plain(refused.get_data(as_text=True))
    assert 'value="999999"' in refused.get_data(as_text=True)  # what was typed is kept
    created = client.post(f"/applications/new?call_id={call.id}", data={**form, "requested_amount": "15000"})
    assert created.status_code == 302
    application = session.scalars(sa.select(Application).where(Application.call_id == call.id)).one()
    edit = client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert LIMITS_LV in _plain(edit)  # the field's help
    typed = {"csrf_token": csrf_token_from(edit), "version": str(application.version), "title": "Pilots",
             "summary": "", "requested_amount": "15000.01", "duration_months": "6",
             "answers-project_name": "Pilots", "answers-description": ""}
    refused = client.post(f"/applications/{application.id}/edit", data=typed)
    text = _plain(refused.get_data(as_text=True))
    assert refused.status_code == 422 and 'id="requested_amount-error"' in text and LIMITS_LV in text
    session.refresh(application)
    assert application.requested_amount == Decimal("15000.00")
    english = client.post(f"/applications/{application.id}/edit?lang=en", data=typed)
    assert english.status_code == 422 and LIMITS_EN in _plain(english.get_data(as_text=True))


def test_the_page_refuses_the_submission_and_shows_the_stored_amount_as_wrong(client, session, call):
    application = make_application(call, si_stage="prototyping", requested_amount=Decimal("999999.00"))
    login(client, application.organisation.memberships[0].user)
    edit = _plain(client.get(f"/applications/{application.id}/edit").get_data(as_text=True))
    assert 'id="requested_amount-error"' in edit and LIMITS_LV in edit
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    refused = client.post(f"/applications/{application.id}", data={
        "csrf_token": csrf_token_from(page), "trigger": "submit", "comment": "", "version": str(application.version)})
    assert refused.status_code == 409 and LIMITS_LV in _plain(refused.get_data(as_text=True))
    session.refresh(application)
    assert application.state == "draft"


# --- the committee's amount -------------------------------------------------------------------------------

@pytest.fixture
def people(session):
    return {"officer": make_user("officer"), "committee": make_user("committee")}


def _evaluated(call, officer, **overrides):
    """An application of ``call`` scored by two evaluators of its pool: ready for the committee."""
    application = in_evaluation(call, officer, **overrides)
    if not db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)
                             .where(Assignment.application_id == application.id)):
        auto_assign(call, officer)
    for assignment in db.session.scalars(sa.select(Assignment).where(
            Assignment.application_id == application.id, Assignment.state == "assigned")).unique():
        review(assignment, 85)
    assert application.state == "evaluated"
    return application


def _decide(client, application, committee, amount: str | None, headers=EN):
    return client.post(f"/api/v1/applications/{application.id}/decision", headers={**bearer(committee), **headers},
                       json={"outcome": "approved", "amount": amount, "decided_on": today().isoformat(),
                             "justification": "Komisijas lēmums."})


def _evaluation_call(programme=None, version: int = 5):
    call = make_evaluation_call(programme, workflow_version=version, stages=STAGE)
    make_pool(call, 2, make_user("officer"))
    return call


def test_the_committee_awards_within_the_stage_limits_whatever_the_rules(client, session, people):
    call = _evaluation_call()
    officer, committee = people["officer"], people["committee"]
    application = _evaluated(call, officer, si_stage="prototyping", requested_amount=Decimal("5000.00"))
    below = _decide(client, application, committee, "1999.99")
    assert below.status_code == 422 and _messages(below.get_json(), "amount") == LIMITS_EN
    below = _decide(client, application, committee, "1999.99", headers=LV)
    assert below.status_code == 422 and _messages(below.get_json(), "amount") == LIMITS_LV
    over = _decide(client, application, committee, "5000.01")
    assert over.status_code == 422 and "amount" in over.get_json()["fields"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0
    assert _decide(client, application, committee, "2000.00").status_code == 201


def test_an_amount_requested_over_the_maximum_is_never_awarded_as_it_is(client, session, people):
    call = _evaluation_call()
    officer, committee = people["officer"], people["committee"]
    application = _evaluated(call, officer, si_stage="prototyping", requested_amount=Decimal("12000.00"))
    application.requested_amount = Decimal("999999.00")  # as submitted before the limits were enforced
    session.flush()
    refused = _decide(client, application, committee, None)  # the requested amount, by default
    assert refused.status_code == 422 and _messages(refused.get_json(), "amount") == LIMITS_EN
    assert _decide(client, application, committee, "15000.01").status_code == 422
    accepted = _decide(client, application, committee, "15000.00")
    assert accepted.status_code == 201 and accepted.get_json()["amount"] == "15000.00"


# --- the programme's budget: calls --------------------------------------------------------------------

def _call_body(programme, code: str, envelope: str) -> dict:
    now = datetime.now(UTC)
    return {"programme_id": programme.id, "code": code, "title_lv": "Konkurss", "title_en": "Call",
            "opens_at": (now + timedelta(days=1)).isoformat(), "closes_at": (now + timedelta(days=40)).isoformat(),
            "stages": [{"si_stage": "idea_generation", "envelope": envelope, "min_grant": "1000.00",
                        "max_grant": "10000.00"}], "form": small_form()}


BUDGET_EN = ("The programme's budget is 100,000.00 €; its other calls hold 60,000.00 €, so 40,000.00 € is left: "
             "this call's budget of 40,000.01 € does not fit.")
BUDGET_LV = ("Programmas budžets ir 100 000,00 €; tās pārējiem konkursiem atvēlēti 60 000,00 €, tātad atlikuši "
             "40 000,00 €: šī konkursa budžets 40 000,01 € tajā neietilpst.")


def test_the_calls_budgets_stay_within_the_programme_budget(client, session):
    officer = make_user("officer")
    programme = make_programme(budget=Decimal("100000.00"))
    make_call(programme, stages=(("idea_generation", "60000.00", "1000.00", "10000.00"),))
    for headers, expected in ((EN, BUDGET_EN), (LV, BUDGET_LV)):
        refused = client.post("/api/v1/calls", json=_call_body(programme, "SI-OVER", "40000.01"),
                              headers={**bearer(officer), **headers})
        assert refused.status_code == 422 and _messages(refused.get_json(), "budget") == expected
    assert session.scalar(sa.select(Call.id).where(Call.code == "SI-OVER")) is None
    created = client.post("/api/v1/calls", json=_call_body(programme, "SI-EXACT", "30000.00"), headers=bearer(officer))
    assert created.status_code == 201, created.get_json()
    call_id = created.get_json()["id"]
    # editing the draft: its own budget is not counted twice; exactly what is left is allowed
    stages = [{"si_stage": "idea_generation", "envelope": "40000.01", "min_grant": "1000.00", "max_grant": "10000.00"}]
    refused = client.patch(f"/api/v1/calls/{call_id}", json={"stages": stages}, headers={**bearer(officer), **EN})
    assert refused.status_code == 422 and _messages(refused.get_json(), "budget") == BUDGET_EN
    stages[0]["envelope"] = "40000.00"
    exact = client.patch(f"/api/v1/calls/{call_id}", json={"stages": stages}, headers=bearer(officer))
    assert exact.status_code == 200 and exact.get_json()["budget"] == "40000.00"
    assert client.post(f"/api/v1/calls/{call_id}/publish", headers=bearer(officer)).status_code == 200
    # a corrigendum raising an envelope past what is left
    stages[0]["envelope"] = "40000.01"
    refused = client.post(f"/api/v1/calls/{call_id}/corrigenda", headers={**bearer(officer), **EN},
                          json={"reason": "Lielāks budžets", "stages": stages})
    assert refused.status_code == 422 and _messages(refused.get_json(), "budget") == BUDGET_EN
    assert session.get(Call, call_id).version == 1


def test_publishing_a_call_that_no_longer_fits_is_refused(client, session):
    officer = make_user("officer")
    programme = make_programme(budget=Decimal("100000.00"))
    draft = make_call(programme, status=CallStatus.DRAFT, stages=(("idea_generation", "60000.00", "1000.00",
                                                                   "10000.00"),))
    make_call(programme, stages=(("idea_generation", "40000.01", "1000.00", "10000.00"),))  # set up around the rule
    refused = client.post(f"/api/v1/calls/{draft.id}/publish", headers={**bearer(officer), **EN})
    assert refused.status_code == 422 and "budget" in refused.get_json()["fields"]
    assert session.get(Call, draft.id).status == CallStatus.DRAFT


def test_the_call_page_refuses_a_call_over_the_programme_budget(client, session):
    officer = make_user("officer")
    programme = make_programme(budget=Decimal("100000.00"))
    make_call(programme, stages=(("idea_generation", "60000.00", "1000.00", "10000.00"),))
    login(client, officer)
    page = client.get("/calls/new").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page), "programme_id": str(programme.id), "code": "SI-PAGE-OVER",
            "title_lv": "Konkurss", "title_en": "Call", "description_lv": "", "description_en": "",
            "opens_at": "2027-01-01T12:00", "closes_at": "2027-02-01T18:00", "workflow": "application:1",
            "stages-1-include": "y", "stages-1-envelope": "40000.01", "stages-1-min_grant": "1000",
            "stages-1-max_grant": "10000"}
    for index, code in enumerate(programme.stages.codes):
        data[f"stages-{index}-si_stage"] = code
    refused = client.post("/calls/new", data=data)
    assert refused.status_code == 422 and BUDGET_LV in _plain(refused.get_data(as_text=True))
    assert client.post("/calls/new", data={**data, "stages-1-envelope": "40000"}).status_code == 302


# --- the programme's budget: awards -------------------------------------------------------------------

AWARD_EN = ("The programme's budget is 10,000.00 €; its awards already take 6,000.00 €, so 4,000.00 € is left: "
            "an award of 4,000.01 € does not fit.")
AWARD_LV = ("Programmas budžets ir 10 000,00 €; tās piešķirtais finansējums jau aizņem 6 000,00 €, tātad atlikuši "
            "4 000,00 €: finansējums 4 000,01 € tajā neietilpst.")


def _programme_with_an_award(people):
    """A programme of 10 000 EUR (its call set up around the call rule) of which an approval takes 6 000."""
    programme = make_programme(budget=Decimal("10000.00"))
    call = _evaluation_call(programme)
    approved(call, people["officer"], people["committee"], amount="6000.00", si_stage="prototyping",
             requested_amount=Decimal("6000.00"))
    return programme, call


def test_awards_stay_within_the_programme_budget(client, session, people):
    programme, call = _programme_with_an_award(people)
    other_call = _evaluation_call(programme)  # the budget is the programme's, across its calls
    application = _evaluated(other_call, people["officer"], si_stage="prototyping",
                             requested_amount=Decimal("5000.00"))
    for headers, expected in ((EN, AWARD_EN), (LV, AWARD_LV)):
        refused = _decide(client, application, people["committee"], "4000.01", headers=headers)
        assert refused.status_code == 422 and _messages(refused.get_json(), "amount") == expected
    assert session.scalar(sa.select(sa.func.count()).select_from(Decision)
                          .where(Decision.application_id == application.id)) == 0
    exact = _decide(client, application, people["committee"], "4000.00")
    assert exact.status_code == 201, exact.get_json()
    assert awarded(programme.id) == Decimal("10000.00")


def test_the_decision_page_refuses_an_award_over_the_programme_budget(client, session, people):
    programme, call = _programme_with_an_award(people)
    application = _evaluated(call, people["officer"], si_stage="prototyping", requested_amount=Decimal("5000.00"))
    login(client, people["committee"])
    page = client.get(f"/applications/{application.id}/decision").get_data(as_text=True)
    form = {"csrf_token": csrf_token_from(page), "outcome": "approved", "amount": "4000.01",
            "decided_on": today().isoformat(), "justification": "Komisijas lēmums.", "conditions": ""}
    refused = client.post(f"/applications/{application.id}/decision", data=form)
    text = _plain(refused.get_data(as_text=True))
    assert refused.status_code == 422 and AWARD_LV in text and 'id="amount-error"' in text
    session.refresh(application)
    assert application.state == "evaluated"
    assert client.post(f"/applications/{application.id}/decision", data={**form, "amount": "4000"}).status_code == 302
    session.refresh(application)
    assert application.state == "approved"


@pytest.mark.parametrize("version", [4, 5])
def test_an_approval_fired_any_other_way_is_refused(session, people, version):
    """The engine's path (not the decision service): v5's ``award_fits`` guard refuses the award before the state
    moves; on v4 (no such guard) the ``record_decision`` effect refuses it."""
    programme, _call = _programme_with_an_award(people)
    call = _evaluation_call(programme, version=version)
    application = _evaluated(call, people["officer"], si_stage="prototyping", requested_amount=Decimal("5000.00"))
    session.commit()  # the setup stays when the refused transition is rolled back
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(application, "approve", people["committee"], comment="Komisijas lēmums.", outcome="approved",
             amount=Decimal("4000.01"), decided_on=today().isoformat(), conditions="")
    assert [reason["code"] for reason in refused.value.reasons] == ["programme_budget"]
    assert refused.value.fields == {"amount": [refused.value.reasons[0]["message"]]}
    if version == 5:
        assert application.state == "evaluated"  # refused before the machine moved
    session.rollback()
    assert session.get(Application, application.id).state == "evaluated"


def test_what_the_awards_take_frees_a_terminated_grants_unpaid_money(session, people):
    """The dashboard's *awarded* (the agreement's amount, else the approval's), except that an award closed early
    keeps only what was paid or is still owed; applications never approved take nothing."""
    programme = make_programme(budget=Decimal("50000.00"))
    call = make_evaluation_call(programme, workflow_version=4)
    grant = signed_grant(people, amount="4000.00", call=call)
    make_application(call, state="rejected")
    assert awarded(programme.id) == Decimal("4000.00")
    assert awarded(programme.id, excluding=grant.id) == Decimal("0.00")
    fire(grant, "terminate", people["officer"], comment="Līgums lauzts.")  # its open instalments are rejected
    assert awarded(programme.id) == Decimal("0.00")


def test_an_agreement_without_a_recorded_decision_cannot_award_past_the_budget(client, session, people):
    """Workflows before decisions were recorded approve without an amount: the agreement states it."""
    programme = make_programme(budget=Decimal("10000.00"))
    call = make_call(programme, workflow_version=2, stages=STAGE)
    _programme_award = _evaluation_call(programme)
    approved(_programme_award, people["officer"], people["committee"], amount="6000.00", si_stage="prototyping",
             requested_amount=Decimal("6000.00"))
    application = make_application(call, si_stage="prototyping", state="approved",
                                   requested_amount=Decimal("5000.00"))
    url = f"/api/v1/applications/{application.id}/agreement"
    body = {"start_date": "2027-01-01", "end_date": "2027-06-30", "awarded_amount": "4000.01"}
    refused = client.put(url, json=body, headers={**bearer(people["officer"]), **EN})
    assert refused.status_code == 422 and _messages(refused.get_json(), "awarded_amount") == AWARD_EN
    over_request = client.put(url, json={**body, "awarded_amount": "5000.01"}, headers=bearer(people["officer"]))
    assert over_request.status_code == 422 and "awarded_amount" in over_request.get_json()["fields"]
    saved = client.put(url, json={**body, "awarded_amount": "4000.00"}, headers=bearer(people["officer"]))
    assert saved.status_code == 200, saved.get_json()


def test_the_programme_budget_cannot_go_below_what_its_awards_take(client, session, people):
    """The committee may award past a call's budget (departing from the ranking, justified), not past the
    programme's: the programme's budget then cannot go below its awards, even where its calls hold less."""
    programme = make_programme(budget=Decimal("10000.00"))
    call = make_evaluation_call(programme, workflow_version=4, stages=(("prototyping", "6000.00", "2000.00",
                                                                        "6000.00"),))
    for _ in range(2):
        approved(call, people["officer"], people["committee"], amount="4000.00", si_stage="prototyping",
                 requested_amount=Decimal("4000.00"))
    assert awarded(programme.id) == Decimal("8000.00")
    refused = client.patch(f"/api/v1/programmes/{programme.id}", json={"budget": "7999.99"},
                           headers={**bearer(people["officer"]), **EN})
    assert refused.status_code == 422 and "8000.00" in _messages(refused.get_json(), "budget")
    assert client.patch(f"/api/v1/programmes/{programme.id}", json={"budget": "8000.00"},
                        headers=bearer(people["officer"])).status_code == 200


# --- two committee members at once ---------------------------------------------------------------------------

JOIN_TIMEOUT = 120


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_application(tmp_path_factory.mktemp("grant_limits")) as app:
        yield app


def test_two_approvals_at_once_cannot_both_pass_the_budget_check(live):
    """Each approval alone fits in the programme's budget, both together do not: one is refused, whichever
    commits second, on PostgreSQL (the programme's row is locked while the awards are counted) and SQLite."""

    def setup():
        programme = make_programme(budget=Decimal("10000.00"))
        call = make_evaluation_call(programme, workflow_version=4, stages=STAGE)
        applications = [make_application(call, si_stage="prototyping", state="evaluated",
                                          requested_amount=Decimal("6000.00")) for _ in range(2)]
        members = [make_user("committee") for _ in range(2)]
        return programme.id, [a.id for a in applications], [m.id for m in members]

    programme_id, application_ids, member_ids = in_transaction(live, setup)
    start = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def approve(application_id: int, member_id: int):
        def work():
            # together, before either touches the database (on SQLite the first statement of a POST takes the
            # write lock: BEGIN IMMEDIATE)
            start.wait(JOIN_TIMEOUT)
            application = db.session.get(Application, application_id)
            decide(application, db.session.get(User, member_id), {
                "outcome": "approved", "amount": "6000.00", "decided_on": today(), "justification": "Atbalstīt."})
        try:
            in_transaction(live, work)
            outcomes[application_id] = "approved"
        except UserInputError as refused:
            outcomes[application_id] = "refused" if "amount" in refused.fields else repr(refused)
        except BaseException as error:  # reported below
            outcomes[application_id] = repr(error)

    threads = [threading.Thread(target=approve, args=pair, daemon=True) for pair in zip(application_ids, member_ids,
                                                                                           strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "an approval is stuck (deadlock?)"
    assert sorted(outcomes.values()) == ["approved", "refused"], outcomes

    def read():
        states = sorted(db.session.scalars(sa.select(Application.state).where(Application.id.in_(application_ids))))
        return states, awarded(programme_id), db.session.get(Programme, programme_id).budget

    states, taken, budget = in_transaction(live, read)
    assert states == ["approved", "evaluated"] and taken == Decimal("6000.00") <= budget

