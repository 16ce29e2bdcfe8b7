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
from grants.users.schemas import Credentials, RegistrationSchema, TokenSchema, UserSchema
from grants.users.services import authenticate, issue_token, register_user, revoke_token

blp = Blueprint("api_auth", __name__, description="Accounts and API tokens")


@blp.route("/auth/tokens", methods=["POST"])
@limiter.limit(login_rate_limit)
@blp.arguments(Credentials)
@blp.response(201, TokenSchema)
def create_token(credentials):
    """Exchange e-mail and password for a bearer token (throttled per client address)."""
    user = authenticate(credentials["email"], credentials["password"])
    if user is None:
        db.session.commit()  # keep the failed-attempt count
        raise AuthenticationRequired(_("Wrong e-mail or password, or the account is temporarily locked."))
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
    db.session.commit()  # token last-used time
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
