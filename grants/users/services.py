"""Accounts: registration, authentication with lockout, API tokens, roles."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from grants.audit.services import record_event
from grants.core.db import db, utcnow
from grants.core.errors import UserInputError
from grants.core.roles import RoleCode
from grants.core.security import (
    hash_password,
    new_token,
    password_needs_rehash,
    token_digest,
    verify_password,
)
from grants.users import two_factor
from grants.users.models import ApiToken, Role, User

MIN_PASSWORD_LENGTH = 10


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(sa.select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


def get_roles(*codes: str) -> list[Role]:
    """The Role rows for ``codes``, created on first use (the migration seeds them too)."""
    wanted = [RoleCode(code) for code in codes]
    existing = {role.code: role for role in db.session.execute(
        sa.select(Role).where(Role.code.in_(wanted))).scalars()}
    for code in wanted:
        if code not in existing:
            existing[code] = Role(code=code)
            db.session.add(existing[code])
    return [existing[code] for code in wanted]


def register_user(*, email: str, password: str, name: str, roles: tuple[str, ...] = (RoleCode.APPLICANT,),
                  locale: str = "lv") -> User:
    """Create an account. Self-registration always makes an applicant."""
    email = normalise_email(email)
    errors: dict[str, list[str]] = {}
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = [_("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)]
    if not (name or "").strip():
        errors["name"] = [_("Enter your name.")]
    if find_user_by_email(email) is not None:
        errors["email"] = [_("An account with this e-mail address already exists.")]
    if errors:
        raise UserInputError(fields=errors)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), locale=locale,
                roles=get_roles(*roles), failed_logins=0, is_active_account=True)
    db.session.add(user)
    db.session.flush()
    record_event(action="user.register", object_type="user", object_id=user.id, actor=user,
                 payload={"email": user.email, "roles": [str(code) for code in roles]})
    return user


def check_password(email: str, password: str) -> User | None:
    """The first step of signing in: the user when the password is right and the account usable.

    Failures are counted: after ``LOGIN_MAX_FAILURES`` consecutive ones (passwords and second-factor
    codes alike) the account is locked for ``LOGIN_LOCKOUT_MINUTES``, and a locked account refuses
    even the right password. A right password does not reset the count: signing in does
    (:func:`complete_login`), so an attacker who knows the password cannot keep guessing codes.
    """
    user = find_user_by_email(email)
    if user is None:
        verify_password(None, password)
        _record_failed_login(None, email, "unknown_email")
        return None
    now = utcnow()
    if user.is_locked(now) or not user.is_active:
        _record_failed_login(user, email, "locked" if user.is_active else "inactive")
        return None
    if not verify_password(user.password_hash, password):
        _count_failure(user, now)
        _record_failed_login(user, email, "wrong_password", locked=user.locked_until is not None)
        return None
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.flush()
    return user


def _count_failure(user: User, now) -> None:
    user.failed_logins += 1
    if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        user.failed_logins = 0
    db.session.flush()


def complete_login(user: User, *, second_factor: str | None = None) -> None:
    """The user is signed in: the failure count starts again; audited (with the second factor used)."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    db.session.flush()
    record_event(action="user.login", object_type="user", object_id=user.id, actor=user,
                 payload={"second_factor": second_factor} if second_factor else None)


def authenticate(email: str, password: str) -> User | None:
    """Sign in with the password alone: the user, or None. An account with two-step sign-in gets
    None too (it needs :func:`check_second_factor` after :func:`check_password`)."""
    user = check_password(email, password)
    if user is None or user.has_two_factor:
        return None
    complete_login(user)
    return user


def check_second_factor(user: User, *, totp: str | None = None, recovery_code: str | None = None) -> bool:
    """The second step of signing in: True (and the user signed in) when the code is good.

    A wrong code counts as a failed sign-in, towards the same lockout as wrong passwords."""
    now = utcnow()
    if user.is_locked(now) or not user.is_active:
        _record_failed_login(user, user.email, "locked" if user.is_active else "inactive")
        return False
    method = two_factor.check_second_factor(user, totp=totp, recovery_code=recovery_code)
    if method is None:
        _count_failure(user, now)
        _record_failed_login(user, user.email, "wrong_recovery_code" if recovery_code and not totp else "wrong_code",
                             locked=user.locked_until is not None)
        return False
    complete_login(user, second_factor=method)
    return True


def reauthenticate(user: User, password: str, code: str | None) -> bool:
    """A signed-in user proves again who they are before changing their second factor: the
    password, and a code (TOTP or recovery) when two-step sign-in is on. Failures count as above."""
    now = utcnow()
    good = not user.is_locked(now) and verify_password(user.password_hash, password or "")
    if good and user.has_two_factor:
        method = (two_factor.check_second_factor(user, totp=code) if two_factor.looks_like_totp(code or "")
                  else two_factor.check_second_factor(user, recovery_code=code))
        good = method is not None
    if not good:
        _count_failure(user, now)
        record_event(action="user.reauth_failed", object_type="user", object_id=user.id, actor=user,
                     payload={"locked": user.locked_until is not None})
    return good


def _record_failed_login(user: User | None, email: str, reason: str, **extra) -> None:
    """The attempt is the system's observation, not the account holder's act: no actor."""
    record_event(action="user.login_failed", object_type="user", object_id=user.id if user else "",
                 payload={"email": normalise_email(email)[:254], "reason": reason, **extra})


def issue_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token for ``user``; the plain token is returned once and never stored."""
    token = new_token()
    record = ApiToken(user=user, token_hash=token_digest(token),
                      expires_at=utcnow() + timedelta(days=current_app.config["API_TOKEN_DAYS"]))
    db.session.add(record)
    db.session.flush()
    record_event(action="api_token.issue", object_type="api_token", object_id=record.id, actor=user,
                 payload={"expires_at": record.expires_at})
    return token, record


def user_for_token(token: str) -> tuple[User, ApiToken] | None:
    record = db.session.execute(
        sa.select(ApiToken).where(ApiToken.token_hash == token_digest(token))).scalar_one_or_none()
    if record is None or not record.is_usable() or not record.user.is_active:
        return None
    return record.user, record


#: A token's last use is written at most this often: a write on every API request would turn each read into a
#: write (and, on SQLite, queue every reader behind the write lock).
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def note_token_use(record: ApiToken) -> None:
    """Record that ``record`` is being used now, in a short transaction of its own at the start of the request
    (at most once per :data:`TOKEN_USE_RESOLUTION`): the request's own work, often read only, then neither
    commits for it nor has the rows it loaded expired by such a commit.

    The token was only read so far; that read is ended first, so the write begins a transaction of its own
    (on SQLite it waits for the write lock rather than failing on the read's older snapshot). Should the
    session already hold changes (nothing does before the account is known), the time is set on the record
    and goes with them instead."""
    now = utcnow()
    if record.last_used_at is not None and now - record.last_used_at < TOKEN_USE_RESOLUTION:
        return
    session = db.session
    if session.new or session.dirty or session.deleted:
        record.last_used_at = now
        return
    token_id = record.id
    session.rollback()
    session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    session.commit()


def revoke_token(record: ApiToken) -> None:
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        db.session.flush()
        record_event(action="api_token.revoke", object_type="api_token", object_id=record.id, actor=record.user)


def set_roles(user: User, codes: list[str], actor: User | None = None) -> None:
    """Give ``user`` exactly these roles; a change is audited with the roles before and after."""
    before = sorted(user.role_codes)
    user.roles = get_roles(*codes)
    db.session.flush()
    after = sorted(user.role_codes)
    if after != before:
        record_event(action="user.roles", object_type="user", object_id=user.id, actor=actor,
                     payload={"before": before, "after": after})


def grant_role(user: User, code: str, actor: User | None = None) -> None:
    if not user.has_role(code):
        set_roles(user, [*user.role_codes, code], actor)


def change_access(user: User, actor: User, codes: list[str], active: bool) -> None:
    """An administrator gives ``user`` exactly the roles ``codes`` and lets the account sign in or not
    (``active``); each change audited (``user.roles``, ``user.activate`` / ``user.deactivate``). Refused, naming
    the field: an unknown role, no role at all, an erased account, taking the administrator role from oneself
    or closing one's own account (so an active administrator always remains: the one making the change)."""
    codes = sorted(set(codes))
    errors: dict[str, list[str]] = {}
    unknown = [code for code in codes if code not in {role.value for role in RoleCode}]
    if unknown:
        errors["roles"] = [_("Unknown roles: %(codes)s.", codes=", ".join(unknown))]
    elif not codes:
        errors["roles"] = [_("Give the account at least one role.")]
    if user.erased_at is not None:
        errors["active"] = [_("The account's data was erased: it stays closed.")]
    if user.id == actor.id:
        if RoleCode.ADMIN.value not in codes and not unknown:
            errors.setdefault("roles", []).append(_("You cannot take the administrator role from yourself."))
        if not active:
            errors["active"] = [_("You cannot close your own account.")]
    if errors:
        raise UserInputError(_("The roles and access were not changed: see the fields marked."), fields=errors)
    set_roles(user, codes, actor)
    if user.is_active_account != active:
        user.is_active_account = active
        db.session.flush()
        record_event(action="user.activate" if active else "user.deactivate", object_type="user",
                     object_id=user.id, actor=actor, role=RoleCode.ADMIN)
