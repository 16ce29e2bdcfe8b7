"""Initiative pages: my initiatives, creating one, its profile, and its page with where it
stands in the SI stages, its applications and grants, actions and history."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.core.db import db
from grants.core.errors import Conflict, NotFound, UserInputError
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.initiatives.forms import EditInitiativeForm, NewInitiativeForm
from grants.initiatives.services import (
    applications_of,
    can_edit,
    create_initiative,
    get_readable,
    list_query,
    page_with_counts,
    update_initiative,
)
from grants.initiatives.stages import DEFAULT_STAGE_MODEL, STAGE_MODELS
from grants.workflows.engine import available_triggers
from grants.workflows.forms import ActionForm, take_action
from grants.workflows.history import history
from grants.workflows.services import act

bp = Blueprint("initiatives", __name__, url_prefix="/initiatives")

PER_PAGE = 50


def _apply_errors(form, error: UserInputError) -> None:
    for name, messages in error.fields.items():
        if name in form:
            form[name].errors = list(form[name].errors) + messages


@bp.get("/")
@login_required
def index():
    """My initiatives (staff who read every application: all of them), by title."""
    page = max(request.args.get("page", 1, type=int), 1)
    organisation_id = request.args.get("organisation_id", type=int)
    stage = request.args.get("si_stage", type=str) or None
    rows, total = page_with_counts(list_query(current_user, organisation_id=organisation_id, si_stage=stage),
                                   page, PER_PAGE)
    return render_template("initiatives/index.html", rows=rows, page=page, total=total,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
                           filters={"organisation_id": organisation_id, "si_stage": stage},
                           may_create=bool(current_user.memberships))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@roles_required(RoleCode.APPLICANT)  # as the API (POST /api/v1/initiatives)
def new():
    organisations = current_user.organisations
    if not organisations:
        flash(_("First create the profile of the organisation that applies."), "info")
        return redirect(url_for("organisations.new"))
    form = NewInitiativeForm()
    form.organisation_id.choices = [(o.id, o.name) for o in organisations]
    form.si_stage.choices = [(stage.code, str(stage.label)) for stage in STAGE_MODELS[DEFAULT_STAGE_MODEL].stages]
    status = 200
    if form.validate_on_submit():
        try:
            initiative = create_initiative(current_user, {
                **form.profile(), "organisation_id": form.organisation_id.data, "si_stage": form.si_stage.data})
        except UserInputError as error:
            db.session.rollback()
            _apply_errors(form, error)
            status = 422
        else:
            db.session.commit()
            flash(_("The initiative %(title)s has been saved.", title=initiative.title), "success")
            return redirect(url_for("initiatives.detail", initiative_id=initiative.id))
    elif form.is_submitted():
        status = 422
    return render_template("initiatives/form.html", form=form, initiative=None, error=None), status


@bp.route("/<int:initiative_id>/edit", methods=["GET", "POST"])
@login_required
def edit(initiative_id: int):
    """The profile; the SI stage is not edited here (only the programme's decisions move it)."""
    initiative = get_readable(current_user, initiative_id)
    if not can_edit(current_user, initiative):
        raise NotFound()  # as on an application's edit page: staff read it on its page
    form = EditInitiativeForm(obj=initiative)
    status, error = 200, None
    if form.validate_on_submit():
        try:
            update_initiative(initiative, current_user, form.profile(), form.version.data)
        except UserInputError as refused:
            db.session.rollback()
            _apply_errors(form, refused)
            status = 422
        except Conflict as refused:
            db.session.rollback()
            status, error = refused.status, str(refused)
        else:
            db.session.commit()
            flash(_("The initiative %(title)s has been saved.", title=initiative.title), "success")
            return redirect(url_for("initiatives.detail", initiative_id=initiative.id))
    elif form.is_submitted():
        status = 422
    if request.method == "GET":
        form.version.data = initiative.version
    return render_template("initiatives/form.html", form=form, initiative=initiative, error=error), status


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
    applications, grants = applications_of(initiative)
    return render_template("initiatives/detail.html", initiative=initiative, form=form, error=error,
                           stage_model=STAGE_MODELS[initiative.stage_model], applications=applications,
                           grants=grants, can_edit=can_edit(current_user, initiative),
                           actions=available_triggers(initiative, current_user),
                           history=history(initiative, current_user)), status
