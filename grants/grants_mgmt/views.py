"""Grant pages (being written): the blueprint and its endpoints."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from grants.grants_mgmt.permissions import get_readable

bp = Blueprint("grants_mgmt", __name__, url_prefix="/grants")


@bp.get("/<int:application_id>")
@login_required
def grant(application_id: int):
    application = get_readable(current_user, application_id)
    return redirect(url_for("applications.detail", application_id=application.id))
