"""Audit events and the head of their hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.db import JSONType, UTCDateTime, db, utcnow

#: ``prev_hash`` of the first event.
GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):
    """One thing that happened, linked to the event before it by ``prev_hash``.

    The table is append-only: database triggers refuse UPDATE and DELETE (the one exception
    is the foreign key setting ``actor_id`` to NULL when an account is erased; ``actor_id`` is
    therefore not covered by the hash, ``actor_label`` is).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: When it happened (UTC, microseconds).
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Who did it; NULL for the system (or an erased account: see ``actor_label``).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: The account, for its name on pages. Audit sits below users in the layers, so the class is
    #: named, not imported; read-only, and never loaded unless a query asks for it.
    actor = relationship("User", viewonly=True, lazy="raise")
    #: The actor's e-mail address at the time, or ``system``.
    actor_label: Mapped[str] = mapped_column(sa.String(254))
    #: The role the actor acted in, when it matters.
    role: Mapped[str | None] = mapped_column(sa.String(40))
    #: Untranslated action id, e.g. ``application.submit``, ``user.login``.
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(60))
    object_id: Mapped[str] = mapped_column(sa.String(64))
    #: Before/after diff or the transition's payload (plain JSON).
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    #: The ``X-Request-ID`` of the request that wrote it (NULL outside requests).
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: Hash of the previous event (64 zeros for the first).
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    #: SHA-256 over the canonical JSON of the content fields and ``prev_hash``.
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    __table_args__ = (
        sa.Index("ix_audit_events_object_type_object_id", "object_type", "object_id"),
    )

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.object_type}:{self.object_id}>"


class AuditHead(db.Model):
    """The one row (id 1) naming the newest event; updating it serialises appends."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: Hash of the newest event (GENESIS_HASH while the log is empty).
    hash: Mapped[str] = mapped_column(sa.String(64))
    #: Id of the newest event (NULL while the log is empty).
    event_id: Mapped[int | None] = mapped_column(sa.Integer)

    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)


#: The states of a verification run, in order.
VERIFICATION_STATES = ("queued", "running", "done", "failed")
#: Where a verification was asked for.
VERIFICATION_ORIGINS = ("web", "api", "cli")


class AuditVerification(db.Model):
    """One run of the chain's verification: who asked, how far it got, and what it found.

    Made in the background when Redis is configured (grants.core.jobs), in the request otherwise, and by
    ``flask --app grants audit verify``. Unlike the events this table is a record of work, not evidence:
    a run is updated as it goes (``events_checked`` and ``heartbeat_at`` every few thousand events)."""

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Who asked (NULL: the command line).
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The account, for its name on pages (named, not imported: audit sits below users).
    requested_by = relationship("User", viewonly=True, lazy="raise")
    #: ``web`` (the audit page), ``api`` or ``cli``.
    origin: Mapped[str] = mapped_column(sa.String(10))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(sa.String(20), default="queued")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Last sign of life of the process verifying (a run that stops reporting is marked failed).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Events checked so far, and how many there are up to the head being verified.
    events_checked: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: The head verified: its hash and its event (read when the run started).
    head_hash: Mapped[str | None] = mapped_column(sa.String(64))
    head_event_id: Mapped[int | None] = mapped_column(sa.Integer)
    #: The verdict once done; the first event that does not match when it is not valid.
    valid: Mapped[bool | None] = mapped_column(sa.Boolean)
    first_invalid_id: Mapped[int | None] = mapped_column(sa.Integer)
    #: Why it failed to finish (not a verdict on the chain).
    error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
        sa.CheckConstraint("origin IN ('web', 'api', 'cli')", name="origin"),
        sa.CheckConstraint("state <> 'done' OR valid IS NOT NULL", name="done_has_verdict"),
        sa.CheckConstraint("events_checked >= 0", name="events_not_negative"),
        sa.Index("ix_audit_verifications_state", "state"),
    )

    @property
    def percent(self) -> int | None:
        """How far it got, in whole per cent (None before the total is known)."""
        if not self.total:
            return 100 if self.state == "done" else None
        return min(100, self.events_checked * 100 // self.total)

    def __repr__(self) -> str:
        return f"<AuditVerification {self.id} {self.state}>"
