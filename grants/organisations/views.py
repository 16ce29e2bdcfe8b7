"""My organisation: create and keep the profile every application reuses."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.core.db import db
from grants.core.errors import NotFound, UserInputError
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.organisations.forms import OrganisationForm
from grants.organisations.models import Organisation
from grants.organisations.services import accept_invitation as accept
from grants.organisations.services import (
    can_edit_organisation,
    create_organisation,
    find_invitation,
    invite_member,
    update_organisation,
)

bp = Blueprint("organisations", __name__, url_prefix="/organisations")


def _apply_errors(form, error: UserInputError) -> None:
    for field, messages in error.fields.items():
        getattr(form, field).errors = list(getattr(form, field).errors) + messages


@bp.get("/")
@login_required
def mine():
    return render_template("organisations/mine.html", memberships=current_user.memberships)


@bp.route("/new", methods=["GET", "POST"])
@login_required
@roles_required(RoleCode.APPLICANT)  # as the API: the creator becomes a member, never a way to the role
def new():
    form = OrganisationForm()
    status = 200
    if form.validate_on_submit():
        try:
            organisation = create_organisation(current_user, form.profile())
        except UserInputError as error:
            _apply_errors(form, error)
            status = 422
        else:
            db.session.commit()
            flash(_("The organisation %(name)s has been saved.", name=organisation.name), "success")
            return redirect(url_for("organisations.mine"))
    elif form.is_submitted():
        status = 422
    return render_template("organisations/form.html", form=form, organisation=None), status


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organisation_id: int):
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not can_edit_organisation(current_user, organisation):
        raise NotFound()
    form = OrganisationForm(obj=organisation)
    status = 200
    if form.validate_on_submit():
        try:
            update_organisation(organisation, form.profile(), current_user)
        except UserInputError as error:
            _apply_errors(form, error)
            status = 422
        else:
            db.session.commit()
            flash(_("The organisation %(name)s has been saved.", name=organisation.name), "success")
            return redirect(url_for("organisations.mine"))
    elif form.is_submitted():
        status = 422
    return render_template("organisations/form.html", form=form, organisation=organisation), status


@bp.post("/<int:organisation_id>/invite")
@login_required
def invite(organisation_id: int):
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not can_edit_organisation(current_user, organisation):
        raise NotFound()
    try:
        invite_member(organisation, current_user, request.form.get("email", "")[:254])
    except UserInputError as error:
        db.session.rollback()
        flash(" ".join(m for messages in error.fields.values() for m in messages), "error")
    else:
        db.session.commit()
        flash(_("The invitation has been sent."), "success")
    return redirect(url_for("organisations.mine"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@login_required
def accept_invitation(token: str):
    """The link in the invitation: the signed-in person (with the invited address) joins."""
    invitation = find_invitation(token)
    status, error = 200, None
    if request.method == "POST":
        try:
            accept(token, current_user)
        except UserInputError as refused:
            db.session.rollback()
            status, error = 422, " ".join(m for messages in refused.fields.values() for m in messages)
        else:
            db.session.commit()
            flash(_("You are now a member of %(name)s.", name=invitation.organisation.name), "success")
            return redirect(url_for("organisations.mine"))
    return render_template("organisations/invitation.html", invitation=invitation, error=error), status
