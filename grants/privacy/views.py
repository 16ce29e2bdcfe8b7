"""The administrators' list of people (/admin/people/), a person's page with their roles and access, the export
of their data, the erasure of their account and the reset of their two-step sign-in; and everyone's own export."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from grants.core.db import db
from grants.core.errors import GrantsError, PermissionDenied, UserInputError
from grants.core.paging import page_of
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.privacy.forms import AccessForm, ErasureForm, PeopleFilterForm, ResetTwoFactorForm
from grants.privacy.services import erase_person, personal_data, record_personal_data_export
from grants.users import services as users
from grants.users import two_factor
from grants.users.models import User

bp = Blueprint("privacy", __name__)

PER_PAGE = 50


def _load(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def personal_data_response(user: User) -> Response:
    """The export as a JSON download (after it is audited and committed)."""
    record_personal_data_export(user, current_user, role="admin" if current_user.id != user.id else None)
    data = personal_data(user)
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(body, content_type="application/json; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="personal-data-{user.id}.json"',
        "Cache-Control": "private, no-store"})


@bp.get("/account/personal-data.json")
@login_required
def my_data():
    return personal_data_response(current_user)


@bp.get("/admin/people/")
@login_required
@roles_required(RoleCode.ADMIN)
def people():
    form = PeopleFilterForm(request.args)
    # the two-step column of each row: loaded with the page, not one statement per person
    query = sa.select(User).options(selectinload(User.two_factor)).order_by(User.id)
    if form.validate() and form.q.data:
        text = form.q.data.strip().lower()
        query = query.where(sa.or_(User.email.contains(text, autoescape=True),
                                   sa.func.lower(User.name).contains(text, autoescape=True)))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return render_template("privacy/people.html", form=form, result=page_of(query, page, PER_PAGE),
                           per_page=PER_PAGE, q=form.q.data or "")


def _person_page(user: User, erasure_form=None, reset_form=None, access_form=None, status: int = 200):
    if access_form is None:
        access_form = AccessForm(prefix="access", formdata=None, data={"roles": user.role_codes,
                                                                        "active": user.is_active_account})
    access_form.prepare()
    return render_template("privacy/person.html", person=user, access_form=access_form,
                           erasure_form=erasure_form or ErasureForm(prefix="erasure"),
                           reset_form=reset_form or ResetTwoFactorForm(prefix="reset"),
                           must_enrol=two_factor.must_enrol(user),
                           recovery_codes_left=two_factor.recovery_codes_left(user)), status


@bp.get("/admin/people/<int:user_id>")
@login_required
@roles_required(RoleCode.ADMIN)
def person(user_id: int):
    return _person_page(_load(user_id))


@bp.get("/admin/people/<int:user_id>/personal-data.json")
@login_required
@roles_required(RoleCode.ADMIN)
def person_data(user_id: int):
    return personal_data_response(_load(user_id))


@bp.post("/admin/people/<int:user_id>/erasure")
@login_required
@roles_required(RoleCode.ADMIN)
def erase(user_id: int):
    user = _load(user_id)
    form = ErasureForm(prefix="erasure")
    if not form.validate_on_submit():
        return _person_page(user, erasure_form=form, status=422)
    try:
        erase_person(user, current_user, reason=form.reason.data.strip())
    except GrantsError as error:
        db.session.rollback()
        form.reason.errors.append(str(error.message or error.default_message))
        return _person_page(user, erasure_form=form, status=error.status)
    db.session.commit()
    flash(_("The account's personal data has been erased; the records the programme must keep stay with "
            "the pseudonym %(name)s.", name=user.name), "success")
    return redirect(url_for("privacy.person", user_id=user.id))


@bp.post("/admin/people/<int:user_id>/access")
@login_required
@roles_required(RoleCode.ADMIN)
def change_access(user_id: int):
    """Roles and whether the account may sign in."""
    user = _load(user_id)
    form = AccessForm(prefix="access")
    form.prepare()
    if not form.validate_on_submit():
        return _person_page(user, access_form=form, status=422)
    try:
        users.change_access(user, current_user, list(form.roles.data or []), bool(form.active.data))
    except UserInputError as refused:
        db.session.rollback()
        for key, messages in refused.fields.items():
            target = form.roles if key == "roles" else form.active
            target.errors = [*target.errors, *messages]
        return _person_page(_load(user_id), access_form=form, status=422)
    db.session.commit()
    flash(_("The roles and access of %(name)s were saved.", name=user.name), "success")
    return redirect(url_for("privacy.person", user_id=user.id))


@bp.post("/admin/people/<int:user_id>/two-step/reset")
@login_required
@roles_required(RoleCode.ADMIN)
def reset_two_factor(user_id: int):
    """For someone who lost both the device and the recovery codes (after checking who asks)."""
    user = _load(user_id)
    if user.id == current_user.id:
        raise PermissionDenied(_("Change your own two-step sign-in on your account page."))
    form = ResetTwoFactorForm(prefix="reset")
    if not form.validate_on_submit():
        return _person_page(user, reset_form=form, status=422)
    if two_factor.remove_two_factor(user, current_user, role=RoleCode.ADMIN, comment=form.reason.data.strip()):
        db.session.commit()
        flash(_("Two-step sign-in is reset: %(name)s signs in with the password alone and can set it up again.",
                name=user.name), "success")
    return redirect(url_for("privacy.person", user_id=user.id))
