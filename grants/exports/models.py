"""An export: a file of the data made on request (in the background when Redis is configured)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.db import JSONType, TimestampMixin, UTCDateTime, db, utcnow
from grants.workflows.engine import protect_state

#: The states of export_v1.
EXPORT_STATES = ("queued", "running", "done", "failed")


class Export(TimestampMixin, db.Model):
    """One requested file: what (``kind``, ``format``, ``filters``), how far it got, and the finished file.

    Moved by the ``export`` workflow: queued → running → done, or failed (which may be retried);
    a running export whose worker stopped reporting is queued again. The file is registered only
    when it is complete, so a download never gets half a file."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    format: Mapped[str] = mapped_column(sa.String(10))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: The language the file's headers are written in.
    language: Mapped[str] = mapped_column(sa.String(5), default="lv")
    state: Mapped[str] = mapped_column(sa.String(40), default="queued")
    workflow_name: Mapped[str] = mapped_column(sa.String(60), default="export")
    workflow_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    #: Rows written so far, and how many there are to write (when known).
    progress: Mapped[int] = mapped_column(sa.Integer, default=0)
    total: Mapped[int | None] = mapped_column(sa.Integer)
    #: How many times a worker started it.
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: Last sign of life from the worker making it.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The finished file (random key in the storage backend).
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    content_type: Mapped[str | None] = mapped_column(sa.String(120))
    storage_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    size: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    #: The audit chain's head and length when the data was read (the file quotes them too).
    audit_head: Mapped[str | None] = mapped_column(sa.String(64))
    audit_events: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: Why it failed, in words.
    error: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("state <> 'done' OR storage_key IS NOT NULL", name="done_has_file"),
        sa.CheckConstraint("progress >= 0", name="progress_not_negative"),
        sa.Index("ix_exports_state", "state"),
    )

    @property
    def audit(self) -> dict[str, Any] | None:
        return {"hash": self.audit_head, "events": self.audit_events} if self.audit_head else None

    def __repr__(self) -> str:
        return f"<Export {self.id} {self.kind}.{self.format} {self.state}>"


protect_state(Export.state)
