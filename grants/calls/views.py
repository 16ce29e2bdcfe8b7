"""Public pages of calls for proposals."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from grants.calls.models import PUBLIC_CALL_STATUS_LABELS, PublicCallStatus
from grants.calls.services import calls_query, get_visible_call
from grants.core.db import db
from grants.core.errors import NotFound
from grants.core.i18n import current_language
from grants.forms.validation import form_outline

bp = Blueprint("calls", __name__, url_prefix="/calls")


def _staff() -> bool:
    return current_user.is_authenticated and current_user.is_staff


@bp.get("/")
def index():
    status = request.args.get("status", PublicCallStatus.OPEN)
    allowed = [s for s in PublicCallStatus if s != PublicCallStatus.DRAFT or _staff()]
    if status not in allowed:
        status = PublicCallStatus.OPEN
    calls = db.session.execute(calls_query(status, include_drafts=_staff())).unique().scalars().all()
    tabs = [(s.value, PUBLIC_CALL_STATUS_LABELS[s]) for s in allowed]
    return render_template("calls/index.html", calls=calls, status=status, tabs=tabs)


@bp.get("/<int:call_id>")
def detail(call_id: int):
    call = get_visible_call(call_id, include_drafts=_staff())
    if call is None:
        raise NotFound()
    return render_template("calls/detail.html", call=call,
                           form_sections=form_outline(call.form or [], current_language()))
