"""The outbox: messages written in the same transaction as what they tell about, sent later."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.db import TimestampMixin, UTCDateTime, db, utcnow


class OutboxMessage(TimestampMixin, db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What it is about, a stable code: ``submission_receipt``, ``clarification_requested``, ``corrigendum``…
    kind: Mapped[str] = mapped_column(sa.String(60))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    #: Language the message was written in (the recipient's).
    language: Mapped[str] = mapped_column(sa.String(5), default="lv")
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    #: The object it is about (as in the audit trail), for the history and for idempotency.
    object_type: Mapped[str] = mapped_column(sa.String(60), default="")
    object_id: Mapped[str] = mapped_column(sa.String(64), default="")
    #: Not sent before this time (retries back off by moving it on).
    send_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Given up after too many attempts; kept for an officer to see.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_outbox_messages_pending", "sent_at", "failed_at", "send_after"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )
