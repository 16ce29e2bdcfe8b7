"""The language switch, the health check and the site's icon (the home page is the calls', grants.calls.views)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_login import current_user

from grants.core.db import db
from grants.core.templating import safe_next

bp = Blueprint("core", __name__)


@bp.get("/language/<code>")
def set_language(code: str):
    """Remember the chosen language in the session (and on the account when signed in)."""
    target = safe_next(request.args.get("next"), url_for("home.index"))
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated and current_user.locale != code:
            current_user.locale = code
            db.session.commit()
    return redirect(target)


@bp.get("/favicon.ico")
def favicon():
    """The icon pages name (static/img/favicon.svg), for clients that ask at the conventional address."""
    return current_app.send_static_file("img/favicon.svg")


@bp.get("/healthz")
def health():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
