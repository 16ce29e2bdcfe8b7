"""Grants after award through the API alone (issue 13 done-when): one award from decision to completion,
and stage-gated awards through a passed and a failed gate."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.core.db import db, today
from grants.evaluations.models import Assignment
from grants.initiatives.models import Initiative
from grants.notifications.models import OutboxMessage
from tests.factories import (
    approved,
    bearer,
    make_call,
    make_evaluation_call,
    make_pool,
    make_user,
    pdf_bytes,
)


@pytest.fixture
def people(app):
    return {"officer": make_user("officer"), "committee": make_user("committee"),
            "finance1": make_user("finance"), "finance2": make_user("finance")}


def _headers(people, client=None):
    return {name: bearer(user) for name, user in people.items()}


def _member(application):
    return application.organisation.memberships[0].user


def _fire(client, path, headers, trigger, **extra):
    return client.post(path, json={"trigger": trigger, **extra}, headers=headers)


def _upload_agreement(client, application_id, headers):
    return client.post(f"/api/v1/applications/{application_id}/agreement/file", headers=headers,
                       data={"file": (io.BytesIO(pdf_bytes()), "ligums.pdf")}, content_type="multipart/form-data")


def _pay(client, payment_id, h):
    """Requested by an officer, verified by one finance officer, paid by another."""
    assert _fire(client, f"/api/v1/payments/{payment_id}/transitions", h["officer"], "request").status_code == 200
    assert _fire(client, f"/api/v1/payments/{payment_id}/transitions", h["finance1"], "verify").status_code == 200
    response = _fire(client, f"/api/v1/payments/{payment_id}/transitions", h["finance2"], "pay",
                     reference="MP-1")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _report(client, application_id, headers, kind, period_end, **content):
    body = {"kind": kind, "period_end": period_end, "narrative": "Paveicām, ko solījām.",
            "indicators": {}, "expenditure": [{"category": "staff", "amount": "1000.00", "co_financing": "0"}],
            **content}
    response = client.post(f"/api/v1/applications/{application_id}/grant-reports", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_one_award_from_decision_to_completion(app, client, session, people):
    call = make_evaluation_call(workflow_version=4)
    application = approved(call, people["officer"], people["committee"], amount="4000.00")
    h = _headers(people)
    grantee = bearer(_member(application))
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
    refused = _fire(client, f"/api/v1/applications/{app_id}/transitions", h["officer"], "sign_contract")
    assert refused.status_code == 409
    assert [r["code"] for r in refused.get_json()["reasons"]] == ["signed_file_missing"]
    assert _upload_agreement(client, app_id, h["officer"]).status_code == 201
    assert _fire(client, f"/api/v1/applications/{app_id}/transitions", h["officer"],
                 "sign_contract").get_json()["state"] == "contracted"
    assert client.put(f"/api/v1/applications/{app_id}/agreement", json=base,
                      headers=h["officer"]).status_code == 409  # signed: frozen
    assert _fire(client, f"/api/v1/applications/{app_id}/transitions", h["officer"],
                 "start_implementation").get_json()["state"] == "in_implementation"

    schedule = client.get(f"/api/v1/applications/{app_id}/payments", headers=grantee).get_json()
    assert [(p["kind"], p["amount"], p["state"]) for p in schedule] == [
        ("advance", "1600.00", "planned"), ("interim", "1600.00", "planned"), ("final", "800.00", "planned")]
    advance, interim, final = (p["id"] for p in schedule)

    # The advance: one finance officer verifies, the same one may not pay, another does.
    assert _fire(client, f"/api/v1/payments/{advance}/transitions", h["officer"], "request").status_code == 200
    assert _fire(client, f"/api/v1/payments/{advance}/transitions", h["officer"], "verify").status_code == 403
    assert _fire(client, f"/api/v1/payments/{advance}/transitions", h["finance1"], "verify").status_code == 200
    same = _fire(client, f"/api/v1/payments/{advance}/transitions", h["finance1"], "pay")
    assert same.status_code == 409 and "separation_of_duties" in [r["code"] for r in same.get_json()["reasons"]]
    paid = _fire(client, f"/api/v1/payments/{advance}/transitions", h["finance2"], "pay", reference="MP-100")
    assert paid.status_code == 200 and paid.get_json()["state"] == "paid"

    # The interim payment waits for an accepted progress report.
    early = _fire(client, f"/api/v1/payments/{interim}/transitions", h["officer"], "request")
    assert early.status_code == 409 and [r["code"] for r in early.get_json()["reasons"]] == ["report_missing"]
    progress = _report(client, app_id, grantee, "progress", middle.isoformat())
    assert _fire(client, f"/api/v1/grant-reports/{progress['id']}/transitions", grantee,
                 "submit").get_json()["state"] == "submitted"
    assert _fire(client, f"/api/v1/grant-reports/{progress['id']}/transitions", h["officer"],
                 "accept").get_json()["state"] == "accepted"
    _pay(client, interim, h)

    # The final report moves the application; accepting it leaves the last payment; paying it completes.
    final_report = _report(client, app_id, grantee, "final", end.isoformat())
    _fire(client, f"/api/v1/grant-reports/{final_report['id']}/transitions", grantee, "submit")
    assert client.get(f"/api/v1/applications/{app_id}", headers=grantee).get_json()["state"] == \
        "final_report_submitted"
    _fire(client, f"/api/v1/grant-reports/{final_report['id']}/transitions", h["officer"], "accept")
    assert client.get(f"/api/v1/applications/{app_id}", headers=grantee).get_json()["state"] == \
        "final_report_accepted"
    last = _pay(client, final, h)
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


def _gate_call(**overrides):
    rubric = {"criteria": [{"code": "need", "title_lv": "Vajadzība", "title_en": "Need", "max_points": 50,
                            "weight": 1},
                           {"code": "novelty", "title_lv": "Novitāte", "title_en": "Novelty", "max_points": 50,
                            "weight": 1}],
              "threshold": 50, "evaluators_required": 2, "discrepancy_percent": 30, "review_days": 14,
              "tie_break": "earlier_submission",
              "stages": {"prototyping": {"criteria": [
                  {"code": "results", "title_lv": "Rezultāti", "title_en": "Results", "max_points": 60, "weight": 1},
                  {"code": "learning", "title_lv": "Mācības", "title_en": "Learning", "max_points": 40, "weight": 1}],
                  "threshold": 60}}}
    return make_call(workflow_name="application_stage_gate", workflow_version=4, rubric=rubric,
                     stages=(("idea_generation", "50000.00", "1000.00", "20000.00"),
                             ("prototyping", "100000.00", "1000.00", "50000.00")), **overrides)


def _to_gate(client, people, call, h, *, amount="12000.00"):
    """An approved stage-gated award contracted, its advance paid and the first stage's final report accepted."""
    application = approved(call, people["officer"], people["committee"], amount=amount, totals=({"need": 45,
                                                                                                  "novelty": 45},) * 2,
                           requested_amount=Decimal("12000.00"))
    grantee = bearer(_member(application))
    app_id = application.id
    start = today() - timedelta(days=100)
    stage_end = start + timedelta(days=60)
    end = start + timedelta(days=300)
    body = {"start_date": start.isoformat(), "end_date": end.isoformat(),
            "tranches": [{"si_stage": "idea_generation", "amount": "4000.00"},
                         {"si_stage": "prototyping", "amount": "8000.00"}],
            "reports": [{"kind": "final", "si_stage": "idea_generation", "period_end": stage_end.isoformat(),
                         "due_on": (stage_end + timedelta(days=10)).isoformat()},
                        {"kind": "final", "si_stage": "prototyping", "period_end": end.isoformat(),
                         "due_on": (end + timedelta(days=30)).isoformat()}],
            "schedule": [{"kind": "advance", "amount": "3000.00", "due_on": start.isoformat()},
                         {"kind": "final", "amount": "1000.00", "due_on": stage_end.isoformat()}]}
    wrong = client.put(f"/api/v1/applications/{app_id}/agreement", headers=h["officer"],
                       json={**body, "tranches": [{"si_stage": "idea_generation", "amount": "12000.00"}]})
    assert wrong.status_code == 422 and "tranches" in wrong.get_json()["fields"]
    saved = client.put(f"/api/v1/applications/{app_id}/agreement", json=body, headers=h["officer"])
    assert saved.status_code == 200, saved.get_json()
    _upload_agreement(client, app_id, h["officer"])
    for trigger in ("sign_contract", "start_implementation"):
        assert _fire(client, f"/api/v1/applications/{app_id}/transitions", h["officer"], trigger).status_code == 200
    payments = client.get(f"/api/v1/applications/{app_id}/payments", headers=grantee).get_json()
    _pay(client, payments[0]["id"], h)
    report = _report(client, app_id, grantee, "final", stage_end.isoformat())
    _fire(client, f"/api/v1/grant-reports/{report['id']}/transitions", grantee, "submit")
    _fire(client, f"/api/v1/grant-reports/{report['id']}/transitions", h["officer"], "accept")
    return application, grantee, payments


def _score_gate(client, application, totals):
    """The gate's evaluators declare no conflict and score with the next stage's rubric."""
    assignments = db.session.scalars(sa.select(Assignment).where(
        Assignment.application_id == application.id, Assignment.gate_stage == "prototyping")
        .order_by(Assignment.id)).unique().all()
    assert len(assignments) == 2
    for assignment, (results, learning) in zip(assignments, totals, strict=True):
        headers = bearer(assignment.evaluator)
        undeclared = client.put(f"/api/v1/assignments/{assignment.id}/review", headers=headers,
                                json={"scores": {"results": results}, "summary": "x", "submit": False})
        assert undeclared.status_code == 403  # the gate has its own conflict-of-interest declaration
        client.post(f"/api/v1/assignments/{assignment.id}/declaration", json={"has_conflict": False, "statement": ""},
                    headers=headers)
        # The gate is scored with stage k+1's rubric, not the selection's.
        old = client.put(f"/api/v1/assignments/{assignment.id}/review", headers=headers,
                         json={"scores": {"need": 40}, "summary": "x", "submit": False})
        assert old.status_code == 422
        response = client.put(f"/api/v1/assignments/{assignment.id}/review", headers=headers, json={
            "scores": {"results": results, "learning": learning}, "comments": {"results": "Pierādīts."},
            "summary": "Posma rezultāti.", "submit": True})
        assert response.status_code == 200, response.get_json()


def test_stage_gated_award_through_a_passed_gate(app, client, session, people):
    call = _gate_call()
    make_pool(call, 2, people["officer"])
    h = _headers(people)
    application, grantee, payments = _to_gate(client, people, call, h)
    app_id = application.id
    state = client.get(f"/api/v1/applications/{app_id}", headers=grantee).get_json()["state"]
    assert state == "gate_review"
    # The first stage's final payment may go once its final report is accepted.
    _pay(client, payments[1]["id"], h)
    _score_gate(client, application, [(55, 35), (50, 30)])
    assert client.get(f"/api/v1/applications/{app_id}", headers=grantee).get_json()["state"] == "gate_evaluated"
    # The committee's decision is dated, never in the future.
    future = client.post(f"/api/v1/applications/{app_id}/gate-decision", headers=h["committee"],
                         json={"outcome": "passed", "decided_on": (today() + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and "decided_on" in future.get_json()["fields"]
    passed = client.post(f"/api/v1/applications/{app_id}/gate-decision", headers=h["committee"],
                         json={"outcome": "passed", "reason": "Prototips pierādīts."})
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
    call = _gate_call()
    make_pool(call, 2, people["officer"])
    h = _headers(people)
    application, grantee, _payments = _to_gate(client, people, call, h)
    _score_gate(client, application, [(20, 10), (25, 10)])
    reasonless = client.post(f"/api/v1/applications/{application.id}/gate-decision", headers=h["committee"],
                             json={"outcome": "failed"})
    assert reasonless.status_code == 422 and "reason" in reasonless.get_json()["fields"]
    failed = client.post(f"/api/v1/applications/{application.id}/gate-decision", headers=h["committee"],
                         json={"outcome": "failed", "reason": "Pilota rezultāti nepārliecina."})
    assert failed.status_code == 200 and failed.get_json()["state"] == "closed_at_gate"
    initiative = session.get(Initiative, application.initiative_id)
    assert initiative.current_stage == "idea_generation"
    schedule = client.get(f"/api/v1/applications/{application.id}/payments", headers=grantee).get_json()
    assert not [p for p in schedule if p["kind"] == "tranche"]
    message = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.object_id == str(application.id),
                                                             OutboxMessage.kind == "gate_outcome")).first()
    assert "Pilota rezultāti nepārliecina." in message.body


def test_passing_a_gate_scored_below_the_pass_mark_needs_reasons(app, client, session, people):
    call = _gate_call()
    make_pool(call, 2, people["officer"])
    h = _headers(people)
    application, _grantee, _payments = _to_gate(client, people, call, h)
    _score_gate(client, application, [(20, 10), (25, 10)])
    bare = client.post(f"/api/v1/applications/{application.id}/gate-decision", headers=h["committee"],
                       json={"outcome": "passed"})
    assert bare.status_code == 422 and "reason" in bare.get_json()["fields"]
    justified = client.post(f"/api/v1/applications/{application.id}/gate-decision", headers=h["committee"],
                            json={"outcome": "passed", "reason": "Komisija redz potenciālu: mērķgrupa iesaistīta."})
    assert justified.status_code == 200 and justified.get_json()["state"] == "in_implementation"

