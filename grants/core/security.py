"""Passwords, API tokens, stored secrets and the role checks every view and endpoint uses."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterable
from functools import wraps
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
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


class SecretUnreadable(Exception):
    """A stored secret that the configured key cannot decrypt (the key changed, or the value did)."""


def _secret_key(purpose: str) -> bytes:
    """An AES-256 key for ``purpose``, derived (HKDF-SHA256) from TWO_FACTOR_KEY or else SECRET_KEY."""
    material = current_app.config.get("TWO_FACTOR_KEY") or current_app.config["SECRET_KEY"]
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"si-grants {purpose}".encode()).derive(material.encode())


def encrypt_secret(plain: str, *, purpose: str) -> str:
    """``plain`` encrypted with AES-256-GCM under the key for ``purpose``, as URL-safe base64 text.

    For secrets the service must read back (TOTP seeds), which a hash cannot hold: a copy of the
    database alone does not give them away.
    """
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_secret_key(purpose)).encrypt(nonce, plain.encode(), purpose.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt_secret(stored: str, *, purpose: str) -> str:
    """The plain text of :func:`encrypt_secret`; :class:`SecretUnreadable` when it cannot be read."""
    try:
        raw = base64.urlsafe_b64decode(stored.encode())
        return AESGCM(_secret_key(purpose)).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
    except (InvalidTag, ValueError) as error:
        raise SecretUnreadable(purpose) from error


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
