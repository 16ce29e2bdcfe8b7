"""Progress and final reports of a grant (``grant_report_v1``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.applications.models import Application
from grants.core.db import JSONType, TimestampMixin, UTCDateTime, db, utcnow
from grants.grants_mgmt.models.agreements import ReportDue
from grants.workflows.engine import protect_state

#: Every state of grant_report_v1, in order.
REPORT_STATES = ("draft", "submitted", "changes_requested", "accepted")
#: A report in one of these states has been delivered (it is not overdue).
DELIVERED_STATES = ("submitted", "accepted")
#: States in which the grantee may still change the report.
EDITABLE_REPORT_STATES = ("draft", "changes_requested")


class GrantReport(TimestampMixin, db.Model):
    """The grantee's report for one period the agreement requires: what was done (narrative), the
    indicators' values for the period, and the expenditure by budget category. Submitting freezes it
    under a content hash; an officer accepts it or returns it with comments."""

    __tablename__ = "grant_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"), index=True)
    #: The period of the agreement it reports on (kind, SI stage, period end, due date).
    due_id: Mapped[int] = mapped_column(sa.ForeignKey("grant_report_dues.id", ondelete="RESTRICT"), unique=True)
    narrative: Mapped[str] = mapped_column(sa.Text, default="")
    #: Indicator code → the value achieved in the period (decimal strings).
    indicators: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: ``[{category, amount, co_financing}]``: what was spent in the period by budget category.
    expenditure: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    state: Mapped[str] = mapped_column(sa.String(40), default="draft")
    workflow_name: Mapped[str] = mapped_column(sa.String(60), default="grant_report")
    workflow_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: SHA-256 of what was last submitted (narrative, values, expenditure, files).
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    application: Mapped[Application] = relationship(lazy="joined", innerjoin=True)
    due: Mapped[ReportDue] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("state <> 'accepted' OR accepted_at IS NOT NULL", name="accepted_at"),
        sa.CheckConstraint("state NOT IN ('submitted', 'accepted') OR content_hash IS NOT NULL", name="frozen"),
        # reports waiting for review, oldest first (the officers' dashboard), and their count, from the index
        sa.Index("ix_grant_reports_state_submitted_at_id", "state", "submitted_at", "id"),
    )

    @property
    def organisation_id(self) -> int:
        """The grantee: its members hold the applicant's role for the report."""
        return self.application.organisation_id

    @property
    def kind(self):
        return self.due.kind

    @property
    def si_stage(self) -> str:
        return self.due.si_stage

    @property
    def period_end(self):
        return self.due.period_end

    @property
    def due_on(self):
        return self.due.due_on

    def __repr__(self) -> str:
        return f"<GrantReport {self.id} {self.due.kind} {self.state}>"


protect_state(GrantReport.state)
