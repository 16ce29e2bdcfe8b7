"""The outbox: messages are written with the change they tell about and sent through a real SMTP
server listening on 127.0.0.1 (aiosmtpd), retried with back-off, never sent twice.

Every network wait is bounded (SMTP_TIMEOUT, the server's ready timeout, thread joins); no traffic
leaves 127.0.0.1.
"""

from __future__ import annotations

import email
import socket
import threading
from datetime import UTC, datetime, timedelta
from email import policy
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from grants.applications.notices import notify_submission_receipt
from grants.core.db import db, utcnow
from grants.core.errors import UserInputError
from grants.notifications.models import OutboxMessage
from grants.notifications.services import (
    backoff,
    outbox_counts,
    queue_message,
    send_pending,
)
from grants.organisations.models import Membership
from grants.workflows.engine import fire
from tests.conftest import live_application
from tests.factories import bearer, login, make_application, make_user

HOST = "127.0.0.1"
JOIN_TIMEOUT = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Collector:
    """An SMTP handler that keeps what it receives, or refuses everything when told to."""

    def __init__(self):
        self.envelopes = []
        self.refuse = False
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Requested action aborted: try again later"
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        return [email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
                for envelope in self.envelopes]


@pytest.fixture
def smtp_server():
    collector = Collector()
    controller = Controller(collector, hostname=HOST, port=free_port(), ready_timeout=10)
    controller.start()
    try:
        yield SimpleNamespace(collector=collector, port=controller.port)
    finally:
        controller.stop()


@pytest.fixture
def mail(app, smtp_server, monkeypatch):
    """The app's SMTP settings pointed at the local test server."""
    monkeypatch.setitem(app.config, "SMTP_HOST", HOST)
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 5)
    return smtp_server.collector


def _message(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_a_queued_message_is_delivered_in_utf8_once(app, mail):
    queued = queue_message("corrigendum", "liga@example.lv", "Grozījumi konkursā “Ēķis”",
                           "Labdien!\nKonkursa nolikumā ir grozījumi: ģērbtuves, ūdens, čaulas.\n", language="lv",
                           object_type="call", object_id=7)
    result = send_pending()
    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    [received] = mail.messages
    assert received["To"] == "liga@example.lv"
    assert received["Subject"] == "Grozījumi konkursā “Ēķis”"
    assert received["From"] == app.config["MAIL_FROM"]
    assert received["Message-ID"].startswith("<") and received["Message-ID"].endswith(">")
    assert received.get_content_charset() == "utf-8"
    assert "ģērbtuves, ūdens, čaulas" in received.get_content()
    assert mail.envelopes[0].rcpt_tos == ["liga@example.lv"]

    stored = _message(queued.id)
    assert stored.sent_at is not None and stored.attempts == 1 and stored.last_error is None
    # A second run finds nothing to send: a message is never sent twice.
    assert send_pending().sent == 0
    assert len(mail.envelopes) == 1


def test_messages_go_in_id_order_up_to_the_limit(app, mail):
    ids = [queue_message("corrigendum", f"r{n}@example.lv", f"Nr. {n}", "Teksts", language="lv").id
           for n in range(3)]
    assert send_pending(limit=2).sent == 2
    assert [m["Subject"] for m in mail.messages] == ["Nr. 0", "Nr. 1"]
    assert send_pending(limit=2).sent == 1
    assert [_message(i).sent_at is not None for i in ids] == [True, True, True]


def test_a_message_not_yet_due_waits(app, mail):
    message = queue_message("corrigendum", "later@example.lv", "Vēlāk", "Teksts", language="lv")
    message.send_after = utcnow() + timedelta(minutes=5)
    db.session.flush()
    assert send_pending().sent == 0
    assert send_pending(now=utcnow() + timedelta(minutes=6)).sent == 1


def test_a_refusing_server_means_retries_with_backoff_then_giving_up(app, mail, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    mail.refuse = True
    message_id = queue_message("corrigendum", "x@example.lv", "Temats", "Teksts", language="lv").id
    start = utcnow()

    result = send_pending(now=start)
    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    stored = _message(message_id)
    assert stored.attempts == 1 and stored.failed_at is None and stored.sent_at is None
    assert "451" in stored.last_error
    assert stored.send_after == start + timedelta(minutes=1)

    assert send_pending(now=start + timedelta(seconds=59)).retried == 0  # not due yet
    second = start + timedelta(minutes=1)
    assert send_pending(now=second).retried == 1
    stored = _message(message_id)
    assert stored.attempts == 2 and stored.send_after == second + timedelta(minutes=2)

    third = second + timedelta(minutes=2)
    result = send_pending(now=third)
    assert (result.sent, result.retried, result.failed) == (0, 0, 1)
    stored = _message(message_id)
    assert stored.attempts == 3 and stored.failed_at == third and stored.sent_at is None
    assert send_pending(now=third + timedelta(days=1)).failed == 0  # given up for good
    assert mail.envelopes == []
    assert outbox_counts()["failed"] >= 1


def test_nothing_listening_is_retried_and_does_not_block_other_messages(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", HOST)
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # nobody listens there
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 5)
    ids = [queue_message("corrigendum", f"n{n}@example.lv", "Temats", "Teksts", language="lv").id for n in range(2)]
    result = send_pending()
    assert (result.sent, result.retried, result.failed) == (0, 2, 0)
    for message_id in ids:
        stored = _message(message_id)
        assert stored.attempts == 1 and "Connection" in stored.last_error


def test_backoff_doubles_and_is_capped(app):
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(30) == timedelta(minutes=app.config["OUTBOX_MAX_BACKOFF_MINUTES"])


@pytest.mark.parametrize(("address", "subject"), [
    ("x@example.lv", "Temats\r\nBcc: victim@example.com"),
    ("x@example.lv", "Temats\nBcc: victim@example.com"),
    ("x@example.lv\r\nBcc: victim@example.com", "Temats"),
    ("x@example.lv, victim@example.com", "Temats"),
    ("not an address", "Temats"),
])
def test_header_injection_is_refused_when_queued(app, address, subject):
    with pytest.raises(UserInputError):
        queue_message("corrigendum", address, subject, "Teksts", language="lv")


def test_a_stored_message_with_an_unsafe_header_is_given_up_not_sent(app, mail):
    message = OutboxMessage(kind="corrigendum", to_address="x@example.lv", language="lv",
                            subject="Temats\nBcc: victim@example.com", body="Teksts", send_after=utcnow(), attempts=0)
    db.session.add(message)
    db.session.flush()
    result = send_pending()
    assert (result.sent, result.failed) == (0, 1)
    assert mail.envelopes == []
    assert _message(message.id).failed_at is not None


def _member(organisation, *, locale: str, name: str):
    user = make_user("applicant", name=name)
    user.locale = locale
    db.session.add(Membership(user=user, organisation=organisation))
    db.session.flush()
    return user


def _outbox_for(object_id) -> list[OutboxMessage]:
    return db.session.execute(sa.select(OutboxMessage).where(
        OutboxMessage.object_type == "application", OutboxMessage.object_id == str(object_id))
        .order_by(OutboxMessage.id)).scalars().all()


def test_a_clarification_request_writes_one_message_per_member_in_their_language(app, mail):
    application = make_application(state="eligibility_review", title="Kopienas dārzs Ērgļos")
    english = _member(application.organisation, locale="en", name="Emily")
    latvian = _member(application.organisation, locale="lv", name="Jānis")
    question = "Lūdzu precizējiet budžeta 3. pozīciju (ūdens apgāde)."
    fire(application, "request_clarification", make_user("officer"), comment=question)

    messages = _outbox_for(application.id)
    by_address = {message.to_address: message for message in messages}
    members = {membership.user.email for membership in application.organisation.memberships}
    assert set(by_address) == members and len(messages) == len(members) == 3
    assert all(message.kind == "clarification_requested" for message in messages)

    in_english = by_address[english.email]
    assert in_english.language == "en"
    assert in_english.subject == "Clarification requested: Kopienas dārzs Ērgļos"
    assert "Hello, Emily!" in in_english.body and question in in_english.body
    link = f"http://127.0.0.1:5000/applications/{application.id}"
    assert link in in_english.body

    in_latvian = by_address[latvian.email]
    assert in_latvian.language == "lv"
    assert in_latvian.subject == "Lūgts precizējums: Kopienas dārzs Ērgļos"
    assert "Labdien, Jānis!" in in_latvian.body and question in in_latvian.body and link in in_latvian.body

    assert send_pending().sent == 3
    assert {m["To"] for m in mail.messages} == members
    assert any(m["Subject"] == "Lūgts precizējums: Kopienas dārzs Ērgļos" for m in mail.messages)


def test_a_rolled_back_transition_leaves_no_message(app):
    application = make_application(state="eligibility_review")
    savepoint = db.session.begin_nested()
    fire(application, "request_clarification", make_user("officer"), comment="Kāpēc?")
    assert len(_outbox_for(application.id)) == 1
    savepoint.rollback()
    assert _outbox_for(application.id) == []


def test_submission_receipt_names_what_was_submitted_when_and_its_hash(app):
    application = make_application(title="Sociālā darbnīca")
    english = _member(application.organisation, locale="en", name="Emily")
    submission = SimpleNamespace(id=1, application_id=application.id, round=1, trigger="submit",
                                 submitted_at=datetime(2026, 3, 31, 21, 30, tzinfo=UTC), content_hash="ab" * 32)
    messages = notify_submission_receipt(application, submission)
    assert len(messages) == 2 and {m.kind for m in messages} == {"submission_receipt"}
    by_address = {message.to_address: message for message in messages}
    for message in messages:
        assert "Sociālā darbnīca" in message.subject
        assert application.call.code in message.body
        assert "2026-04-01 00:30 EEST" in message.body  # Europe/Riga, summer time
        assert "ab" * 32 in message.body
        assert f"http://127.0.0.1:5000/applications/{application.id}" in message.body
    assert by_address[english.email].subject == "Application received: Sociālā darbnīca"
    latvian = next(m for m in messages if m.to_address != english.email)
    assert latvian.language == "lv" and latvian.subject == "Pieteikums saņemts: Sociālā darbnīca"


def test_cli_sends_and_lists(app, mail):
    queue_message("corrigendum", "cli@example.lv", "Temats", "Teksts", language="lv")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["outbox", "send", "--limit", "10"])
    assert result.exit_code == 0, result.output
    assert "sent: 1" in result.output and "given up: 0" in result.output
    listed = runner.invoke(args=["outbox", "list"])
    assert listed.exit_code == 0 and "pending: 0" in listed.output


def test_officers_see_the_outbox_page_applicants_do_not(app, client):
    queue_message("corrigendum", "page@example.lv", "Lapas temats", "Teksts", language="lv")
    applicant = make_user("applicant")
    officer = make_user("officer")
    login(client, applicant)
    assert client.get("/admin/outbox/").status_code == 403
    other = app.test_client()
    login(other, officer)
    page = other.get("/admin/outbox/?status=pending")
    assert page.status_code == 200
    assert "Lapas temats" in page.get_data(as_text=True)
    assert other.get("/admin/outbox/?status=nonsense&page=x").status_code == 200


def test_outbox_api_pages_messages_for_staff(app, client):
    message = queue_message("corrigendum", "api@example.lv", "API temats", "Teksts", language="lv")
    officer = make_user("officer")
    response = client.get("/api/v1/outbox?status=pending&per_page=200", headers=bearer(officer))
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"items", "total", "page"} and body["page"] == 1
    [item] = [item for item in body["items"] if item["id"] == message.id]
    assert item["status"] == "pending" and item["subject"] == "API temats" and item["attempts"] == 0
    assert client.get("/api/v1/outbox", headers=bearer(make_user("applicant"))).status_code == 403
    assert client.get("/api/v1/outbox").status_code == 401
    assert client.get("/api/v1/outbox?status=bogus", headers=bearer(officer)).status_code == 422


# --- two senders at once, committing for real on a database of their own ---------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_application(tmp_path_factory.mktemp("outbox")) as app:
        yield app


def test_two_concurrent_senders_never_send_a_message_twice(live, smtp_server):
    live.config.update(SMTP_HOST=HOST, SMTP_PORT=smtp_server.port, SMTP_TIMEOUT=5)
    count = 30
    with live.app_context():
        ids = [queue_message("corrigendum", f"c{n}@example.lv", f"Nr. {n}", "Teksts", language="lv").id
               for n in range(count)]
        db.session.commit()
        db.session.remove()

    results, errors = [], []

    def sender():
        try:
            with live.app_context():
                results.append(send_pending(limit=count))
                db.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a sender is stuck"
    assert errors == []
    assert sum(result.sent for result in results) == count
    subjects = sorted(m["Subject"] for m in smtp_server.collector.messages)
    assert subjects == sorted(f"Nr. {n}" for n in range(count))  # each exactly once
    with live.app_context():
        stored = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids))).scalars().all()
        assert all(message.sent_at is not None and message.attempts == 1 for message in stored)
        db.session.remove()
