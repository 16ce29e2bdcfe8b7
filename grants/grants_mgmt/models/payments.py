"""Payments of a grant: instalments of the schedule, each a workflow object (``payment_v1``)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.applications.models import Application
from grants.core.db import Money, TimestampMixin, UTCDateTime, db, str_enum, utcnow
from grants.workflows.engine import newest_version, protect_state


class PaymentKind(enum.StrEnum):
    ADVANCE = "advance"
    INTERIM = "interim"
    FINAL = "final"
    #: The next stage's money of a stage-gated award, released by a passed gate.
    TRANCHE = "tranche"


#: Every state of payment_v1, in order; ``paid`` and ``rejected`` are final.
PAYMENT_STATES = ("planned", "requested", "verified", "paid", "rejected")
#: States of a payment still counting towards the schedule (all but rejected).
SCHEDULED_STATES = ("planned", "requested", "verified", "paid")
OPEN_PAYMENT_STATES = ("planned", "requested", "verified")


class Payment(TimestampMixin, db.Model):
    """One instalment: planned by an officer, requested, verified by one finance officer and paid by
    another (DESIGN §6, §10), or rejected."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"))
    kind: Mapped[PaymentKind] = mapped_column(str_enum(PaymentKind, "payment_kind"))
    #: The award stage the money is for.
    si_stage: Mapped[str] = mapped_column(sa.String(40))
    amount: Mapped[Decimal] = mapped_column("amount_cents", Money)
    due_on: Mapped[date] = mapped_column(sa.Date)
    state: Mapped[str] = mapped_column(sa.String(40), default="planned")
    workflow_name: Mapped[str] = mapped_column(sa.String(60), default="payment")
    #: A new payment follows the newest payment workflow; one already planned keeps its version.
    workflow_version: Mapped[int] = mapped_column(sa.Integer, default=lambda: newest_version("payment"))
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The value date of the transfer (its year sets the retention period).
    paid_on: Mapped[date | None] = mapped_column(sa.Date)
    #: The payment order's number in the accounting system.
    reference: Mapped[str] = mapped_column(sa.String(120), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    application: Mapped[Application] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint("amount_cents > 0", name="amount_positive"),
        sa.CheckConstraint("state <> 'paid' OR (paid_by_id IS NOT NULL AND paid_on IS NOT NULL)", name="paid_by"),
        sa.CheckConstraint("state NOT IN ('verified', 'paid') OR verified_by_id IS NOT NULL", name="verified_by"),
        # Separation of duties (DESIGN §6): whoever verified a payment does not pay it.
        sa.CheckConstraint("paid_by_id IS NULL OR verified_by_id IS NULL OR paid_by_id <> verified_by_id",
                           name="verifier_not_payer"),
        sa.Index("ix_payments_application_id", "application_id"),
        sa.Index("ix_payments_state_due_on", "state", "due_on"),
    )

    @property
    def organisation_id(self) -> int:
        return self.application.organisation_id

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.kind} {self.amount} {self.state}>"


protect_state(Payment.state)
