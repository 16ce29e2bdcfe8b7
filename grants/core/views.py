"""Home page and language switch."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from grants.calls.models import PublicCallStatus
from grants.calls.services import calls_query
from grants.core.db import db
from grants.core.templating import safe_next

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    open_calls = db.session.execute(calls_query(PublicCallStatus.OPEN).limit(6)).unique().scalars().all()
    return render_template("core/home.html", open_calls=open_calls)


@bp.get("/language/<code>")
def set_language(code: str):
    """Remember the chosen language in the session (and on the account when signed in)."""
    target = safe_next(request.args.get("next"), url_for("core.home"))
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated and current_user.locale != code:
            current_user.locale = code
            db.session.commit()
    return redirect(target)


@bp.get("/healthz")
def health():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
