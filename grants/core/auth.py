"""How a request gets its user: a session cookie for pages, a bearer token under /api (the
accounts behind them are loaded by grants.users.auth).

Under ``/api`` only ``Authorization: Bearer`` authenticates. A browser session cookie is
ignored there, so the API needs no CSRF protection and cross-site requests carry no power.
"""

from __future__ import annotations

from flask import request
from flask.sessions import SecureCookieSessionInterface


def is_api_request() -> bool:
    return request.path.startswith("/api/")


class PageSessionInterface(SecureCookieSessionInterface):
    """Cookie sessions for pages only: under /api no session is read or written."""

    def open_session(self, app, req):
        if req.path.startswith("/api/"):
            return self.session_class()
        return super().open_session(app, req)

    def save_session(self, app, session, response):
        if is_api_request():
            return
        super().save_session(app, session, response)
