"""Grants after award through the API alone (issue 13 done-when): one award from decision to completion,
and stage-gated awards through a passed and a failed gate."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from grants.core.db import today
from grants.initiatives.models import Initiative
from grants.notifications.models import OutboxMessage
from tests.factories import (
    approved,
    bearer,
    fire_api,
    gate_call,
    headers_of,
    make_evaluation_call,
    make_pool,
    make_user,
    member_of,
    pay_through_api,
    report_through_api,
    score_gate,
    to_gate,
    upload_agreement,
)


@pytest.fixture
def people(app):
    return {"officer": make_user("officer"), "committee": make_user("committee"),
            "finance1": make_user("finance"), "finance2": make_user("finance")}


def test_one_award_from_decision_to_completion(app, client, session, people):
    call = make_evaluation_call(workflow_version=4)
    application = approved(call, people["officer"], people["committee"], amount="4000.00")
    h = headers_of(people)
    grantee = bearer(member_of(application))
    app_id = application.id
    start = today() - timedelta(days=200)
    end = start + timedelta(days=180)
    middle = start + timedelta(days=90)

    # The agreement: more than decided is refused, a schedule not adding up is refused.
    base = {"start_date": start.isoformat(), "end_date": end.isoformat(),
            "reports": [{"kind": "progress", "period_end": middle.isoformat(),
                         "due_on": (middle + timedelta(days=20)).isoformat()},
                        {"kind": "final", "period_end": end.isoformat(),
                         "due_on": (end + timedelta(days=5)).isoformat()}],
            "schedule": [{"kind": "advance", "amount": "1600.00", "due_on": start.isoformat()},
                         {"kind": "interim", "amount": "1600.00", "due_on": (middle + timedelta(days=25)).isoformat()},
                         {"kind": "final", "amount": "800.00", "due_on": (end + timedelta(days=10)).isoformat()}]}
    over = client.put(f"/api/v1/applications/{app_id}/agreement", json={**base, "awarded_amount": "4000.01"},
                      headers=h["officer"])
    assert over.status_code == 422 and "awarded_amount" in over.get_json()["fields"]
    short = client.put(f"/api/v1/applications/{app_id}/agreement", headers=h["officer"], json={
        **base, "schedule": [{"kind": "advance", "amount": "3999.99", "due_on": start.isoformat()}]})
    assert short.status_code == 422 and "schedule" in short.get_json()["fields"]
    # Nothing was half-saved.
    assert client.get(f"/api/v1/applications/{app_id}/agreement", headers=h["officer"]).status_code == 404
    assert client.put(f"/api/v1/applications/{app_id}/agreement", json=base, headers=grantee).status_code == 403
    saved = client.put(f"/api/v1/applications/{app_id}/agreement", json=base, headers=h["officer"])
    assert saved.status_code == 200, saved.get_json()
    agreement = saved.get_json()
    assert agreement["number"].startswith(call.programme.code) and agreement["awarded_amount"] == "4000.00"
    assert agreement["tranches"] == [{"si_stage": "idea_generation", "amount": "4000.00"}]
    assert [p["code"] for p in agreement["problems"]] == ["signed_file_missing"]

    # sign_contract is refused until the agreement is complete (the signed scan).
    refused = fire_api(client, f"/api/v1/applications/{app_id}/transitions", h["officer"], "sign_contract")
    assert refused.status_code == 409
    assert [r["code"] for r in refused.get_json()["reasons"]] == ["signed_file_missing"]
    assert upload_agreement(client, app_id, h["officer"]).status_code == 201
    assert fire_api(client, f"/api/v1/applications/{app_id}/transitions", h["officer"],
                 "sign_contract").get_json()["state"] == "contracted"
    assert client.put(f"/api/v1/applications/{app_id}/agreement", json=base,
                      headers=h["officer"]).status_code == 409  # signed: frozen
    assert fire_api(client, f"/api/v1/applications/{app_id}/transitions", h["officer"],
                 "start_implementation").get_json()["state"] == "in_implementation"

    schedule = client.get(f"/api/v1/applications/{app_id}/payments", headers=grantee).get_json()
    assert [(p["kind"], p["amount"], p["state"]) for p in schedule] == [
        ("advance", "1600.00", "planned"), ("interim", "1600.00", "planned"), ("final", "800.00", "planned")]
    advance, interim, final = (p["id"] for p in schedule)

    # The advance: one finance officer verifies, the same one may not pay, another does.
    assert fire_api(client, f"/api/v1/payments/{advance}/transitions", h["officer"], "request").status_code == 200
    assert fire_api(client, f"/api/v1/payments/{advance}/transitions", h["officer"], "verify").status_code == 403
    assert fire_api(client, f"/api/v1/payments/{advance}/transitions", h["finance1"], "verify").status_code == 200
    same = fire_api(client, f"/api/v1/payments/{advance}/transitions", h["finance1"], "pay")
    assert same.status_code == 409 and "separation_of_duties" in [r["code"] for r in same.get_json()["reasons"]]
    paid = fire_api(client, f"/api/v1/payments/{advance}/transitions", h["finance2"], "pay", reference="MP-100")
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid"

    # The interim payment waits for an accepted progress report.
    early = fire_api(client, f"/api/v1/payments/{interim}/transitions", h["officer"], "request")
    assert early.status_code == 409 and [r["code"] for r in early.get_json()["reasons"]] == ["report_missing"]
    progress = report_through_api(client, app_id, grantee, "progress", middle.isoformat())
    assert fire_api(client, f"/api/v1/grant-reports/{progress['id']}/transitions", grantee,
                 "submit").get_json()["state"] == "submitted"
    assert fire_api(client, f"/api/v1/grant-reports/{progress['id']}/transitions", h["officer"],
                 "accept").get_json()["state"] == "accepted"
    pay_through_api(client, interim, h)

    # The final report moves the application; accepting it leaves the last payment; paying it completes.
    final_report = report_through_api(client, app_id, grantee, "final", end.isoformat())
    fire_api(client, f"/api/v1/grant-reports/{final_report['id']}/transitions", grantee, "submit")
    assert client.get(f"/api/v1/applications/{app_id}", headers=grantee).get_json()["state"] == \
        "final_report_submitted"
    fire_api(client, f"/api/v1/grant-reports/{final_report['id']}/transitions", h["officer"], "accept")
    assert client.get(f"/api/v1/applications/{app_id}", headers=grantee).get_json()["state"] == \
        "final_report_accepted"
    last = pay_through_api(client, final, h)
    assert client.get(f"/api/v1/applications/{app_id}", headers=grantee).get_json()["state"] == "completed"

    grants = client.get("/api/v1/grants", headers=h["officer"], query_string={"call_id": call.id}).get_json()
    (row,) = grants["items"]
    paid_on = date.fromisoformat(last["paid_on"])
    assert row["paid_amount"] == "4000.00" and row["agreement_number"] == agreement["number"]
    assert row["keep_until"] == date(paid_on.year + 5, 12, 31).isoformat() and row["keep_until_provisional"] is False
    mine = client.get("/api/v1/grants", headers=grantee).get_json()
    assert [g["application_id"] for g in mine["items"]] == [app_id]
    assert client.get("/api/v1/grants", headers=bearer(make_user("applicant"))).get_json()["items"] == []
    # The grantee was told of every payment.
    kinds = session.scalars(sa.select(OutboxMessage.kind).where(OutboxMessage.object_id == str(app_id))).all()
    assert kinds.count("payment_paid") == 3 and "report_accepted" in kinds


def test_stage_gated_award_through_a_passed_gate(app, client, session, people):
    call = gate_call()
    make_pool(call, 2, people["officer"])
    h = headers_of(people)
    application, grantee, payments = to_gate(client, people, call, h)
    app_id = application.id
    state = client.get(f"/api/v1/applications/{app_id}", headers=grantee).get_json()["state"]
    assert state == "gate_review"
    # The first stage's final payment may go once its final report is accepted.
    pay_through_api(client, payments[1]["id"], h)
    score_gate(client, application, [(55, 35), (50, 30)])
    assert client.get(f"/api/v1/applications/{app_id}", headers=grantee).get_json()["state"] == "gate_evaluated"
    # The committee's decision is dated, never in the future.
    future = client.post(f"/api/v1/applications/{app_id}/gate-decision", headers=h["committee"],
                         json={"outcome": "passed", "decided_on": (today() + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and "decided_on" in future.get_json()["fields"]
    passed = client.post(f"/api/v1/applications/{app_id}/gate-decision", headers=h["committee"],
                         json={"outcome": "passed", "reason": "Prototips pierādīts.",
                               "decided_on": today().isoformat()})
    assert passed.status_code == 200, passed.get_json()
    assert passed.get_json() == {"application_id": app_id, "state": "in_implementation", "award_stage": "prototyping"}
    initiative = client.get(f"/api/v1/initiatives/{application.initiative_id}", headers=grantee).get_json()
    assert initiative["si_stage"] == "prototyping"
    assert [(p["si_stage"], p["application_id"]) for p in initiative["proven_stages"]] == [
        ("idea_generation", app_id)]
    schedule = client.get(f"/api/v1/applications/{app_id}/payments", headers=grantee).get_json()
    tranche = [p for p in schedule if p["kind"] == "tranche"]
    assert [(p["si_stage"], p["amount"], p["state"]) for p in tranche] == [("prototyping", "8000.00", "planned")]
    told = session.scalars(sa.select(OutboxMessage.kind).where(OutboxMessage.object_id == str(app_id))).all()
    assert "gate_outcome" in told


def test_stage_gated_award_closed_at_a_failed_gate(app, client, session, people):
    call = gate_call()
    make_pool(call, 2, people["officer"])
    h = headers_of(people)
    application, grantee, _payments = to_gate(client, people, call, h)
    score_gate(client, application, [(20, 10), (25, 10)])
    reasonless = client.post(f"/api/v1/applications/{application.id}/gate-decision", headers=h["committee"],
                             json={"outcome": "failed", "decided_on": today().isoformat()})
    assert reasonless.status_code == 422 and "reason" in reasonless.get_json()["fields"]
    failed = client.post(f"/api/v1/applications/{application.id}/gate-decision", headers=h["committee"],
                         json={"outcome": "failed", "reason": "Pilota rezultāti nepārliecina.",
                               "decided_on": today().isoformat()})
    assert failed.status_code == 200 and failed.get_json()["state"] == "closed_at_gate"
    initiative = session.get(Initiative, application.initiative_id)
    assert initiative.current_stage == "idea_generation"
    schedule = client.get(f"/api/v1/applications/{application.id}/payments", headers=grantee).get_json()
    assert not [p for p in schedule if p["kind"] == "tranche"]
    message = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.object_id == str(application.id),
                                                             OutboxMessage.kind == "gate_outcome")).first()
    assert "Pilota rezultāti nepārliecina." in message.body


def test_passing_a_gate_scored_below_the_pass_mark_needs_reasons(app, client, session, people):
    call = gate_call()
    make_pool(call, 2, people["officer"])
    h = headers_of(people)
    application, _grantee, _payments = to_gate(client, people, call, h)
    score_gate(client, application, [(20, 10), (25, 10)])
    bare = client.post(f"/api/v1/applications/{application.id}/gate-decision", headers=h["committee"],
                       json={"outcome": "passed", "decided_on": today().isoformat()})
    assert bare.status_code == 422 and "reason" in bare.get_json()["fields"]
    justified = client.post(f"/api/v1/applications/{application.id}/gate-decision", headers=h["committee"],
                            json={"outcome": "passed", "reason": "Komisija redz potenciālu: mērķgrupa iesaistīta.",
                                  "decided_on": today().isoformat()})
    assert justified.status_code == 200 and justified.get_json()["state"] == "in_implementation"

