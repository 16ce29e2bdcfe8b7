"""Tokens, the current user and self-registration."""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.core.db import db
from grants.core.errors import AuthenticationRequired
from grants.core.extensions import limiter, login_rate_limit
from grants.core.i18n import current_language
from grants.users import two_factor
from grants.users.schemas import Credentials, RegistrationSchema, TokenSchema, UserSchema
from grants.users.services import (
    check_password,
    check_second_factor,
    complete_login,
    issue_token,
    register_user,
    revoke_token,
)

blp = Blueprint("api_auth", __name__, description="Accounts and API tokens")


@blp.route("/auth/tokens", methods=["POST"])
@limiter.limit(login_rate_limit)
@blp.arguments(Credentials)
@blp.response(201, TokenSchema)
@blp.alt_response(401, description="Wrong e-mail or password, a locked account, or a missing or wrong second "
                                   "factor (`totp_required`, `totp_invalid`).")
@blp.alt_response(403, description="Staff who must use two-step sign-in and have not set it up.")
@blp.alt_response(429, description="Too many attempts from this address: try again later.")
def create_token(credentials):
    """Exchange e-mail and password for a bearer token (throttled per client address).

    An account with two-step sign-in also sends ``totp`` (or ``recovery_code``): without it the answer
    is 401 ``totp_required``, with a wrong one 401 ``totp_invalid`` (counted towards the lockout like a
    wrong password). Staff who must use two-step sign-in and have not set it up get 403
    ``two_factor_enrolment_required``.
    """
    user = check_password(credentials["email"], credentials["password"])
    if user is None:
        db.session.commit()  # keep the failed-attempt count
        raise AuthenticationRequired(_("Wrong e-mail or password, or the account is temporarily locked."))
    if user.has_two_factor:
        totp, recovery_code = credentials.get("totp"), credentials.get("recovery_code")
        if not totp and not recovery_code:
            db.session.commit()
            raise two_factor.TotpRequired()
        if not check_second_factor(user, totp=totp, recovery_code=None if totp else recovery_code):
            db.session.commit()
            raise two_factor.TotpInvalid()
    elif two_factor.must_enrol(user):
        db.session.commit()
        raise two_factor.EnrolmentRequired()
    else:
        complete_login(user)
    token, record = issue_token(user)
    db.session.commit()
    return {"token": token, "expires_at": record.expires_at}


@blp.route("/auth/tokens/current", methods=["DELETE"])
@blp.doc(security=BEARER)
@blp.response(204)
@authenticated()
def revoke_current_token():
    """Revoke the token this request was made with."""
    revoke_token(g.api_token)
    db.session.commit()


@blp.route("/me", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, UserSchema)
@authenticated()
def me():
    return current_user


@blp.route("/users", methods=["POST"])
@blp.arguments(RegistrationSchema)
@blp.response(201, UserSchema)
def register(data):
    """Self-registration: the new account is an applicant."""
    user = register_user(email=data["email"], password=data["password"], name=data["name"],
                         locale=data.get("locale") or current_language())
    db.session.commit()
    return user
