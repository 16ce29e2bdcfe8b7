"""Programmes, their calls for proposals and the SI stages each call funds."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.calls.parts import default_part
from grants.core.codes import FUND_SOURCE_LABELS, FundSource, label
from grants.core.db import JSONType, Money, TimestampMixin, UTCDateTime, db, str_enum, utcnow
from grants.core.i18n import localized
from grants.initiatives.stages import DEFAULT_STAGE_MODEL, STAGE_MODELS, StageModel


class Programme(TimestampMixin, db.Model):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title_lv: Mapped[str] = mapped_column(sa.String(300))
    title_en: Mapped[str] = mapped_column(sa.String(300))
    fund_source: Mapped[FundSource] = mapped_column(str_enum(FundSource, "fund_source"))
    budget: Mapped[Decimal] = mapped_column("budget_cents", Money)
    #: ISO 4217; amounts are kept in this currency.
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    #: Which SI stage model the programme's calls and initiatives use.
    stage_model: Mapped[str] = mapped_column(sa.String(40), default=DEFAULT_STAGE_MODEL)
    #: Since when the list of its operations is public (DESIGN §9); None while it is not.
    operations_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    calls: Mapped[list[Call]] = relationship(back_populates="programme", order_by="Call.opens_at")

    __table_args__ = (
        sa.CheckConstraint("starts_on <= ends_on", name="period"),
        sa.CheckConstraint("budget_cents >= 0", name="budget_not_negative"),
    )

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def fund_source_label(self) -> str:
        return label(FUND_SOURCE_LABELS, self.fund_source)

    @property
    def stages(self) -> StageModel:
        return STAGE_MODELS[self.stage_model]


def _default_rubric() -> dict[str, Any]:
    """New calls start from the standard rubric (grants.evaluations.rubrics registers it);
    officers change it while the call is a draft."""
    return default_part("rubric")


#: Who sets calls up: drafts, forms, rules, publication and corrigenda (pages and API).
CALL_EDITORS = ("officer", "admin")


class CallStatus(enum.StrEnum):
    """Stored status. Whether a published call is open also depends on its dates."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class PublicCallStatus(enum.StrEnum):
    DRAFT = "draft"
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


PUBLIC_CALL_STATUS_LABELS = {
    PublicCallStatus.DRAFT: _l("Draft"),
    PublicCallStatus.UPCOMING: _l("Opens soon"),
    PublicCallStatus.OPEN: _l("Open"),
    PublicCallStatus.CLOSED: _l("Closed"),
}


class Call(TimestampMixin, db.Model):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="RESTRICT"),
                                              index=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title_lv: Mapped[str] = mapped_column(sa.String(300))
    title_en: Mapped[str] = mapped_column(sa.String(300))
    description_lv: Mapped[str] = mapped_column(sa.Text, default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Submission deadline, judged by the server's clock.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    budget: Mapped[Decimal] = mapped_column("budget_cents", Money)
    status: Mapped[CallStatus] = mapped_column(str_enum(CallStatus, "call_status"), default=CallStatus.DRAFT)
    #: Workflow definition pinned by the call (grants/workflows/definitions/<name>_v<version>.yaml).
    workflow_name: Mapped[str] = mapped_column(sa.String(60), default="application")
    workflow_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    #: Call version; publication freezes version 1, each corrigendum makes the next.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The application form: a list of sections with their questions (grants.forms).
    form: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    #: The eligibility ruleset (grants.eligibility.rules): plain JSON, frozen with the call.
    eligibility_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    #: The scoring rubric and evaluation settings (grants.evaluations.rubrics): plain JSON, frozen with the call.
    rubric: Mapped[dict[str, Any]] = mapped_column(JSONType, default=lambda: _default_rubric())
    #: SHA-256 of the frozen call version (form, rules, rubric, budget) since publication.
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))

    programme: Mapped[Programme] = relationship(back_populates="calls", lazy="joined")
    stages: Mapped[list[CallStage]] = relationship(back_populates="call", lazy="selectin",
                                                   cascade="all, delete-orphan",
                                                   order_by="CallStage.position")

    __table_args__ = (
        sa.CheckConstraint("opens_at < closes_at", name="dates"),
        sa.CheckConstraint("budget_cents >= 0", name="budget_not_negative"),
        sa.CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name="published_at"),
        sa.Index("ix_calls_status_closes_at", "status", "closes_at"),
    )

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def description(self) -> str:
        return localized(self, "description")

    def public_status(self, now: datetime | None = None) -> PublicCallStatus:
        now = now or utcnow()
        if self.status == CallStatus.DRAFT:
            return PublicCallStatus.DRAFT
        if self.status == CallStatus.CLOSED or now >= self.closes_at:
            return PublicCallStatus.CLOSED
        if now < self.opens_at:
            return PublicCallStatus.UPCOMING
        return PublicCallStatus.OPEN

    @property
    def public_status_label(self) -> str:
        return label(PUBLIC_CALL_STATUS_LABELS, self.public_status())

    @property
    def is_open(self) -> bool:
        return self.public_status() == PublicCallStatus.OPEN

    @property
    def stage_codes(self) -> list[str]:
        return [stage.si_stage for stage in self.stages]

    def stage(self, code: str) -> CallStage | None:
        return next((stage for stage in self.stages if stage.si_stage == code), None)


class CallStage(db.Model):
    """An SI stage a call funds, with its budget envelope and grant limits."""

    __tablename__ = "call_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    #: Stage code of the programme's stage model.
    si_stage: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    envelope: Mapped[Decimal] = mapped_column("envelope_cents", Money)
    min_grant: Mapped[Decimal] = mapped_column("min_grant_cents", Money)
    max_grant: Mapped[Decimal] = mapped_column("max_grant_cents", Money)

    call: Mapped[Call] = relationship(back_populates="stages")

    __table_args__ = (
        sa.UniqueConstraint("call_id", "si_stage"),
        sa.CheckConstraint("0 <= min_grant_cents AND min_grant_cents <= max_grant_cents", name="grant_limits"),
        sa.CheckConstraint("max_grant_cents <= envelope_cents", name="max_within_envelope"),
    )

    @property
    def label(self) -> str:
        stage = self.call.programme.stages.get(self.si_stage)
        return str(stage.label) if stage else self.si_stage


class CallVersion(TimestampMixin, db.Model):
    """A published version of a call, frozen: publication makes version 1, each corrigendum the next."""

    __tablename__ = "call_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    #: What was frozen (dates, budget and stages, form, rules, rubric), as canonical JSON data.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    #: The corrigendum's explanation (empty for the first publication).
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (sa.UniqueConstraint("call_id", "version"),)
