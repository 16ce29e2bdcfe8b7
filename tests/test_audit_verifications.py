"""Verifying the chain as a background job (runs kept with their progress and verdict), the audit_head row's
triggers, and the head quoted in the trail's own export."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError

from grants.audit import verifications
from grants.audit.models import GENESIS_HASH, AuditEvent, AuditHead, AuditVerification
from grants.audit.services import record_event
from grants.core import jobs
from grants.core.db import db, utcnow
from tests.conftest import csrf_token_from, live_application
from tests.factories import bearer, login, make_user

REDIS_URL = "redis://127.0.0.1:6379/15"  # the database test_export_jobs.py empties around its tests too


def _dialect(session) -> str:
    return session.get_bind().dialect.name


def _append(n: int) -> list[AuditEvent]:
    return [record_event(action="test.thing", object_type="thing", object_id=i, payload={"i": i}) for i in range(n)]


def _bypass_append_only(session) -> None:
    if _dialect(session) == "sqlite":
        session.execute(sa.text("DROP TRIGGER audit_events_no_update"))
    else:
        session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))


# --- the head's triggers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "DELETE FROM audit_head",
    "INSERT INTO audit_head (id, hash, event_id) VALUES (2, :genesis, NULL)",
    "UPDATE audit_head SET hash = :genesis, event_id = NULL",  # back to the start: hides the whole log
    "UPDATE audit_head SET event_id = :older, hash = :older_hash",  # back one event: hides the newest
    "UPDATE audit_head SET hash = :forged",  # a hash that is not the newest event's
    "UPDATE audit_head SET event_id = :newest + 1, hash = :forged",  # ahead of the log
    "UPDATE audit_head SET id = 2",
])
def test_the_head_only_advances_to_the_newest_event(session, statement):
    older, newest = _append(2)
    values = {"genesis": GENESIS_HASH, "older": older.id, "older_hash": older.hash, "newest": newest.id,
              "forged": "f" * 64}
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.text(statement), values)
    session.expire_all()
    head = session.get(AuditHead, 1)
    assert (head.hash, head.event_id) == (newest.hash, newest.id)
    assert verifications.verify_chain().valid


def test_appending_still_moves_the_head_and_a_no_op_update_passes(session):
    first = _append(1)[0]
    session.execute(sa.text("UPDATE audit_head SET event_id = event_id"))  # what a SQLite writer does to lock
    second = _append(1)[0]
    head = session.get(AuditHead, 1)
    session.refresh(head)
    assert (head.hash, head.event_id) == (second.hash, second.id) and second.prev_hash == first.hash


def test_truncating_the_head_is_refused_on_postgresql(session):
    if _dialect(session) != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.text("TRUNCATE audit_head"))


# --- runs: API, page, command line (inline: no Redis) ----------------------------------------------------

def test_api_verify_answers_the_contract_and_keeps_the_run(client, session):
    auditor = make_user("auditor", name="Ilze Revidente")
    _append(3)
    headers = bearer(auditor)
    body = client.get("/api/v1/audit/verify", headers=headers).get_json()
    head = session.get(AuditHead, 1)
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert body["valid"] is True and body["first_invalid_id"] is None and body["head"] == head.hash
    assert body["events"] == body["total"] == total and body["head_event_id"] == head.event_id
    assert body["state"] == "done" and body["percent"] == 100 and body["origin"] == "api"
    assert body["requested_by_id"] == auditor.id and body["started_at"] and body["finished_at"]
    run = client.get(f"/api/v1/audit/verifications/{body['id']}", headers=headers).get_json()
    assert run == body
    listed = client.get("/api/v1/audit/verifications", headers=headers).get_json()
    assert listed["items"][0]["id"] == body["id"] and listed["total"] >= 1
    assert client.get("/api/v1/audit/verifications/999999", headers=headers).status_code == 404


def test_a_broken_chain_is_reported_and_kept(client, session):
    events = _append(4)
    _bypass_append_only(session)
    session.execute(sa.text("UPDATE audit_events SET comment = 'rewritten' WHERE id = :id"), {"id": events[1].id})
    body = client.get("/api/v1/audit/verify", headers=bearer(make_user("auditor"))).get_json()
    assert body["valid"] is False and body["first_invalid_id"] == events[1].id and body["state"] == "done"
    run = session.get(AuditVerification, body["id"])
    assert run.valid is False and run.first_invalid_id == events[1].id


@pytest.mark.parametrize(("role", "status"), [("auditor", 200), ("admin", 200), ("officer", 403), (None, 401)])
def test_verification_runs_are_for_auditors_and_admins(client, session, role, status):
    headers = bearer(make_user(role)) if role else {}
    assert client.get("/api/v1/audit/verifications", headers=headers).status_code == status


def test_page_shows_the_last_verification_and_who_asked(client, session):
    auditor = make_user("auditor", name="Jānis Auditors")
    login(client, auditor)
    page = client.get("/audit/?lang=en").get_data(as_text=True)
    assert "The chain has not been verified yet." in page and "Verify the chain" in page
    assert client.post("/audit/verify", data={}).status_code == 400  # no CSRF token: nothing started
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditVerification)) == 0
    client.post("/audit/verify", data={"csrf_token": csrf_token_from(page)})
    page = client.get("/audit/?lang=en").get_data(as_text=True)
    assert "by Jānis Auditors: the chain was intact" in page
    assert 'http-equiv="refresh"' not in page  # nothing running


def test_page_shows_progress_while_a_run_is_going_and_a_stopped_run(client, session):
    auditor = make_user("auditor")
    login(client, auditor)
    now = utcnow()
    running = AuditVerification(origin="api", state="running", requested_at=now, started_at=now, heartbeat_at=now,
                                events_checked=250_000, total=1_000_000)
    session.add(running)
    session.flush()
    page = client.get("/audit/?lang=en").get_data(as_text=True)
    assert "250000 of 1000000 events checked (25 %)" in page and 'http-equiv="refresh"' in page
    assert "Verify the chain" not in page
    running.heartbeat_at = now - timedelta(minutes=5)  # its worker was killed
    session.flush()
    page = client.get("/audit/?lang=en").get_data(as_text=True)
    assert "did not finish: The verification stopped reporting" in page and "Verify the chain" in page
    session.refresh(running)
    assert running.state == "failed" and running.finished_at is not None


def test_cli_verifies_with_progress_and_keeps_the_run(app, session, monkeypatch):
    _append(30)
    session.flush()
    monkeypatch.setattr(verifications, "PROGRESS_EVERY", 10)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("valid\n") and "events: " in result.stdout
    assert "checked 10 of" in result.stderr
    run = session.scalars(sa.select(AuditVerification).order_by(AuditVerification.id.desc())).first()
    assert run.origin == "cli" and run.requested_by_id is None and run.valid and run.state == "done"


def test_cli_exits_1_on_a_broken_chain(app, session):
    events = _append(3)
    _bypass_append_only(session)
    session.execute(sa.text("UPDATE audit_events SET comment = 'x' WHERE id = :id"), {"id": events[2].id})
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"first event that does not match is {events[2].id}" in result.stderr


# --- the head in the trail's own export ------------------------------------------------------------------

def test_export_quotes_the_head_and_stops_there(client, session):
    auditor = make_user("auditor")
    _append(2)
    body = json.loads(client.get("/api/v1/audit/export?format=json", headers=bearer(auditor),
                                 buffered=True).get_data(as_text=True))
    head = session.get(AuditHead, 1)
    count = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert body["audit_head"] == {"hash": head.hash, "event_id": head.event_id, "events": count}
    assert body["items"][-1]["hash"] == head.hash  # the export's own event is the head it quotes
    assert len(body["items"]) == count


# --- committed for real: progress seen by others, the background path ------------------------------------

def test_progress_is_committed_while_the_chain_is_read(tmp_path, monkeypatch):
    """Another connection sees the run's progress while it verifies (what the page and the API read)."""
    monkeypatch.setattr(verifications, "PROGRESS_EVERY", 25)
    with live_application(tmp_path) as app, app.app_context():
        for i in range(120):
            record_event(action="test.thing", object_type="thing", object_id=i)
        run, _new = verifications.request_verification(None, "cli")
        db.session.commit()
        run_id = run.id
        seen = []

        def report(checked: int, total: int) -> None:
            with db.engine.connect() as other:
                row = other.execute(sa.text("SELECT state, events_checked, total FROM audit_verifications "
                                            "WHERE id = :id"), {"id": run_id}).one()
            seen.append((checked, tuple(row)))

        verifications.run_verification(run_id, report=report)
        run = db.session.get(AuditVerification, run_id)
        assert run.state == "done" and run.valid and run.events_checked == run.total == 120
        db.session.remove()
    assert seen == [(n, ("running", n, 120)) for n in (25, 50, 75, 100)]


@pytest.fixture
def redis_url():
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except RedisError:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS is set but no Redis answers on 127.0.0.1:6379")
        pytest.skip("No Redis answers on 127.0.0.1:6379: the background path is not tested here.")
    return REDIS_URL


def test_with_redis_verify_answers_202_and_a_worker_makes_it(tmp_path, redis_url):
    with live_application(tmp_path) as app:
        app.config.update(REDIS_URL=redis_url, RQ_QUEUE=f"grants-test-{uuid.uuid4().hex[:8]}")
        with app.test_request_context():
            auditor = make_user("auditor")
            headers = bearer(auditor)
            db.session.commit()
        client = app.test_client()
        try:
            response = client.get("/api/v1/audit/verify", headers=headers)
            body = response.get_json()
            assert response.status_code == 202 and body["state"] == "queued" and body["valid"] is None
            assert response.headers["Location"].endswith(f"/api/v1/audit/verifications/{body['id']}")
            again = client.get("/api/v1/audit/verify", headers=headers)
            assert again.status_code == 202 and again.get_json()["id"] == body["id"]  # not a second run
            with app.app_context():
                assert jobs.queue().count == 1
                jobs.worker().work(burst=True, with_scheduler=False)
            done = client.get(f"/api/v1/audit/verifications/{body['id']}", headers=headers).get_json()
            assert done["state"] == "done" and done["valid"] is True and done["events"] == done["total"] > 0
            assert client.get("/api/v1/audit/verify", headers=headers).get_json()["id"] != body["id"]
        finally:
            with app.app_context():
                jobs.queue().empty()
