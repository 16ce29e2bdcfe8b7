"""Flask-Login's loaders: the account of a session cookie (pages) or of a bearer token (/api)."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from grants.core.auth import is_api_request
from grants.core.db import db
from grants.core.errors import AuthenticationRequired
from grants.users.models import User
from grants.users.services import note_token_use, user_for_token


def configure_login(login_manager: LoginManager) -> None:
    login_manager.login_view = "users.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            user = db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and user.is_active else None

    @login_manager.request_loader
    def load_user_from_token(req):
        if not is_api_request():
            return None
        header = req.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        found = user_for_token(token.strip())
        if found is None:
            return None
        user, record = found
        g.api_token = record
        note_token_use(record)
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if is_api_request():
            raise AuthenticationRequired()
        flash(login_manager.login_message, "info")
        return redirect(url_for("users.login", next=request.full_path if request.query_string else request.path))
