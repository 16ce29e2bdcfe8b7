"""Accounts, their roles, their API tokens and their second factor (TOTP and recovery codes)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.core.db import TimestampMixin, UTCDateTime, db, str_enum, utcnow
from grants.core.roles import ROLE_LABELS, STAFF_ROLES, RoleCode


class Role(db.Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code; labels come from ROLE_LABELS.
    code: Mapped[RoleCode] = mapped_column(str_enum(RoleCode, "role_code"), unique=True)

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self.code])


user_roles = sa.Table(
    "user_roles",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role_id", sa.ForeignKey("roles.id", ondelete="RESTRICT"), primary_key=True),
)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased e-mail address; the login name.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: argon2id hash.
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active_account: Mapped[bool] = mapped_column("is_active", sa.Boolean, default=True)
    #: Preferred interface language, ``lv`` or ``en``.
    locale: Mapped[str] = mapped_column(sa.String(5), default="lv")
    #: Consecutive failed logins since the last success.
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the person's data was erased (grants.privacy): name and e-mail are then pseudonyms.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: How many of their in-app notifications (:class:`Notice`) are unread: kept with each notice written and
    #: read, so that every page shows it without a statement of its own.
    unread_notices: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin", order_by=Role.id)
    #: The user's :class:`~grants.organisations.models.Membership` rows. Organisations sit above
    #: users in the layers, so the class is named, not imported (it is mapped by then).
    memberships = relationship("Membership", back_populates="user", lazy="selectin", cascade="all, delete-orphan")
    #: The TOTP credential, confirmed or being set up (None without one). Loaded when asked for (at sign-in,
    #: on the account page, and on each request of staff while REQUIRE_STAFF_2FA is on), not with every user.
    two_factor: Mapped[TwoFactorCredential | None] = relationship(
        back_populates="user", lazy="select", cascade="all, delete-orphan", uselist=False)

    __table_args__ = (sa.CheckConstraint("locale IN ('lv', 'en')", name="locale"),)

    # Flask-Login reads ``is_active``.
    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def role_codes(self) -> list[str]:
        return [role.code.value for role in self.roles]

    def has_role(self, role: str) -> bool:
        return role in self.role_codes

    def has_any_role(self, *roles: str) -> bool:
        codes = set(self.role_codes)
        return any(role in codes for role in roles)

    @property
    def is_staff(self) -> bool:
        return self.has_any_role(*STAFF_ROLES)

    @property
    def has_two_factor(self) -> bool:
        """Signing in needs a second step (a TOTP code or a recovery code)."""
        return self.two_factor is not None and self.two_factor.confirmed_at is not None

    @property
    def organisations(self):
        return [membership.organisation for membership in self.memberships]

    def is_member_of(self, organisation_id: int) -> bool:
        return any(m.organisation_id == organisation_id for m in self.memberships)

    def is_locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class ApiToken(TimestampMixin, db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.revoked_at is None and self.expires_at > now


class TwoFactorCredential(TimestampMixin, db.Model):
    """A user's TOTP seed (RFC 6238: 30-second steps, six digits, SHA-1, as authenticator apps use)."""

    __tablename__ = "two_factor_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    #: The base32 seed, encrypted (grants.core.security.encrypt_secret): the service must read it back.
    secret_encrypted: Mapped[str] = mapped_column(sa.String(255))
    #: When a first code confirmed it; NULL while it is being set up (not yet asked for at sign-in).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last time step a code was accepted for: each code works once (RFC 6238, section 5.2).
    last_used_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    user: Mapped[User] = relationship(back_populates="two_factor")


class RecoveryCode(TimestampMixin, db.Model):
    """One of the ten one-time codes that stand in for the authenticator; shown once, kept as SHA-256."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the normalised code (80 random bits: a slow hash adds nothing, as for API tokens).
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notice(db.Model):
    """An in-app notification: a copy of a message the outbox e-mails to the person (grants.users.notices),
    shown on their notifications page until read."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    #: The outbox message's kind: ``submission_receipt``, ``decision``…
    kind: Mapped[str] = mapped_column(sa.String(60))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    #: What it is about (as in the audit trail): the page it links to.
    object_type: Mapped[str] = mapped_column(sa.String(60), default="")
    object_id: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_notices_user_id_id", "user_id", "id"),)
