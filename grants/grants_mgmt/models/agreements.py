"""The grant agreement of an approved application, the reports it requires and the files of a grant."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.applications.models import Application
from grants.core.db import JSONType, Money, Points, TimestampMixin, UTCDateTime, db, str_enum, utcnow


class ReportKind(enum.StrEnum):
    PROGRESS = "progress"
    FINAL = "final"


class GrantAgreement(TimestampMixin, db.Model):
    """What the programme and the grantee signed (DESIGN §7): editable by officers while the
    application is approved and the agreement unsigned; ``sign_contract`` freezes it."""

    __tablename__ = "grant_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"), unique=True)
    #: Agreements are numbered per programme: ``<programme code>-L-<sequence>``.
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="RESTRICT"))
    sequence: Mapped[int] = mapped_column(sa.Integer)
    number: Mapped[str] = mapped_column(sa.String(60))
    start_date: Mapped[date] = mapped_column(sa.Date)
    end_date: Mapped[date] = mapped_column(sa.Date)
    #: At most the amount the committee decided.
    awarded_amount: Mapped[Decimal] = mapped_column("awarded_amount_cents", Money)
    #: The grantee's own contribution, in per cent of the eligible cost (two decimals).
    co_financing_rate: Mapped[Decimal] = mapped_column("co_financing_rate_x100", Points)
    #: The decision's conditions, as agreed.
    conditions: Mapped[str] = mapped_column(sa.Text, default="")
    #: Stage-gated awards: the amount each funded SI stage gets, ``[{si_stage, amount}]`` in stage
    #: order (amounts as decimal strings); a single tranche otherwise.
    tranches: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    #: Indicator code → the value the grantee undertakes to reach (decimal strings).
    indicator_targets: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: The scan of the signed agreement (a :class:`GrantFile`).
    signed_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grant_files.id", ondelete="RESTRICT"))
    #: Recorded by the application's ``sign_contract``; the agreement no longer changes after.
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    application: Mapped[Application] = relationship()
    signed_file: Mapped[GrantFile | None] = relationship(foreign_keys=[signed_file_id])

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "sequence"),
        sa.UniqueConstraint("programme_id", "number"),
        sa.CheckConstraint("start_date <= end_date", name="period"),
        sa.CheckConstraint("awarded_amount_cents > 0", name="awarded_positive"),
        sa.CheckConstraint("co_financing_rate_x100 >= 0 AND co_financing_rate_x100 <= 10000",
                           name="co_financing_rate_range"),
    )

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class ReportDue(db.Model):
    """A report the agreement requires: its kind, the SI stage and period it covers, its due date.
    A grant report fills exactly one; one not delivered (submitted or accepted) by its due date is
    overdue."""

    __tablename__ = "grant_report_dues"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"))
    kind: Mapped[ReportKind] = mapped_column(str_enum(ReportKind, "report_kind"))
    #: The award stage the report is about (stage-gated awards report per stage).
    si_stage: Mapped[str] = mapped_column(sa.String(40))
    period_end: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date] = mapped_column(sa.Date)

    __table_args__ = (
        sa.UniqueConstraint("application_id", "kind", "period_end"),
        sa.CheckConstraint("period_end <= due_on", name="due_after_period"),
        sa.Index("ix_grant_report_dues_due_on", "due_on"),
    )


class FilePurpose(enum.StrEnum):
    AGREEMENT = "agreement"
    REPORT = "report"


class GrantFile(TimestampMixin, db.Model):
    """A file of a grant (the signed agreement, a report's evidence), kept under the same upload
    rules as an application's attachments; the bytes are in the storage backend."""

    __tablename__ = "grant_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"), index=True)
    purpose: Mapped[FilePurpose] = mapped_column(str_enum(FilePurpose, "grant_file_purpose"))
    #: The report it belongs to (report evidence).
    report_id: Mapped[int | None] = mapped_column(sa.ForeignKey("grant_reports.id", ondelete="RESTRICT"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    storage_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: A file taken back before it became part of the record (a replaced agreement scan, a draft
    #: report's file); the row stays for the audit trail.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint("size >= 0", name="size_not_negative"),)
