"""Indicators a programme measures its grants by, with targets for the programme and per call.

The ESF+ common indicators (participants by gender and age group, entities supported) are
defined in code (grants.grants_mgmt.indicators) for every ESF+ programme; a row here for one of
them only carries its targets.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.db import Points, TimestampMixin, db


class Indicator(TimestampMixin, db.Model):
    """A programme's indicator (its own, or an ESF+ common one) and the programme's target for it."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(sa.String(60))
    title_lv: Mapped[str] = mapped_column(sa.String(300), default="")
    title_en: Mapped[str] = mapped_column(sa.String(300), default="")
    #: What is counted (persons, events, organisations…), in Latvian and English.
    unit_lv: Mapped[str] = mapped_column(sa.String(60), default="")
    unit_en: Mapped[str] = mapped_column(sa.String(60), default="")
    #: The programme's target (two decimals); None: none set.
    target: Mapped[Decimal | None] = mapped_column("target_x100", Points)
    #: An ESF+ common indicator: its title and unit come from the code, only targets are kept here.
    is_common: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    call_targets: Mapped[list[CallIndicatorTarget]] = relationship(back_populates="indicator", lazy="selectin",
                                                                   cascade="all, delete-orphan")

    __table_args__ = (
        sa.UniqueConstraint("programme_id", "code"),
        sa.CheckConstraint("target_x100 IS NULL OR target_x100 >= 0", name="target_not_negative"),
    )


class CallIndicatorTarget(db.Model):
    """What one call of the programme is to contribute to an indicator."""

    __tablename__ = "indicator_call_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(sa.ForeignKey("indicators.id", ondelete="CASCADE"))
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    target: Mapped[Decimal] = mapped_column("target_x100", Points)

    indicator: Mapped[Indicator] = relationship(back_populates="call_targets")

    __table_args__ = (
        sa.UniqueConstraint("indicator_id", "call_id"),
        sa.CheckConstraint("target_x100 >= 0", name="target_not_negative"),
    )
