"""An initiative's page: where it stands in the SI stages, its applications, actions and history."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from grants.applications.models import Application
from grants.core.db import db
from grants.initiatives.services import get_readable
from grants.initiatives.stages import STAGE_MODELS
from grants.workflows.engine import available_triggers
from grants.workflows.forms import ActionForm, take_action
from grants.workflows.history import history
from grants.workflows.services import act

bp = Blueprint("initiatives", __name__, url_prefix="/initiatives")


@bp.route("/<int:initiative_id>", methods=["GET", "POST"])
@login_required
def detail(initiative_id: int):
    initiative = get_readable(current_user, initiative_id)
    form = ActionForm()
    status, error = 200, None
    if request.method == "POST":
        done, status, error = take_action(
            form, lambda trigger, **kwargs: act(initiative, trigger, current_user, **kwargs))
        if done:
            return redirect(url_for("initiatives.detail", initiative_id=initiative.id))
        initiative = get_readable(current_user, initiative_id)
    form.version.data = initiative.version
    applications = db.session.scalars(sa.select(Application).where(Application.initiative_id == initiative.id)
                                      .order_by(Application.created_at)).all()
    return render_template("initiatives/detail.html", initiative=initiative, form=form, error=error,
                           stage_model=STAGE_MODELS[initiative.stage_model], applications=applications,
                           actions=available_triggers(initiative, current_user),
                           history=history(initiative, current_user)), status
