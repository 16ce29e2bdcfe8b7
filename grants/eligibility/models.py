"""Eligibility: the results stored per rule at each submission, and the de minimis register.

A call's ruleset itself is plain JSON on the call (``Call.eligibility_rules``), frozen with the
rest of the call at publication (DESIGN §12 item 1).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from grants.core.db import JSONType, Money, TimestampMixin, UTCDateTime, db, str_enum


class Severity(enum.StrEnum):
    #: Cannot submit; must be declared ineligible unless overridden with a justification.
    BLOCKING = "blocking"
    #: An officer must confirm.
    MANUAL = "manual"
    #: Shown, never stops anything.
    WARNING = "warning"


class Outcome(enum.StrEnum):
    PASS = "pass"  # nosec B105  # a rule's outcome, not a password
    FAIL = "fail"
    #: Needs an officer's look (a manual rule, or a check that cannot decide on its own).
    MANUAL = "manual"


class EligibilityResult(TimestampMixin, db.Model):
    """One rule's outcome for one submission round, with the inputs it saw; an officer's
    confirmation or override (with its justification) is kept beside the computed outcome."""

    __tablename__ = "eligibility_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"), index=True)
    #: The submission round whose snapshot was checked.
    round: Mapped[int] = mapped_column(sa.Integer)
    rule_code: Mapped[str] = mapped_column(sa.String(60))
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "eligibility_severity"))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "eligibility_outcome"))
    #: The rule's title and (when not passed) message in both languages, as the call had them.
    title_lv: Mapped[str] = mapped_column(sa.String(300))
    title_en: Mapped[str] = mapped_column(sa.String(300))
    message_lv: Mapped[str] = mapped_column(sa.Text, default="")
    message_en: Mapped[str] = mapped_column(sa.Text, default="")
    #: The facts the rule looked at (plain JSON).
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: An officer's decision on a manual or failed rule: ``pass`` or ``fail``.
    decided_outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "eligibility_decision"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    justification: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.UniqueConstraint("application_id", "round", "rule_code"),
        sa.CheckConstraint("decided_outcome IS NULL OR decided_outcome <> 'manual'", name="decided_is_final"),
    )

    @property
    def final_outcome(self) -> Outcome:
        return self.decided_outcome or self.outcome


class AidSource(enum.StrEnum):
    IMPORT = "import"
    AWARD = "award"
    MANUAL = "manual"


class DeMinimisAid(TimestampMixin, db.Model):
    """Aid granted to an undertaking (identified by its registration number), for the rolling
    three-year de minimis ceiling (Regulation (EU) 2023/2831)."""

    __tablename__ = "de_minimis_aid"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_number: Mapped[str] = mapped_column(sa.String(50), index=True)
    undertaking: Mapped[str] = mapped_column(sa.String(300), default="")
    amount: Mapped[Decimal] = mapped_column("amount_cents", Money)
    granted_on: Mapped[date] = mapped_column(sa.Date)
    #: Who granted it (another authority, or this programme's award).
    granting_authority: Mapped[str] = mapped_column(sa.String(300), default="")
    source: Mapped[AidSource] = mapped_column(str_enum(AidSource, "aid_source"), default=AidSource.IMPORT)
    #: The award's application, when the aid was granted here.
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"))
    reference: Mapped[str] = mapped_column(sa.String(120), default="")

    __table_args__ = (sa.CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
                      # a grant's aid (the grants list's de minimis flag; migration 0020)
                      sa.Index("ix_de_minimis_aid_application_id", "application_id"))
