"""The outbox page for officers and administrators: what was sent, what waits, what failed and why."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from grants.core.paging import page_of
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.notifications.services import STATUSES, messages_query, outbox_counts, status_of

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")

OUTBOX_ROLES = (RoleCode.ADMIN, RoleCode.OFFICER)
PER_PAGE = 50
STATUS_LABELS = {"pending": _l("Waiting"), "sent": _l("Sent"), "failed": _l("Failed")}


@bp.get("/")
@login_required
@roles_required(*OUTBOX_ROLES)
def index():
    status = request.args.get("status")
    status = status if status in STATUSES else None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    result = page_of(messages_query(status), page, PER_PAGE)
    return render_template("notifications/outbox.html", result=result, per_page=PER_PAGE, status=status,
                           counts=outbox_counts(), status_of=status_of, status_labels=STATUS_LABELS)
