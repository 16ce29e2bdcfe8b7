"""Passwords, API tokens and the role checks every view and endpoint uses."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from functools import wraps
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_login import current_user

from grants.core.errors import AuthenticationRequired, PermissionDenied

F = TypeVar("F", bound=Callable)


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"],
                          parallelism=cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same effort as a real check, so timing does not reveal unknown accounts.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def new_token() -> str:
    """A bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens are stored as SHA-256 digests; high-entropy secrets need no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def require_roles(user, roles: Iterable[str]) -> None:
    """Raise 401 for anonymous users, 403 when the user has none of ``roles``."""
    if user is None or not user.is_authenticated:
        raise AuthenticationRequired()
    roles = tuple(roles)
    if roles and not user.has_any_role(*roles):
        raise PermissionDenied()


def roles_required(*roles: str) -> Callable[[F], F]:
    """View decorator: the signed-in user must hold one of ``roles`` (any role if none given)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args, **kwargs):
            require_roles(current_user, roles)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
