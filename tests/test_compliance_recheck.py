"""Issue 17, items 1 and 5 (application workflows v5, payment v2).

De minimis is checked again when aid is granted, with the register as it is at that moment: before the
committee approves (the amount decided), before the agreement is signed (the amount it awards) and before a
payment that raises the aid registered for the grant; exactly at the ceiling passes, one cent over is refused
with the figures. An appeal's outcome reaches the applicant through the outbox, in their own language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.core.db import db, today, utcnow
from grants.core.errors import TransitionNotAllowed, UserInputError
from grants.decisions.services import decide
from grants.eligibility import de_minimis
from grants.eligibility.models import DeMinimisAid
from grants.eligibility.presets import demo_ruleset
from grants.eligibility.rules import validate_ruleset
from grants.evaluations.models import Assignment
from grants.evaluations.services import auto_assign
from grants.grants_mgmt import agreements, payments
from grants.notifications.models import OutboxMessage
from grants.users.models import User
from grants.workflows.engine import fire
from tests.factories import (
    GRANT_END,
    GRANT_REPORTS,
    GRANT_START,
    bearer,
    call_pool_size,
    in_evaluation,
    make_evaluation_call,
    make_pool,
    make_user,
    member_of,
    review,
    signed_grant,
    signed_pdf,
)

CEILING = Decimal("300000.00")


@pytest.fixture
def people(app):
    return {"officer": make_user("officer"), "committee": make_user("committee"),
            "finance1": make_user("finance"), "finance2": make_user("finance")}


def de_minimis_call(version: int = 5, **overrides):
    return make_evaluation_call(workflow_version=version, eligibility_rules=validate_ruleset(
        [rule for rule in demo_ruleset() if rule["code"] == "de_minimis"]), **overrides)


def evaluated(call, people, *, totals=(85, 85)):
    """A submitted (de minimis passing then), eligible application with two consolidated reviews."""
    application = in_evaluation(call, people["officer"])
    if not call_pool_size(call):
        make_pool(call, 2, people["officer"])
    auto_assign(call, people["officer"])
    for assignment, total in zip(db.session.scalars(sa.select(Assignment).where(
            Assignment.application_id == application.id).order_by(Assignment.id)).unique().all(), totals,
            strict=False):
        review(assignment, total)
    assert application.state == "evaluated"
    return application


def other_aid(application, amount: Decimal, granted_on: date | None = None) -> None:
    """Aid granted elsewhere to the same undertaking after the application was submitted (a register
    import, as finance would do it)."""
    de_minimis.add_aid(make_user("finance"), {
        "registration_number": application.organisation.registration_number, "undertaking": "Cits",
        "amount": f"{amount:.2f}", "granted_on": (granted_on or today()).isoformat(),
        "granting_authority": "LIAA", "reference": "cits"})


def approve(application, people, amount: str | None = None):
    return decide(application, people["committee"], {"outcome": "approved", "amount": amount,
                                                      "decided_on": utcnow().date(), "justification": "Atbalstīt."})


def reasons_of(refused: TransitionNotAllowed) -> dict[str, dict]:
    return {reason["code"]: reason for reason in refused.reasons}


# --- 1. de minimis re-checked -------------------------------------------------------------------------------

@pytest.mark.parametrize("over", [Decimal("0.00"), Decimal("0.01")])
def test_approve_rechecks_the_headroom_at_the_ceiling_and_one_cent_over(app, session, people, over):
    application = evaluated(de_minimis_call(), people)  # requests 5000.00
    other_aid(application, CEILING - Decimal("5000.00") + over)
    if not over:
        approve(application, people)
        assert application.state == "approved"
        return
    with pytest.raises(UserInputError) as refused:  # the committee may award less: a problem of the amount
        approve(application, people)
    [message] = refused.value.fields["amount"]
    assert application.state == "evaluated"
    for figure in ("295 000,01", "5 000,00", "300 000,01", "300 000,00", "4 999,99"):  # lv: the request's language
        assert figure in message.replace("\xa0", " "), message


def test_approving_a_reduced_amount_fits_the_headroom_left(app, session, people):
    application = evaluated(de_minimis_call(), people)
    other_aid(application, CEILING - Decimal("3000.00"))
    with pytest.raises(UserInputError):
        approve(application, people)
    approve(application, people, amount="3000.00")
    assert application.state == "approved"


def test_aid_older_than_the_rolling_period_does_not_count(app, session, people):
    application = evaluated(de_minimis_call(), people)
    old = today().replace(year=today().year - 3) - __import__("datetime").timedelta(days=1)
    other_aid(application, CEILING, granted_on=old)
    approve(application, people)
    assert application.state == "approved"


def test_the_decision_api_refuses_with_the_figures_in_the_callers_language(app, client, session, people):
    application = evaluated(de_minimis_call(), people)
    other_aid(application, CEILING - Decimal("4999.99"))
    response = client.post(f"/api/v1/applications/{application.id}/decision",
                           json={"outcome": "approved", "justification": "Atbalstīt.",
                                 "decided_on": today().isoformat()},
                           headers={**bearer(people["committee"]), "Accept-Language": "en"})
    assert response.status_code == 422, response.get_json()
    [message] = response.get_json()["fields"]["amount"]
    assert "De minimis ceiling" in message and "300,000.01" in message
    assert "At most 4,999.99 € can be granted now" in message.replace("\xa0", " ")
    assert session.scalar(sa.select(sa.func.count()).select_from(DeMinimisAid)
                          .where(DeMinimisAid.application_id == application.id)) == 0


def _agreement(application, people):
    agreements.save_agreement(application, people["officer"], {
        "start_date": GRANT_START, "end_date": GRANT_END, "reports": GRANT_REPORTS,
        "schedule": [{"kind": "advance", "amount": f"{application.requested_amount - 1000:.2f}",
                      "due_on": "2025-01-10"}]}, today=today())
    agreements.attach_signed_file(application, people["officer"], signed_pdf())


@pytest.mark.parametrize("over", [Decimal("0.00"), Decimal("0.01")])
def test_signing_rechecks_the_headroom_and_registers_the_award(app, session, people, over):
    application = evaluated(de_minimis_call(), people)
    approve(application, people, amount="4000.00")
    _agreement(application, people)
    other_aid(application, CEILING - Decimal("4000.00") + over)  # granted between decision and signature
    if over:
        with pytest.raises(TransitionNotAllowed) as refused:
            fire(application, "sign_contract", people["officer"])
        reason = reasons_of(refused.value)["de_minimis_ceiling"]
        assert reason["fields"].keys() == {"awarded_amount"}
        message = reason["message"].replace("\xa0", " ")
        assert "4 000,00" in message and "300 000,01" in message and "3 999,99" in message
        assert application.state == "approved"
        assert de_minimis.headroom(application.organisation.registration_number)["received"] == CEILING - 4000 + over
        return
    fire(application, "sign_contract", people["officer"])
    assert application.state == "contracted"
    aid = session.scalars(sa.select(DeMinimisAid).where(DeMinimisAid.application_id == application.id)).one()
    assert aid.amount == Decimal("4000.00")
    assert de_minimis.headroom(application.organisation.registration_number)["remaining"] == Decimal("0.00")


def test_signing_through_the_api_is_refused_with_409_and_reasons(app, client, session, people):
    application = evaluated(de_minimis_call(), people)
    approve(application, people, amount="4000.00")
    _agreement(application, people)
    other_aid(application, CEILING)
    response = client.post(f"/api/v1/applications/{application.id}/transitions", json={"trigger": "sign_contract"},
                           headers=bearer(people["officer"]))
    assert response.status_code == 409, response.get_json()
    assert "de_minimis_ceiling" in {r["code"] for r in response.get_json()["reasons"]}


def test_calls_without_de_minimis_and_older_workflow_versions_are_not_rechecked(app, session, people):
    plain = evaluated(make_evaluation_call(workflow_version=5), people)
    other_aid(plain, CEILING * 2)
    approve(plain, people)
    assert plain.state == "approved"
    pinned = evaluated(de_minimis_call(version=4), people)  # a call published on v4 keeps its rules
    other_aid(pinned, CEILING)
    approve(pinned, people)
    assert pinned.state == "approved"


def _paid(application, payment, people):
    payments.act_on_payment(payment, "request", people["officer"], today=today())
    payments.act_on_payment(payment, "verify", people["finance1"], today=today())
    payments.act_on_payment(payment, "pay", people["finance2"], today=today())


@pytest.mark.parametrize("over", [Decimal("0.00"), Decimal("0.01")])
def test_a_payment_raising_the_registered_aid_is_checked_and_registers_the_raise(app, session, people, over):
    application = signed_grant(people, call=de_minimis_call())  # 4000: advance 2000, interim 1500, final 500
    # A grant signed before awards went into the register: nothing is registered for it.
    session.execute(sa.delete(DeMinimisAid).where(DeMinimisAid.application_id == application.id))
    other_aid(application, CEILING - Decimal("2000.00") + over)
    advance = next(p for p in payments.payments_of(application) if p.kind.value == "advance")
    assert advance.workflow_version == 2
    if over:
        with pytest.raises(TransitionNotAllowed) as refused:
            _paid(application, advance, people)
        assert "de_minimis_ceiling" in reasons_of(refused.value)
        assert advance.state == "verified"
        return
    _paid(application, advance, people)
    assert advance.state == "paid"
    raised = session.scalars(sa.select(DeMinimisAid).where(DeMinimisAid.application_id == application.id)).one()
    assert raised.amount == Decimal("2000.00")


def test_payments_within_the_registered_award_do_not_touch_the_register(app, session, people):
    application = signed_grant(people, call=de_minimis_call())
    other_aid(application, CEILING)  # the undertaking is at the ceiling now; the award was registered before
    advance = next(p for p in payments.payments_of(application) if p.kind.value == "advance")
    _paid(application, advance, people)
    assert advance.state == "paid"
    assert session.scalar(sa.select(sa.func.count()).select_from(DeMinimisAid)
                          .where(DeMinimisAid.application_id == application.id)) == 1


# --- 5. the appeal's outcome reaches the applicant --------------------------------------------------------

def _messages(application) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.kind == "appeal_outcome", OutboxMessage.object_id == str(application.id))
        .order_by(OutboxMessage.id)))


def _rejected(people, call=None):
    application = evaluated(call or make_evaluation_call(workflow_version=5), people, totals=(30, 32))
    decide(application, people["committee"], {"outcome": "rejected", "decided_on": utcnow().date()})
    return application


@pytest.mark.parametrize("trigger", ["dismiss_appeal", "uphold_appeal"])
def test_the_appeal_outcome_is_sent_with_the_reasons_in_each_members_language(app, session, people, trigger):
    application = _rejected(people)
    member = member_of(application)
    english = make_user("applicant", email="english-member@example.lv", name="English Member")
    english.locale = "en"
    from grants.organisations.services import accept_invitation, invite_member

    _invitation, token = invite_member(application.organisation, member, english.email)
    accept_invitation(token, english)
    session.expire(application.organisation, ["memberships"])
    fire(application, "appeal", member, comment="Vērtējums neņēma vērā mūsu pieredzi.")
    assert not _messages(application)
    fire(application, trigger, people["officer"], comment="Komisija pārskatīja vērtējumu / reasons 42.")
    messages = {m.to_address: m for m in _messages(application)}
    assert set(messages) == {member.email, english.email}
    lv, en = messages[member.email], messages[english.email]
    assert (lv.language, en.language) == ("lv", "en")
    for message in (lv, en):
        assert "Komisija pārskatīja vērtējumu / reasons 42." in message.body
        assert application.title in message.subject
    if trigger == "dismiss_appeal":
        assert application.state == "appeal_dismissed"
        assert en.subject.startswith("Appeal dismissed") and "remains not funded" in en.body
        assert lv.subject.startswith("Apelācija noraidīta")
    else:
        assert application.state == "evaluated"
        assert en.subject.startswith("Appeal upheld") and "will decide on the application again" in en.body
        assert lv.subject.startswith("Apelācija apmierināta")


def test_an_upheld_eligibility_appeal_says_eligibility_is_checked_again(app, session, people):
    from tests.factories import make_application

    application = make_application(make_evaluation_call(workflow_version=5))
    member = member_of(application)
    member.locale = "en"
    fire(application, "submit", member)
    fire(application, "declare_ineligible", people["officer"], comment="Nav reģistrēta biedrība.")
    fire(application, "appeal", member, comment="Esam reģistrēti.")
    fire(application, "uphold_appeal", people["officer"], comment="The registration was confirmed.")
    [message] = _messages(application)
    assert application.state == "eligibility_review"
    assert "eligibility is being checked again" in message.body
    assert "The registration was confirmed." in message.body


def test_appeals_of_older_workflow_versions_send_nothing_new(app, session, people):
    application = _rejected(people, call=make_evaluation_call(workflow_version=4))
    fire(application, "appeal", member_of(application), comment="Lūdzam pārskatīt.")
    fire(application, "dismiss_appeal", people["officer"], comment="Nav pamata.")
    assert _messages(application) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) > 0


# --- 6. the decision date is the committee's to give --------------------------------------------------------

def _date_input(html: str, field_id: str) -> str:
    import re

    return re.search(rf'<input[^>]*id="{field_id}"[^>]*>', html).group(0)


def test_the_decision_page_leaves_the_date_to_the_committee_and_requires_it(app, client, session, people):
    from tests.conftest import csrf_token_from
    from tests.factories import login

    application = evaluated(make_evaluation_call(workflow_version=5), people)
    login(client, people["committee"])
    page = client.get(f"/applications/{application.id}/decision").get_data(as_text=True)
    date_input = _date_input(page, "decided_on")
    assert "required" in date_input and ('value=""' in date_input or "value=" not in date_input), date_input
    response = client.post(f"/applications/{application.id}/decision", data={
        "csrf_token": csrf_token_from(page), "outcome": "approved", "amount": "5000.00", "decided_on": "",
        "conditions": "Nosacījums.", "justification": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="decided_on-error"' in html and "Nosacījums." in html
    assert application.state == "evaluated"


def test_the_gate_decision_api_requires_the_date(app, client, session, people):
    from tests.factories import gate_call, headers_of, score_gate, to_gate

    h = headers_of(people)
    application, _grantee, _payments = to_gate(client, people, gate_call(), h)
    score_gate(client, application, ((48, 32), (50, 33)))
    path = f"/api/v1/applications/{application.id}/gate-decision"
    undated = client.post(path, headers=h["committee"], json={"outcome": "passed", "reason": "Pierādīts."})
    assert undated.status_code == 422 and "decided_on" in undated.get_json()["fields"]
    session.refresh(application)
    assert application.state == "gate_evaluated"
    dated = client.post(path, headers=h["committee"], json={"outcome": "passed", "reason": "Pierādīts.",
                                                            "decided_on": today().isoformat()})
    assert dated.status_code == 200, dated.get_json()
