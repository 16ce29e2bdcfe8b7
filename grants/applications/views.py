"""Application pages: the list a user may see and one application with its actions and history."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from grants.applications.models import Application
from grants.applications.permissions import readable
from grants.applications.services import get_readable
from grants.calls.models import Call
from grants.core.db import db
from grants.workflows.engine import available_triggers
from grants.workflows.forms import ActionForm, take_action
from grants.workflows.history import history
from grants.workflows.services import act

bp = Blueprint("applications", __name__, url_prefix="/applications")

PER_PAGE = 50


@bp.get("/")
@login_required
def index():
    page = max(request.args.get("page", 1, type=int), 1)
    query = (sa.select(Application).where(readable(current_user))
             .order_by(Application.updated_at.desc(), Application.id.desc()))
    total = db.session.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    applications = db.session.scalars(
        query.options(sa.orm.joinedload(Application.call).joinedload(Call.programme))
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).unique().all()
    return render_template("applications/index.html", applications=applications, page=page, total=total,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1))


@bp.route("/<int:application_id>", methods=["GET", "POST"])
@login_required
def detail(application_id: int):
    application = get_readable(current_user, application_id)
    form = ActionForm()
    status, error = 200, None
    if request.method == "POST":
        done, status, error = take_action(
            form, lambda trigger, **kwargs: act(application, trigger, current_user, **kwargs))
        if done:
            return redirect(url_for("applications.detail", application_id=application.id))
        application = get_readable(current_user, application_id)  # as it is now, after the rollback
    form.version.data = application.version
    return render_template("applications/detail.html", application=application, form=form, error=error,
                           actions=available_triggers(application, current_user),
                           history=history(application, current_user)), status
