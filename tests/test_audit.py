"""The audit trail: hash chain, append-only triggers, verification, API, page and concurrency."""

from __future__ import annotations

import csv
import io
import json
import threading

import pytest
import sqlalchemy as sa

from grants.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from grants.audit.services import record_event, verify_chain
from grants.core.db import JSONType, db
from tests.conftest import csrf_token_from, live_application
from tests.factories import PASSWORD, bearer, make_user


def _dialect(session) -> str:
    return session.get_bind().dialect.name


def _events(session, **where):
    return session.execute(sa.select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)).scalars().all()


def _append(n: int, **kwargs) -> list[AuditEvent]:
    return [record_event(action="test.thing", object_type="thing", object_id=i, payload={"i": i}, **kwargs)
            for i in range(n)]


def _bypass_append_only(session) -> None:
    """Switch the triggers off inside the test's transaction (rolled back at the end)."""
    if _dialect(session) == "sqlite":
        session.execute(sa.text("DROP TRIGGER audit_events_no_update"))
        session.execute(sa.text("DROP TRIGGER audit_events_no_delete"))
    else:
        session.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))


def test_events_form_a_verifiable_chain(session):
    actor = make_user("officer")
    events = _append(4, actor=actor, role="officer")
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert events[-1].actor_label == actor.email and events[-1].request_id is None
    result = verify_chain(batch_size=3)  # more than one batch
    assert result.valid and result.first_invalid_id is None
    assert result.head == events[-1].hash == session.get(AuditHead, 1).hash
    assert result.events == session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()


def test_first_event_links_to_zeros(session):
    first = session.execute(sa.select(AuditEvent).order_by(AuditEvent.id).limit(1)).scalar_one_or_none()
    if first is None:
        first = _append(1)[0]
    assert first.prev_hash == GENESIS_HASH


@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET comment = 'rewritten' WHERE id = :id",
    "UPDATE audit_events SET actor_id = NULL, action = 'forged' WHERE id = :id",
    "DELETE FROM audit_events WHERE id = :id",
])
def test_triggers_refuse_update_and_delete(session, statement):
    event = _append(1, actor=make_user())[0]
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.text(statement), {"id": event.id})
    session.expire_all()
    assert session.get(AuditEvent, event.id).comment is None
    assert verify_chain().valid


def test_truncate_is_refused_on_postgresql(session):
    if _dialect(session) != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    _append(1)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.text("TRUNCATE audit_events"))


def test_erasing_an_account_keeps_the_chain_valid(session):
    user = make_user()
    event_id, user_id, email = _append(1, actor=user)[0].id, user.id, user.email
    session.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user_id})
    session.expunge_all()
    assert session.get(AuditEvent, event_id).actor_id is None
    assert session.get(AuditEvent, event_id).actor_label == email
    assert verify_chain().valid


def test_verify_names_an_event_edited_in_place(session):
    events = _append(5)
    _bypass_append_only(session)
    session.execute(sa.text("UPDATE audit_events SET payload = :payload WHERE id = :id")
                    .bindparams(sa.bindparam("payload", type_=JSONType)), {"payload": {"i": 99}, "id": events[2].id})
    result = verify_chain(batch_size=2)
    assert not result.valid
    assert result.first_invalid_id == events[2].id


LONG_NOTE = "Rīgas kopienas dārzs. " * 40  # longer than verify remembers payloads


@pytest.mark.parametrize(("edited", "payload"), [(2, {"i": 1}), (5, {"note": LONG_NOTE + "!"})])
def test_verify_names_an_event_given_another_payload_among_repeated_ones(session, edited, payload):
    """verify remembers the canonical form of payload texts it has seen: a payload copied from another
    event still breaks the chain at the copy, and long payloads (not remembered) are checked too."""
    payloads = [{}, {"i": 1}, {}, {"note": LONG_NOTE}, {"i": 1}, {"note": LONG_NOTE}]
    events = [record_event(action="test.thing", object_type="thing", object_id=i, payload=p)
              for i, p in enumerate(payloads)]
    assert verify_chain().valid
    _bypass_append_only(session)
    session.execute(sa.text("UPDATE audit_events SET payload = :payload WHERE id = :id")
                    .bindparams(sa.bindparam("payload", type_=JSONType)), {"payload": payload, "id": events[edited].id})
    result = verify_chain()
    assert not result.valid
    assert result.first_invalid_id == events[edited].id


def test_verify_names_an_event_whose_payload_is_not_json(session):
    if _dialect(session) != "sqlite":
        pytest.skip("PostgreSQL's jsonb refuses text that is not JSON")
    events = _append(3)
    _bypass_append_only(session)
    session.execute(sa.text("UPDATE audit_events SET payload = :text WHERE id = :id"),
                    {"text": '{"i": 1', "id": events[1].id})
    result = verify_chain()
    assert not result.valid
    assert result.first_invalid_id == events[1].id


def test_verify_names_the_event_after_a_deleted_one(session):
    events = _append(5)
    _bypass_append_only(session)
    session.execute(sa.text("DELETE FROM audit_events WHERE id = :id"), {"id": events[2].id})
    result = verify_chain()
    assert not result.valid
    assert result.first_invalid_id == events[3].id


def test_verify_notices_a_deleted_newest_event(session):
    events = _append(3)
    _bypass_append_only(session)
    session.execute(sa.text("DELETE FROM audit_events WHERE id = :id"), {"id": events[-1].id})
    assert verify_chain().first_invalid_id == events[-1].id


def test_payload_values_are_stored_as_hashed(session):
    from datetime import UTC, datetime
    from decimal import Decimal

    event = record_event(action="test.types", object_type="thing", object_id=1,
                         payload={"amount": Decimal("12.50"), "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                                  "name": "Rīga"})
    session.expire_all()
    assert session.get(AuditEvent, event.id).payload == {"amount": "12.50", "at": "2026-01-02T03:04:05.000000+00:00",
                                                         "name": "Rīga"}
    assert verify_chain().valid


# --- logins, registration, tokens -------------------------------------------------------------

def _login(client, email, password=PASSWORD):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_registration_login_and_failed_login_are_audited(client, session):
    user = make_user("applicant")
    assert [e.action for e in _events(session, object_type="user", object_id=str(user.id))] == ["user.register"]
    _login(client, user.email, "wrong password!")
    response = _login(client, user.email)
    assert response.status_code == 302
    events = _events(session, object_type="user", object_id=str(user.id))
    assert [e.action for e in events] == ["user.register", "user.login_failed", "user.login"]
    failed, login = events[1], events[2]
    assert failed.actor_id is None and failed.payload["reason"] == "wrong_password"
    assert login.actor_id == user.id and login.request_id
    _login(client.application.test_client(), "nobody@example.lv", "whatever-password")
    unknown = _events(session, action="user.login_failed")[-1]
    assert unknown.object_id == "" and unknown.payload["email"] == "nobody@example.lv"
    assert verify_chain().valid


def test_token_issue_and_revoke_are_audited(client, session):
    user = make_user()
    headers = bearer(user)
    assert client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204
    assert [e.action for e in _events(session, actor_id=user.id)][-2:] == ["api_token.issue", "api_token.revoke"]


def test_responses_carry_a_request_id(client):
    response = client.get("/")
    assert len(response.headers["X-Request-ID"]) == 32
    assert client.get("/", headers={"X-Request-ID": "proxy-1234567"}).headers["X-Request-ID"] == "proxy-1234567"
    assert client.get("/", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"] != "bad id <script>"


# --- API ----------------------------------------------------------------------------------------

AUDIT_URLS = ["/api/v1/audit/verify", "/api/v1/audit/events", "/api/v1/audit/export?format=csv"]


@pytest.mark.parametrize("url", AUDIT_URLS)
@pytest.mark.parametrize(("role", "status"), [("auditor", 200), ("admin", 200), ("applicant", 403),
                                               ("officer", 403), (None, 401)])
def test_audit_api_is_for_auditors_and_admins(client, session, url, role, status):
    headers = bearer(make_user(role)) if role else {}
    assert client.get(url, headers=headers, buffered=True).status_code == status


def test_api_verify(client, session):
    _append(2)
    response = client.get("/api/v1/audit/verify", headers=bearer(make_user("auditor")))
    body = response.get_json()
    head = session.get(AuditHead, 1).hash
    assert response.status_code == 200  # without Redis: verified in the request, as before
    assert {key: body[key] for key in ("valid", "events", "head", "first_invalid_id")} == {
        "valid": True, "events": body["events"], "head": head, "first_invalid_id": None}
    assert body["events"] >= 3 and body["state"] == "done" and body["total"] == body["events"]


def test_api_events_filters_and_pages(client, session):
    auditor = make_user("auditor")
    headers = bearer(auditor)
    other = make_user()
    _append(3, actor=other)
    body = client.get(f"/api/v1/audit/events?actor_id={other.id}&action=test.thing&per_page=2",
                      headers=headers).get_json()
    assert body["total"] == 3 and body["page"] == 1 and len(body["items"]) == 2
    assert body["items"][0]["object_id"] == "2"  # newest first
    assert set(body["items"][0]) >= {"occurred_at", "actor_label", "payload", "hash", "prev_hash", "request_id"}
    body = client.get("/api/v1/audit/events?object_type=thing&object_id=1", headers=headers).get_json()
    assert [item["payload"] for item in body["items"]] == [{"i": 1}]
    everything = client.get("/api/v1/audit/events?since=2000-01-01T00:00:00Z", headers=headers).get_json()
    nothing = client.get("/api/v1/audit/events?until=2000-01-01T00:00:00", headers=headers).get_json()
    assert everything["total"] >= 4 and nothing["total"] == 0
    assert client.get("/api/v1/audit/events?since=yesterday", headers=headers).status_code == 422


def test_api_events_keyset_pages_and_queries_do_not_grow(client, session, count_queries):
    auditor = make_user("auditor")
    headers = bearer(auditor)
    _append(3, actor=auditor)
    client.get("/api/v1/audit/events?action=test.thing&per_page=50", headers=headers)
    with count_queries() as few:
        assert len(client.get("/api/v1/audit/events?action=test.thing&per_page=50",
                              headers=headers).get_json()["items"]) == 3
    _append(60, actor=make_user())
    with count_queries() as many:
        body = client.get("/api/v1/audit/events?action=test.thing&per_page=50", headers=headers).get_json()
    assert len(body["items"]) == 50 and body["total"] == 63 and body["total_is_estimate"] is False
    assert many.count == few.count <= 8
    # the next page by keyset: older than the last event shown, the same count of queries
    with count_queries() as deeper:
        older = client.get(f"/api/v1/audit/events?action=test.thing&per_page=50&before_id={body['next_before_id']}",
                           headers=headers).get_json()
    assert deeper.count == few.count
    assert [e["id"] for e in older["items"]] == sorted((e.id for e in _events(session, action="test.thing")),
                                                       reverse=True)[50:]
    assert older["next_before_id"] is None and older["total"] == 13
    assert client.get("/api/v1/audit/events?before_id=0", headers=headers).status_code == 422


def test_long_lists_count_up_to_a_bound_then_estimate(session):
    from grants.audit.services import events_query
    from grants.core import paging

    _append(12)
    query = events_query({"action": "test.thing"})
    assert paging.bounded_count(query, up_to=20) == (12, False)
    total, estimate = paging.bounded_count(query, up_to=5)
    if session.get_bind().dialect.name == "postgresql":
        assert estimate is True and total >= 6  # the planner's estimate, never below what was counted
    else:
        assert (total, estimate) == (12, False)


def test_api_export_streams_csv_and_json_and_is_audited(client, session):
    auditor = make_user("auditor")
    headers = bearer(auditor)
    _append(3, actor=auditor)
    # buffered: the test client reads the stream inside the request's context, as a WSGI server does
    response = client.get("/api/v1/audit/export?format=csv&action=test.thing", headers=headers, buffered=True)
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    head = session.get(AuditHead, 1)
    assert [json.loads(r["payload"]) for r in rows[:-1]] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert list(rows[-1].values())[:4] == ["# audit_head", head.hash, "event_id", str(head.event_id)]
    response = client.get("/api/v1/audit/export?format=json&action=test.thing", headers=headers, buffered=True)
    body = json.loads(response.get_data(as_text=True))
    records = body["items"]
    assert [r["object_id"] for r in records] == ["0", "1", "2"] and records[0]["actor_label"] == auditor.email
    session.expire_all()
    assert body["audit_head"]["hash"] == session.get(AuditHead, 1).hash
    exports = _events(session, action="audit.export")
    assert [e.payload["format"] for e in exports] == ["csv", "json"]
    assert exports[0].actor_id == auditor.id and exports[0].role == "auditor"
    assert exports[0].payload["filters"] == {"action": "test.thing"}
    assert verify_chain().valid


# --- page ---------------------------------------------------------------------------------------

def test_audit_page_for_auditors(client, session):
    auditor = make_user("auditor")
    _append(2, actor=auditor)
    _login(client, auditor.email)
    page = client.get("/audit/?lang=en&action=test.thing").get_data(as_text=True)
    assert "Audit trail" in page and "2 events" in page and session.get(AuditHead, 1).hash in page
    assert "/audit/export?format=csv" in page
    assert "The chain has not been verified yet." in page
    token = csrf_token_from(page)
    verified = client.post("/audit/verify?lang=en", data={"csrf_token": token})
    assert verified.status_code == 302  # back to the trail, in the language the auditor reads it in
    page = client.get(verified.headers["Location"], query_string={"lang": "en"}).get_data(as_text=True)
    assert "The chain is intact" in page and "the chain was intact" in page
    assert client.get("/audit/?since=nonsense&lang=en").status_code == 200
    export = client.get("/audit/export?format=json&action=test.thing", buffered=True)
    assert len(json.loads(export.get_data(as_text=True))["items"]) == 2


def test_audit_page_is_refused_to_applicants(client, session):
    applicant = make_user("applicant")
    _login(client, applicant.email)
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export?format=csv", buffered=True).status_code == 403


# --- concurrency --------------------------------------------------------------------------------

def test_concurrent_writers_keep_one_linear_chain(tmp_path):
    threads_n, per_thread = 8, 25
    with live_application(tmp_path) as app:
        errors: list[BaseException] = []
        start = threading.Barrier(threads_n)

        def writer(n: int) -> None:
            try:
                with app.app_context():
                    start.wait()
                    for i in range(per_thread):
                        record_event(action="test.concurrent", object_type="thing", object_id=f"{n}-{i}")
                        db.session.commit()
                    db.session.remove()
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(threads_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads), "writers still running after 120 s"
        assert errors == []
        with app.app_context():
            result = verify_chain()
            hashes = db.session.execute(sa.select(AuditEvent.hash, AuditEvent.prev_hash)).all()
            db.session.remove()
        assert result.valid and result.events == threads_n * per_thread
        assert len({h for h, _ in hashes}) == len({p for _, p in hashes}) == threads_n * per_thread


def test_hash_is_sha256_of_the_canonical_json():
    import hashlib
    from datetime import UTC, datetime

    from grants.audit.services import compute_hash

    content = {"action": "a.b", "actor": "ē@example.lv", "comment": None, "object_id": "7", "object_type": "x",
               "occurred_at": "2026-01-02T03:04:05.000006+00:00", "payload": {"z": [1, 2.5, None], "ä": "\"q\"\n"},
               "prev_hash": GENESIS_HASH, "request_id": None, "role": "officer"}
    expected = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode()).hexdigest()
    assert compute_hash(occurred_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), actor_label="ē@example.lv",
                        role="officer", action="a.b", object_type="x", object_id="7", payload=content["payload"],
                        comment=None, request_id=None, prev_hash=GENESIS_HASH) == expected


def test_payload_text_is_stored_canonical_and_older_spellings_still_verify(session):
    """SQLite keeps JSON text as written; the app writes it canonical, so verify hashes it as it is.
    An event written before (same JSON, other spelling) is still valid; a changed value is not."""
    if _dialect(session) != "sqlite":
        pytest.skip("PostgreSQL's jsonb keeps no spelling of its own")
    _append(3)
    event = record_event(action="test.spelling", object_type="thing", object_id=1,
                         payload={"b": "ā", "a": [1, 2]})
    stored = session.execute(sa.text("SELECT payload FROM audit_events WHERE id = :id"), {"id": event.id})
    assert stored.scalar_one() == '{"a":[1,2],"b":"ā"}'
    _bypass_append_only(session)
    respell = sa.text("UPDATE audit_events SET payload = :text WHERE id = :id")
    session.execute(respell, {"text": '{"b": "\\u0101", "a": [1, 2]}', "id": event.id})
    assert verify_chain().valid
    session.execute(respell, {"text": '{"b": "\\u0101", "a": [1, 3]}', "id": event.id})
    assert verify_chain().first_invalid_id == event.id


def test_audit_page_names_transitions_domain_actions_and_roles_in_the_readers_language(client, session):
    from grants.workflows.engine import fire
    from tests.factories import make_application, member_of

    application = make_application()
    member = member_of(application)
    fire(application, "submit", member)
    record_event(action="attachment.upload", object_type="application", object_id=application.id, actor=member,
                 role="applicant", payload={})
    record_event(action="test.unnamed", object_type="thing", object_id=1, role="system")
    auditor = make_user("auditor")
    _login(client, auditor.email)
    english = client.get("/audit/?lang=en").get_data(as_text=True)
    assert 'Submit <span class="meta">application.submit</span>' in english  # the transition's label
    assert 'File attached <span class="meta">attachment.upload</span>' in english  # what the domain registered
    assert 'test.unnamed <span class="meta">test.unnamed</span>' in english  # nobody names it: its id
    assert "<td>Applicant</td>" in english and "<td>System</td>" in english
    latvian = client.get("/audit/?lang=lv").get_data(as_text=True)
    assert 'Iesniegt <span class="meta">application.submit</span>' in latvian
    assert "<td>Pieteicējs</td>" in latvian
