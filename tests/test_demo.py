"""The demo command: idempotent, with the accounts and calls API.md promises."""

from datetime import timedelta

import sqlalchemy as sa

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.calls.models import Call
from grants.core.db import utcnow
from grants.demo import DEMO_ACCOUNTS, OPEN_CALL_CODE, load_demo
from grants.organisations.models import Organisation
from grants.users.models import User


def _counts(session):
    return tuple(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
                 for model in (User, Organisation, Call))


def test_demo_is_idempotent_and_complete(app, session):
    load_demo()
    first = _counts(session)
    load_demo()
    assert _counts(session) == first == (len(DEMO_ACCOUNTS), 2, 3)
    call = session.execute(sa.select(Call).where(Call.code == OPEN_CALL_CODE)).scalar_one()
    assert call.is_open and call.closes_at - utcnow() >= timedelta(days=14)
    assert call.stage_codes == ["idea_generation", "prototyping", "scaling"]
    applicant = session.execute(sa.select(User).where(User.email == "applicant@demo.lv")).scalar_one()
    assert [o.legal_form for o in applicant.organisations] == ["association"]
    states = dict(session.execute(sa.select(Application.title, Application.state)).all())
    assert states == EXPECTED_STATES
    assert session.execute(sa.select(sa.func.count()).select_from(AuditEvent)
                           .where(AuditEvent.object_type == "application")).scalar_one() == 39  # each step once
    from grants.evaluations.models import Assignment, EvaluationResult

    scores = dict(session.execute(sa.select(Application.title, EvaluationResult.final_score)
                                  .join(EvaluationResult, EvaluationResult.application_id == Application.id)).all())
    assert {title: str(score) for title, score in scores.items()} == {
        "Kopienas virtuves Latgales ciemos": "79.00", "Darba prasmju darbnīca jauniešiem": "72.00",
        "Sociālais taksometrs lauku senioriem": "82.50",  # 85 and 55 differ by over 30 %: a third (80) came in
        "Latgales amatu skola jauniešiem": "81.50"}
    # 7 in the closed call, 2 for the stage-gated application's selection, 2 for its stage gate.
    assert session.execute(sa.select(sa.func.count()).select_from(Assignment)).scalar_one() == 11


def test_demo_has_a_running_grant_and_a_stage_gate_under_review(app, session):
    from grants.evaluations.models import Assignment
    from grants.grants_mgmt.models import GrantAgreement, GrantReport, Payment

    load_demo()
    by_title = {a.title: a for a in session.scalars(sa.select(Application)).unique()}
    grant, gated = by_title["Darba prasmju darbnīca jauniešiem"], by_title["Latgales amatu skola jauniešiem"]
    agreements = {a.application_id: a for a in session.scalars(sa.select(GrantAgreement))}
    assert agreements[grant.id].is_signed and agreements[gated.id].is_signed
    payments = {(p.application_id, p.kind.value): p.state for p in session.scalars(sa.select(Payment)).unique()}
    assert payments[(grant.id, "advance")] == "paid" and payments[(gated.id, "advance")] == "paid"
    reports = {(r.application_id, r.due.kind.value): r.state for r in session.scalars(sa.select(GrantReport)).unique()}
    assert reports == {(grant.id, "progress"): "submitted", (gated.id, "final"): "accepted"}
    gate = session.scalars(sa.select(Assignment.state).where(Assignment.application_id == gated.id,
                                                             Assignment.gate_stage == "prototyping")).all()
    assert gate == ["assigned", "assigned"]
    # Advances were verified by one finance officer and paid by the other.
    for payment in session.scalars(sa.select(Payment).where(Payment.state == "paid")).unique():
        assert payment.verified_by_id != payment.paid_by_id


EXPECTED_STATES = {
    "Kopienas virtuves Latgales ciemos": "evaluated",
    "Darba prasmju darbnīca jauniešiem": "in_implementation",
    "Mobilā bibliotēka": "ineligible",
    "Sociālais taksometrs lauku senioriem": "evaluated",
    "Kaimiņu palīdzības tīkls": "in_evaluation",
    "Latgales amatu skola jauniešiem": "gate_review",
    "Senioru digitālo prasmju kopienas": "draft",
    "Sociālās darbnīcas pilots Valmierā": "eligibility_review",
}


def test_demo_accounts_sign_in_and_see_the_open_call(app, client, session):
    load_demo()
    response = client.post("/api/v1/auth/tokens", json={"email": "applicant@demo.lv",
                                                        "password": app.config["DEMO_PASSWORD"]})
    assert response.status_code == 201
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['token']}"}).json
    assert me["roles"] == ["applicant"] and len(me["organisations"]) == 1
    open_calls = client.get("/api/v1/calls?status=open").json["items"]
    assert OPEN_CALL_CODE in [c["code"] for c in open_calls]
    for email, _name, role in DEMO_ACCOUNTS:
        user = session.execute(sa.select(User).where(User.email == email)).scalar_one()
        assert user.has_role(role)


def test_cli_demo_command(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "12 accounts" in result.output


def test_cli_create_admin(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--email", "root@example.lv", "--name", "Root",
                                 "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    user = session.execute(sa.select(User).where(User.email == "root@example.lv")).scalar_one()
    assert user.role_codes == ["admin"]
    weak = runner.invoke(args=["create-admin", "--email", "x@example.lv", "--name", "X", "--password", "short"])
    assert weak.exit_code == 1 and "password" in weak.output
