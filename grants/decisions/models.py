"""Funding decisions the committee records on the ranked list (DESIGN §7, §12 item 5)."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.db import Money, Points, TimestampMixin, db, str_enum
from grants.users.models import User


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    RESERVE = "reserve"
    REJECTED = "rejected"


OUTCOME_LABELS = {
    Outcome.APPROVED: _l("Approve"),
    Outcome.RESERVE: _l("Reserve list"),
    Outcome.REJECTED: _l("Reject"),
}
#: The workflow trigger that records each outcome.
OUTCOME_TRIGGERS = {Outcome.APPROVED: "approve", Outcome.RESERVE: "put_on_reserve", Outcome.REJECTED: "reject"}


class Decision(TimestampMixin, db.Model):
    """One committee decision on one application (a reserve may later be approved or rejected:
    each decision is its own row, the newest is in force)."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"), index=True)
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "decision_outcome"))
    #: The amount awarded (approved only): the requested amount or less.
    amount: Mapped[Decimal | None] = mapped_column("amount_cents", Money)
    conditions: Mapped[str] = mapped_column(sa.Text, default="")
    justification: Mapped[str] = mapped_column(sa.Text, default="")
    decided_on: Mapped[date] = mapped_column(sa.Date)
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    #: What the ranking recommended when the decision was taken, and the rank and score then.
    recommended: Mapped[str | None] = mapped_column(sa.String(20))
    rank: Mapped[int | None] = mapped_column(sa.Integer)
    final_score: Mapped[Decimal | None] = mapped_column("final_score_x100", Points)
    departs_from_ranking: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    decided_by: Mapped[User] = relationship()

    __table_args__ = (
        sa.CheckConstraint("outcome <> 'approved' OR amount_cents > 0", name="approved_amount"),
        sa.CheckConstraint("NOT departs_from_ranking OR justification <> ''", name="departure_justified"),
    )

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS[self.outcome])
