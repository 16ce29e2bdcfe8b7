"""The demo command: idempotent, with the accounts and calls API.md promises."""

from datetime import timedelta

import sqlalchemy as sa

from grants.applications.models import Application, Submission
from grants.audit.models import AuditEvent
from grants.audit.services import read_head, verify_chain
from grants.calls.models import Call, CallStatus, CallVersion, Programme, PublicCallStatus
from grants.calls.services import call_snapshot
from grants.core.db import content_hash, db, utcnow
from grants.demo import CLOSED_CALL_CODE, DEMO_ACCOUNTS, OPEN_CALL_CODE, STAGE_GATED_CALL_CODE, load_demo
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
                           .where(AuditEvent.object_type == "application")).scalar_one() == 47  # each step once
    from grants.evaluations.models import Assignment, EvaluationResult

    scores = dict(session.execute(sa.select(Application.title, EvaluationResult.final_score)
                                  .join(EvaluationResult, EvaluationResult.application_id == Application.id)).all())
    assert {title: str(score) for title, score in scores.items()} == {
        "Kopienas virtuves Latgales ciemos": "79.00", "Darba prasmju darbnīca jauniešiem": "72.00",
        "Sociālais taksometrs lauku senioriem": "82.50",  # 85 and 55 differ by over 30 %: a third (80) came in
        "Latgales amatu skola jauniešiem": "81.50"}
    # 7 in the closed call, 2 for the stage-gated application's selection, 2 for its stage gate.
    assert session.execute(sa.select(sa.func.count()).select_from(Assignment)).scalar_one() == 11


def test_demo_builds_everything_through_the_services(app, session):
    """Issue 17: the calls are published through the freeze (content hash, version 1) by the officer,
    the programme, calls and applications are created by the services that audit them, nothing of a
    published call changes after it was frozen, and the closed calls closed by time."""
    load_demo()
    officer = session.execute(sa.select(User).where(User.email == "officer@demo.lv")).scalar_one()
    calls = {call.code: call for call in session.scalars(sa.select(Call))}
    assert set(calls) == {OPEN_CALL_CODE, CLOSED_CALL_CODE, STAGE_GATED_CALL_CODE}
    for call in calls.values():
        assert call.status == CallStatus.PUBLISHED and call.published_at is not None
        versions = session.scalars(sa.select(CallVersion).where(CallVersion.call_id == call.id)
                                   .order_by(CallVersion.version)).all()
        assert [v.version for v in versions] == [1] and call.version == 1
        frozen = versions[-1]
        assert call.content_hash is not None
        assert call.content_hash == frozen.content_hash == content_hash(frozen.snapshot)
        assert content_hash(call_snapshot(call)) == call.content_hash, f"{call.code} changed after it was frozen"
        assert frozen.created_by_id == officer.id
        assert call.eligibility_rules and call.rubric and call.form
        actions = session.execute(sa.select(AuditEvent.action, AuditEvent.actor_id).where(
            AuditEvent.object_type == "call", AuditEvent.object_id == str(call.id))).all()
        assert {("call.create", officer.id), ("call.update", officer.id),
                ("call.publish", officer.id)} <= set(actions)
    assert calls[OPEN_CALL_CODE].public_status() == PublicCallStatus.OPEN
    assert calls[CLOSED_CALL_CODE].public_status() == PublicCallStatus.CLOSED
    assert calls[STAGE_GATED_CALL_CODE].public_status() == PublicCallStatus.CLOSED
    assert calls[STAGE_GATED_CALL_CODE].rubric["stages"]["prototyping"]["threshold"] == 60
    programme = session.execute(sa.select(Programme)).scalar_one()
    assert programme.budget == 2_000_000 and sum(call.budget for call in calls.values()) <= programme.budget
    assert session.execute(sa.select(AuditEvent.actor_id).where(
        AuditEvent.action == "programme.create", AuditEvent.object_id == str(programme.id))).scalar_one() == officer.id
    # Each application and its initiative started by the applicant, within the stage's limits.
    applications = session.scalars(sa.select(Application)).unique().all()
    created = set(session.scalars(sa.select(AuditEvent.object_id).where(AuditEvent.action == "application.create")))
    assert created == {str(a.id) for a in applications}
    initiatives = set(session.scalars(sa.select(AuditEvent.object_id).where(AuditEvent.action == "initiative.create")))
    assert initiatives == {str(a.initiative_id) for a in applications}
    for application in applications:
        stage = application.call.stage(application.si_stage)
        assert stage.min_grant <= application.requested_amount <= stage.max_grant, application.title
    # The submissions came before the deadline (a resubmission after a clarification request may come later).
    for submitted_at, closes_at in session.execute(sa.select(Submission.submitted_at, Call.closes_at).join(
            Application, Application.id == Submission.application_id).join(Call, Call.id == Application.call_id)
            .where(Submission.trigger == "submit")):
        assert submitted_at < closes_at
    assert verify_chain().valid


def test_demo_twice_changes_nothing_and_the_audit_chain_verifies(app, session):
    load_demo()
    session.flush()

    def everything():
        counts = {table.name: session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                  for table in db.metadata.sorted_tables}
        return counts, read_head()

    first = everything()
    assert load_demo()["calls"] == 3
    session.flush()
    assert everything() == first
    result = verify_chain()
    assert result.valid and result.events == first[0]["audit_events"] and result.head == first[1][0]


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
