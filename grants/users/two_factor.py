"""Two-step sign-in: a TOTP authenticator (RFC 6238) and ten one-time recovery codes.

Setting it up stores a new seed, encrypted, unconfirmed; the first good code confirms it and
gives the recovery codes, which are shown once and kept only as SHA-256 digests. From then on
signing in needs, after the password, a current code (each code works once) or an unused
recovery code. Turning it off or making new recovery codes asks for the password and a code
again. Everything that changes the second factor is audited; the seed and the codes never are.

``REQUIRE_STAFF_2FA`` makes it compulsory for programme staff (admin, officer, committee,
finance, auditor): :func:`must_enrol` says who still has to set it up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from markupsafe import Markup

from grants.audit.services import record_event
from grants.core.db import db, utcnow
from grants.core.errors import AuthenticationRequired, Conflict, PermissionDenied, UserInputError
from grants.core.security import SecretUnreadable, decrypt_secret, encrypt_secret
from grants.users.models import RecoveryCode, TwoFactorCredential, User

#: RFC 6238 defaults, which every authenticator app uses.
STEP_SECONDS = 30
DIGITS = 6
#: Codes of the step before and after the current one are accepted too (clock drift).
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
#: Characters of a recovery code: 16 base32 characters, 80 random bits.
RECOVERY_CODE_LENGTH = 16
_SEED_PURPOSE = "totp-seed"
#: Recovery codes are written in lower-case base32 (no 0, 1, 8 or 9 to mistake for letters).
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


class TotpRequired(AuthenticationRequired):
    """An API token was asked for without the code of an account with two-step sign-in."""

    code = "totp_required"

    def __init__(self):
        super().__init__(_("This account uses two-step sign-in: send the code from the authenticator app as "
                           "totp (or a recovery code as recovery_code)."),
                         fields={"totp": [_("Missing data for required field.")]})


class TotpInvalid(AuthenticationRequired):
    code = "totp_invalid"

    def __init__(self):
        message = _("The code is not right, or it was used already.")
        super().__init__(message, fields={"totp": [message]})


class EnrolmentRequired(PermissionDenied):
    """Staff who must use two-step sign-in and have not set it up (under /api: nothing works until then)."""

    code = "two_factor_enrolment_required"

    def __init__(self):
        super().__init__(_("Set up two-step sign-in on the website first: your role requires it."))


def must_enrol(user: User) -> bool:
    """Staff must set up two-step sign-in (``REQUIRE_STAFF_2FA``) and this one has not yet."""
    return bool(current_app.config["REQUIRE_STAFF_2FA"]) and user.is_staff and not user.has_two_factor


def _normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def recovery_code_digest(code: str) -> str:
    return hashlib.sha256(_normalise_recovery_code(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_BASE32) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


def looks_like_totp(code: str) -> bool:
    digits = "".join((code or "").split())
    return len(digits) == DIGITS and digits.isdigit()


def _seed(credential: TwoFactorCredential) -> str | None:
    try:
        return decrypt_secret(credential.secret_encrypted, purpose=_SEED_PURPOSE)
    except SecretUnreadable:
        return None


def _matching_step(seed: str, code: str, after_step: int | None, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to (the current one or one next to it), if it is not older
    than or equal to ``after_step`` (an accepted code is never accepted again)."""
    code = "".join((code or "").split())
    if not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(seed, digits=DIGITS, interval=STEP_SECONDS)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# --- setting up ----------------------------------------------------------------------------------------------

def start_enrolment(user: User) -> str:
    """The seed to show for setting up: the one being set up already (so a reloaded page keeps the
    QR code the app has scanned), or a new one. Refused (409) when two-step sign-in is on."""
    if user.has_two_factor:
        raise Conflict(_("Two-step sign-in is already on for this account."))
    credential = user.two_factor
    seed = _seed(credential) if credential is not None else None
    if seed is None:
        seed = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
        if credential is None:
            credential = TwoFactorCredential(user=user)
            db.session.add(credential)
        credential.secret_encrypted = encrypt_secret(seed, purpose=_SEED_PURPOSE)
        credential.last_used_step = None
        db.session.flush()
    return seed


def provisioning_uri(user: User, seed: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(seed, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=current_app.config["TWO_FACTOR_ISSUER"])


def qr_svg(uri: str, title: str) -> Markup:
    """The QR code of ``uri`` as inline SVG, drawn here (no outside service sees the seed)."""
    code = segno.make(uri, error="m")
    # segno writes only path data and the title, which it escapes: the markup is its own, not input.
    svg = code.svg_inline(scale=5, border=4, dark="#000", light="#fff", title=title, svgclass="qr-code",
                          lineclass=None)
    return Markup(svg)  # nosec B704


def grouped(seed: str) -> str:
    """The seed in groups of four, easier to type into an app by hand."""
    return " ".join(seed[i:i + 4] for i in range(0, len(seed), 4))


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn two-step sign-in on with the first code from the app; returns the recovery codes
    (to show once). A wrong code is a 422 on ``code``; nothing is turned on."""
    credential = user.two_factor
    if user.has_two_factor:
        raise Conflict(_("Two-step sign-in is already on for this account."))
    seed = _seed(credential) if credential is not None else None
    step = _matching_step(seed, code, None) if seed else None
    if step is None:
        raise UserInputError(fields={"code": [_("This code is not right. Enter the six digits the app shows "
                                                 "now; check that the device's clock is right.")]})
    credential.confirmed_at = utcnow()
    credential.last_used_step = step
    codes = _replace_recovery_codes(user)
    record_event(action="two_factor.enable", object_type="user", object_id=user.id, actor=user,
                 payload={"recovery_codes": len(codes)})
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=recovery_code_digest(code)) for code in codes)
    db.session.flush()
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    """New recovery codes (the old ones stop working); the caller has re-authenticated the user."""
    if not user.has_two_factor:
        raise Conflict(_("Two-step sign-in is off for this account."))
    codes = _replace_recovery_codes(user)
    record_event(action="two_factor.recovery_codes", object_type="user", object_id=user.id, actor=user,
                 payload={"recovery_codes": len(codes)})
    return codes


def remove_two_factor(user: User, actor: User | None, *, role: str | None = None, comment: str | None = None) -> bool:
    """Turn two-step sign-in off: the seed and the recovery codes are deleted. By the user
    (re-authenticated by the caller) or by an administrator for someone who lost their device.
    Returns False when there was nothing to remove."""
    had = user.has_two_factor
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    if user.two_factor is not None:
        db.session.delete(user.two_factor)
        user.two_factor = None
    db.session.flush()
    if had:
        record_event(action="two_factor.disable" if actor is user else "two_factor.reset", object_type="user",
                     object_id=user.id, actor=actor, role=role, comment=comment)
    return had


def recovery_codes_left(user: User) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).scalar_one()


# --- signing in ----------------------------------------------------------------------------------------------

def check_second_factor(user: User, *, totp: str | None = None, recovery_code: str | None = None) -> str | None:
    """``"totp"`` or ``"recovery_code"`` when the code is good (and now used up), else None.

    Failures are counted by the caller with the password's (grants.users.services)."""
    credential = user.two_factor
    if credential is None or credential.confirmed_at is None:
        return None
    if totp:
        seed = _seed(credential)
        step = _matching_step(seed, totp, credential.last_used_step) if seed else None
        if step is not None:
            credential.last_used_step = step
            db.session.flush()
            return "totp"
        return None
    if recovery_code and len(_normalise_recovery_code(recovery_code)) == RECOVERY_CODE_LENGTH:
        digest = recovery_code_digest(recovery_code)
        candidates = db.session.execute(sa.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).scalars().all()
        found = next((c for c in candidates if hmac.compare_digest(c.code_hash, digest)), None)
        if found is not None:
            found.used_at = utcnow()
            db.session.flush()
            record_event(action="two_factor.recovery_code_used", object_type="user", object_id=user.id,
                         actor=user, payload={"left": len(candidates) - 1})
            return "recovery_code"
    return None


def code_for(seed: str, at: float | None = None) -> str:
    """The code an authenticator app shows for ``seed`` at ``at`` (now): for tests and the demo."""
    return pyotp.TOTP(seed, digits=DIGITS, interval=STEP_SECONDS).at(time.time() if at is None else at)

