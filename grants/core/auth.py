"""How a request gets its user: a session cookie for pages, a bearer token under /api.

Under ``/api`` only ``Authorization: Bearer`` authenticates. A browser session cookie is
ignored there, so the API needs no CSRF protection and cross-site requests carry no power.
"""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from grants.core.db import db, utcnow
from grants.core.errors import AuthenticationRequired


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


class PageSessionInterface(SecureCookieSessionInterface):
    """Cookie sessions for pages only: under /api no session is read or written."""

    def open_session(self, app, req):
        if req.path.startswith("/api/"):
            return self.session_class()
        return super().open_session(app, req)

    def save_session(self, app, session, response):
        if _is_api_request():
            return
        super().save_session(app, session, response)


def configure_login(login_manager: LoginManager) -> None:
    login_manager.login_view = "users.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        from grants.users.models import User

        try:
            user = db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and user.is_active else None

    @login_manager.request_loader
    def load_user_from_token(req):
        from grants.users.services import user_for_token

        if not _is_api_request():
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
        record.last_used_at = utcnow()
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if _is_api_request():
            raise AuthenticationRequired()
        flash(login_manager.login_message, "info")
        return redirect(url_for("users.login", next=request.full_path if request.query_string else request.path))
