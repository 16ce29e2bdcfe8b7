"""Applications: a request for money for one SI stage of one initiative, in one call."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.calls.models import Call
from grants.core import search
from grants.core.db import JSONType, Money, TimestampMixin, UTCDateTime, db, utcnow
from grants.initiatives.models import Initiative
from grants.initiatives.stages import stage_label
from grants.organisations.models import Organisation
from grants.users.models import User
from grants.workflows.engine import protect_state


class Application(TimestampMixin, db.Model):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="RESTRICT"))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="RESTRICT"),
                                                 index=True)
    initiative_id: Mapped[int] = mapped_column(sa.ForeignKey("initiatives.id", ondelete="RESTRICT"),
                                               index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The SI stage this application asks money for.
    si_stage: Mapped[str] = mapped_column(sa.String(40))
    #: The stage the award currently funds: ``si_stage`` until a stage gate moves it on.
    award_stage: Mapped[str] = mapped_column(
        sa.String(40), default=lambda ctx: ctx.get_current_parameters()["si_stage"])
    #: Stages whose results were accepted (final report or passed gate): evidence for the
    #: initiative's ``advance``.
    proven_stages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    requested_amount: Mapped[Decimal] = mapped_column("requested_amount_cents", Money)
    duration_months: Mapped[int] = mapped_column(sa.Integer)
    #: Answers to the call's form, by question code.
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: Workflow state; a state of the pinned workflow definition, changed only by the engine.
    state: Mapped[str] = mapped_column(sa.String(40), default="draft")
    #: While appealed: the state the appealed decision put it in (an upheld appeal returns there).
    appealed_from: Mapped[str | None] = mapped_column(sa.String(40))
    workflow_name: Mapped[str] = mapped_column(sa.String(60))
    workflow_version: Mapped[int] = mapped_column(sa.Integer)
    #: Optimistic lock: every UPDATE checks and bumps it; a stale write fails.
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: The folded words of the title, the organisation's name and the initiative's title: what the
    #: full-text search reads (``grants.core.search``); kept by ``grants.applications.search`` at every flush.
    search_text: Mapped[str] = mapped_column(sa.Text, default="", server_default="", deferred=True)

    call: Mapped[Call] = relationship(lazy="joined", innerjoin=True)
    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    initiative: Mapped[Initiative] = relationship(back_populates="applications")
    created_by: Mapped[User | None] = relationship()
    #: Snapshots in round order (one query for any number of applications: selectin).
    submissions: Mapped[list[Submission]] = relationship(order_by="Submission.round", lazy="selectin",
                                                         viewonly=True)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("requested_amount_cents >= 0", name="amount_not_negative"),
        sa.CheckConstraint("duration_months > 0", name="duration_positive"),
        sa.CheckConstraint("state <> 'appealed' OR appealed_from IS NOT NULL", name="appeal_origin"),
        sa.Index("ix_applications_call_id_state", "call_id", "state"),
        #: The eligibility queue across calls; the applications list, newest change first (migration 0016).
        sa.Index("ix_applications_state_call_id", "state", "call_id"),
        sa.Index("ix_applications_updated_at_id", "updated_at", "id"),
        #: The applications list sorted by title or by the amount asked for, a page read in index order
        #: (migration 0019).
        sa.Index("ix_applications_title_id", "title", "id"),
        sa.Index("ix_applications_requested_amount_cents_id", "requested_amount_cents", "id"),
        search.pg_index("ix_applications_search"),
    )

    @property
    def latest_submission(self) -> Submission | None:
        return self.submissions[-1] if self.submissions else None

    @property
    def stage_label(self) -> str:
        return stage_label(self.si_stage, self.call.programme.stage_model)

    def __repr__(self) -> str:
        return f"<Application {self.id} {self.state}>"


protect_state(Application.state)


class Attachment(TimestampMixin, db.Model):
    """A file uploaded to an application; the bytes live in the storage backend under ``storage_key``."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"), index=True)
    #: The form question it answers (a file question), if any.
    question_code: Mapped[str | None] = mapped_column(sa.String(60))
    #: The applicant's file name, cleaned (no path, no control characters); shown and used for downloads.
    filename: Mapped[str] = mapped_column(sa.String(255))
    #: The type found by looking at the content, not the one the browser claimed.
    content_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    #: Random name in the storage backend; never derived from the applicant's file name.
    storage_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: A removed draft file stays for the snapshots that list it; it is no longer offered.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    application: Mapped[Application] = relationship()

    __table_args__ = (sa.CheckConstraint("size >= 0", name="size_not_negative"),)


class Submission(TimestampMixin, db.Model):
    """An immutable snapshot of what was submitted (DESIGN §12 item 7): each submit or
    resubmission makes the next round; ``content_hash`` is the SHA-256 of ``snapshot`` as canonical JSON."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"), index=True)
    round: Mapped[int] = mapped_column(sa.Integer)
    #: ``submit`` (first or full proposal) or ``resubmit`` (answer to a clarification request).
    trigger: Mapped[str] = mapped_column(sa.String(60))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: Answers, application fields, organisation data and attachment hashes as they were.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(sa.String(64))

    application: Mapped[Application] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("application_id", "round"),
        #: An application's first and latest submission time without reading the snapshots (migration 0016).
        sa.Index("ix_submissions_application_id_submitted_at", "application_id", "submitted_at"),
        #: The applications list by submission time, newest first (migration 0019).
        sa.Index("ix_submissions_submitted_at_application_id", "submitted_at", "application_id"),
    )


# The search text is kept at every flush (imported here so it is whenever the models are).
from grants.applications import search as _search  # noqa: E402,F401
