"""Notifications: write messages to the outbox with the change they tell about, send them later.

Writing (:func:`queue_message`, :func:`notify`) happens in the caller's transaction: it
flushes and never commits, so a message exists exactly when the state change, its audit event
and the rest of the request commit. This is a service every domain calls: what a message says
is the domain's (``grants/<domain>/notices.py``), its template is under notifications/.

Sending (:func:`send_pending`) is a job, not a request service: run by
``flask --app grants outbox send``, it owns its transactions and **commits once per message**,
so one bad message neither blocks nor resends the others. Delivery is at least once: a crash
between the SMTP server accepting a message and the commit that marks it sent would send it
again on the next run; two senders running at the same time never send the same message.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from grants.core.db import db, utcnow
from grants.core.errors import UserInputError
from grants.notifications.models import OutboxMessage

#: Longest subject the outbox keeps (the column's size).
SUBJECT_MAX = 300
#: Longest last error kept on a message.
ERROR_MAX = 2000


# --- writing --------------------------------------------------------------------------------------

#: Who else receives a message queued to a registered person, beside the outbox, in the same transaction:
#: ``deliver(message, user)``. The users domain registers the in-app notification (grants.users.notices).
DELIVERIES: list[Callable[[OutboxMessage, Any], None]] = []

def _has_line_break(value: str) -> bool:
    return any(char in value for char in "\r\n\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def check_header_values(*, subject: str, to_address: str) -> None:
    """Refuse values that could smuggle extra headers into a message (header injection)."""
    fields: dict[str, list[str]] = {}
    if _has_line_break(subject):
        fields["subject"] = [_("The subject must be a single line.")]
    name, address = parseaddr(to_address)
    if (_has_line_break(to_address) or not address or address != to_address.strip() or "@" not in address
            or any(char in address for char in " ,;<>\"")):
        fields["to_address"] = [_("Not a valid e-mail address.")]
    if fields:
        raise UserInputError(_("The message cannot be sent as it is."), fields=fields)


def queue_message(kind: str, to_user_or_address, subject: str, body: str, *, language: str,
                  object_type: str = "", object_id: Any = "") -> OutboxMessage:
    """Write one message to the outbox in the current transaction (flushes, never commits).

    ``to_user_or_address`` is a user (their e-mail address is used) or an address. Raises
    :class:`UserInputError` for a subject or address that could inject headers.
    """
    address = getattr(to_user_or_address, "email", to_user_or_address) or ""
    address = str(address).strip()
    subject = subject.strip()
    check_header_values(subject=subject, to_address=address)
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    if len(subject) > SUBJECT_MAX:
        subject = subject[:SUBJECT_MAX - 1] + "…"
    message = OutboxMessage(kind=kind, to_address=address, language=language, subject=subject, body=body,
                            object_type=object_type, object_id=str(object_id), send_after=utcnow(), attempts=0)
    db.session.add(message)
    db.session.flush()
    if getattr(to_user_or_address, "id", None) is not None:
        for deliver in DELIVERIES:
            deliver(message, to_user_or_address)
    return message


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link to a page, on ``PUBLIC_BASE_URL``, inside a request or not.

    It builds what ``url_for(endpoint, _external=True)`` would on a request to that address:
    the address people reach the service at, not the one a job or a proxy happens to use.
    """
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def _render(template: str, **context: Any) -> tuple[str, str]:
    """Subject (the template's first line) and body (the rest) of a plain-text message."""
    text = render_template(f"notifications/{template}.txt", **context)
    subject, _newline, body = text.lstrip().partition("\n")
    return " ".join(subject.split()), body.strip("\n") + "\n"


def notify(kind: str, user, template: str | None = None, object_type: str = "", object_id: Any = "",
           **context: Any) -> OutboxMessage:
    """Queue a message to ``user`` rendered from ``notifications/<template or kind>.txt`` in the
    user's language (a Latvian user gets Latvian e-mail whatever the request's language)."""
    language = user.locale if user.locale in current_app.config["LANGUAGES"] else "lv"
    with force_locale(language):
        subject, body = _render(template or kind, user=user, **context)
    return queue_message(kind, user, subject, body, language=language, object_type=object_type, object_id=object_id)


def organisation_recipients(organisation) -> list:
    """Active members of an organisation, in a stable order."""
    users = [membership.user for membership in organisation.memberships]
    return sorted((user for user in users if user.is_active_account), key=lambda user: user.id)


def local_time(moment: datetime) -> str:
    """A UTC time as people in the programme read it (``BABEL_DEFAULT_TIMEZONE``, Europe/Riga)."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def one_line(text: str) -> str:
    """``text`` with its whitespace (line breaks included) collapsed: safe in a subject line."""
    return " ".join(str(text).split())


# --- reading --------------------------------------------------------------------------------------

STATUSES = ("pending", "sent", "failed")


def status_of(message: OutboxMessage) -> str:
    if message.sent_at is not None:
        return "sent"
    return "failed" if message.failed_at is not None else "pending"


def messages_query(status: str | None = None) -> sa.Select:
    """Outbox messages, newest first, optionally only ``pending``, ``sent`` or ``failed`` ones."""
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status == "pending":
        query = query.where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
    elif status == "sent":
        query = query.where(OutboxMessage.sent_at.is_not(None))
    elif status == "failed":
        query = query.where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_not(None))
    return query


def outbox_counts() -> dict[str, int]:
    """How many messages are pending, sent and given up (one query)."""
    pending = sa.and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
    failed = sa.and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_not(None))
    row = db.session.execute(sa.select(
        sa.func.count(sa.case((pending, 1))),
        sa.func.count(OutboxMessage.sent_at),
        sa.func.count(sa.case((failed, 1))),
    )).one()
    return {"pending": row[0], "sent": row[1], "failed": row[2]}


# --- sending --------------------------------------------------------------------------------------

@dataclass
class SendResult:
    sent: int = 0
    #: Failed this time, to be tried again later.
    retried: int = 0
    #: Failed for the last time (or could never be sent): marked failed.
    failed: int = 0


class PermanentFailure(Exception):
    """The message itself is unusable: trying again cannot help."""


def build_email(message: OutboxMessage, sender: str | None = None) -> EmailMessage:
    """The e-mail for an outbox message: UTF-8, with a Message-ID, headers checked for injection."""
    sender = sender or current_app.config["MAIL_FROM"]
    try:
        check_header_values(subject=message.subject, to_address=message.to_address)
    except UserInputError as error:
        raise PermanentFailure(f"refused: unsafe header ({', '.join(sorted(error.fields))})") from None
    if _has_line_break(sender):
        raise PermanentFailure("refused: unsafe MAIL_FROM")
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = make_msgid(idstring=f"outbox.{message.id}", domain=domain)
    email["Content-Language"] = message.language
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body, charset="utf-8")
    return email


class _Connection:
    """One SMTP connection for a run of the sender, opened when first needed, dropped after an error."""

    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def send(self, email: EmailMessage, to_address: str) -> None:
        if self.smtp is None:
            cfg = self.config
            smtp = smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"])
            try:
                if cfg["SMTP_STARTTLS"]:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg["SMTP_USERNAME"]:
                    smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
            except BaseException:
                smtp.close()
                raise
            self.smtp = smtp
        envelope_from = parseaddr(self.config["MAIL_FROM"])[1]
        self.smtp.send_message(email, from_addr=envelope_from, to_addrs=[to_address])

    def drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                self.smtp.close()
                self.smtp = None


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failed ones: 1, 2, 4… minutes, capped."""
    cap = current_app.config["OUTBOX_MAX_BACKOFF_MINUTES"]
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), cap))


def _next_due(now: datetime) -> OutboxMessage | None:
    """The oldest due message, locked for this transaction. On PostgreSQL other senders skip it
    (FOR UPDATE SKIP LOCKED); on SQLite a job's transaction begins IMMEDIATE (grants.core.db),
    so senders take turns and each sees the previous one's marks."""
    query = (sa.select(OutboxMessage)
             .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
                    OutboxMessage.send_after <= now)
             .order_by(OutboxMessage.id).limit(1)
             .with_for_update(skip_locked=True))
    return db.session.execute(query).scalar_one_or_none()


def send_pending(limit: int = 100, now: datetime | None = None) -> SendResult:
    """Send up to ``limit`` due messages, oldest first. **Commits once per message** (this is the
    sender job, not a request service): on success the message is marked sent; on failure its
    attempts grow, the error is kept and it is tried again after :func:`backoff`, until
    ``OUTBOX_MAX_ATTEMPTS`` when it is marked failed. ``now`` (UTC) is for tests."""
    config = current_app.config
    result = SendResult()
    connection = _Connection(config)
    try:
        for _step in range(limit):
            moment = now or utcnow()
            message = _next_due(moment)
            if message is None:
                db.session.commit()  # ends the (empty) transaction; on SQLite it frees the write lock
                break
            try:
                connection.send(build_email(message), message.to_address)
            except PermanentFailure as error:
                _record_failure(message, str(error), moment, final=True)
                result.failed += 1
            except (smtplib.SMTPException, OSError, ValueError, UnicodeError) as error:
                connection.drop()
                final = message.attempts + 1 >= config["OUTBOX_MAX_ATTEMPTS"]
                _record_failure(message, f"{type(error).__name__}: {error}", moment, final=final)
                if final:
                    result.failed += 1
                else:
                    result.retried += 1
            else:
                message.attempts += 1
                message.sent_at = utcnow()
                message.last_error = None
                result.sent += 1
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        connection.close()
    return result


def _record_failure(message: OutboxMessage, error: str, now: datetime, *, final: bool) -> None:
    message.attempts += 1
    message.last_error = error[:ERROR_MAX]
    if final:
        message.failed_at = now
    else:
        message.send_after = now + backoff(message.attempts)
