"""The irregularities register (``irregularity_v1``) and the recovery orders that get money back."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.applications.models import Application
from grants.core.db import Money, TimestampMixin, UTCDateTime, db, utcnow
from grants.workflows.engine import protect_state

#: Every state of irregularity_v1, in order.
IRREGULARITY_STATES = ("suspected", "confirmed", "recovered", "written_off", "dismissed")
#: A confirmed irregularity not yet settled: it blocks the grant's payments and counts against the
#: organisation's later applications.
OPEN_IRREGULARITY_STATES = ("confirmed",)


class Irregularity(TimestampMixin, db.Model):
    """A suspected or confirmed irregularity on a grant (an ineligible expense, double funding, a
    conflict of interest found later…): the amount concerned, how it was found, what became of it."""

    __tablename__ = "irregularities"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"), index=True)
    amount: Mapped[Decimal] = mapped_column("amount_cents", Money)
    description: Mapped[str] = mapped_column(sa.Text)
    detected_on: Mapped[date] = mapped_column(sa.Date)
    state: Mapped[str] = mapped_column(sa.String(40), default="suspected")
    workflow_name: Mapped[str] = mapped_column(sa.String(60), default="irregularity")
    workflow_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    application: Mapped[Application] = relationship(lazy="joined", innerjoin=True)
    recovery_orders: Mapped[list[RecoveryOrder]] = relationship(back_populates="irregularity", lazy="selectin",
                                                                order_by="RecoveryOrder.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
        sa.Index("ix_irregularities_state", "state"),
    )

    @property
    def organisation_id(self) -> int:
        return self.application.organisation_id

    @property
    def ordered(self) -> Decimal:
        return sum((order.amount for order in self.recovery_orders), Decimal("0.00"))

    @property
    def recovered(self) -> Decimal:
        return sum((order.recovered_amount for order in self.recovery_orders), Decimal("0.00"))


protect_state(Irregularity.state)


class RecoveryOrder(TimestampMixin, db.Model):
    """A demand to pay back (part of) an irregular amount, and what has come back on it."""

    __tablename__ = "recovery_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    irregularity_id: Mapped[int] = mapped_column(sa.ForeignKey("irregularities.id", ondelete="RESTRICT"),
                                                 index=True)
    amount: Mapped[Decimal] = mapped_column("amount_cents", Money)
    issued_on: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date] = mapped_column(sa.Date)
    reference: Mapped[str] = mapped_column(sa.String(120), default="")
    recovered_amount: Mapped[Decimal] = mapped_column("recovered_amount_cents", Money, default=Decimal("0.00"))
    #: When the last amount came back.
    recovered_on: Mapped[date | None] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    irregularity: Mapped[Irregularity] = relationship(back_populates="recovery_orders")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
        sa.CheckConstraint("recovered_amount_cents >= 0 AND recovered_amount_cents <= amount_cents",
                           name="recovered_within_order"),
        sa.CheckConstraint("issued_on <= due_on", name="due_after_issue"),
    )

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.recovered_amount
