"""Applicant organisations and who belongs to them."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.codes import LEGAL_FORM_LABELS, REGION_LABELS, LegalForm, Region, label
from grants.core.db import TimestampMixin, UTCDateTime, db, str_enum
from grants.users.models import User


class MemberRole(enum.StrEnum):
    OWNER = "owner"
    MEMBER = "member"


MEMBER_ROLE_LABELS = {MemberRole.OWNER: _l("Owner"), MemberRole.MEMBER: _l("Member")}


class Organisation(TimestampMixin, db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    #: Registration number in the country's register (Latvia: the Enterprise Register).
    registration_number: Mapped[str] = mapped_column(sa.String(50))
    legal_form: Mapped[LegalForm] = mapped_column(str_enum(LegalForm, "legal_form"))
    #: Planning region; empty for organisations registered outside Latvia.
    region: Mapped[Region | None] = mapped_column(str_enum(Region, "region"))
    #: ISO 3166-1 alpha-2.
    country: Mapped[str] = mapped_column(sa.String(2), default="LV")
    address: Mapped[str] = mapped_column(sa.String(500), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(50), default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")

    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation",
                                                         cascade="all, delete-orphan")

    __table_args__ = (
        sa.UniqueConstraint("country", "registration_number"),
        sa.CheckConstraint("length(country) = 2", name="country_code"),
    )

    @property
    def legal_form_label(self) -> str:
        return label(LEGAL_FORM_LABELS, self.legal_form)

    @property
    def region_label(self) -> str:
        return label(REGION_LABELS, self.region) if self.region else ""

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"


class Membership(TimestampMixin, db.Model):
    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"),
                                                 index=True)
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, "member_role"), default=MemberRole.MEMBER)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships", lazy="joined")

    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_id"),)

    @property
    def role_label(self) -> str:
        return label(MEMBER_ROLE_LABELS, self.role)


class Invitation(TimestampMixin, db.Model):
    """A member's invitation to someone (by e-mail) to join the organisation; the link carries a
    token whose SHA-256 digest alone is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
