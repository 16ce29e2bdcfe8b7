"""People: the administrators' list with roles and access, a person's data (the export, by the person or an
administrator) and the erasure (an administrator)."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload

from grants.api.common import BEARER, authenticated
from grants.core.db import db
from grants.core.errors import NotFound, PermissionDenied, UserInputError
from grants.core.paging import PageArgs, page_of, page_schema
from grants.core.roles import RoleCode
from grants.privacy.schemas import ErasureArgs, ErasureSchema, PersonalDataSchema
from grants.privacy.services import erase_person, personal_data, record_personal_data_export
from grants.users.models import User
from grants.users.services import change_access

blp = Blueprint("api_users", __name__, description="People: roles and access (administrators); a person's data: "
                                                   "export and erasure (GDPR)")


class PersonSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    roles = ma.fields.List(ma.fields.String(), attribute="role_codes")
    active = ma.fields.Boolean(attribute="is_active_account")
    two_step = ma.fields.Function(lambda user: user.has_two_factor, metadata={
        "description": "Two-step sign-in is on."})
    erased = ma.fields.Function(lambda user: user.erased_at is not None)
    created_at = ma.fields.DateTime()
    last_login_at = ma.fields.DateTime(allow_none=True)


class PeopleArgs(PageArgs):
    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=254),
                         metadata={"description": "Part of the name or of the e-mail address."})
    role = ma.fields.String(load_default=None, validate=ma.validate.OneOf([code.value for code in RoleCode]))


class AccessArgs(ma.Schema):
    roles = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=40)), required=True,
                           validate=ma.validate.Length(max=20), metadata={
                               "description": "Exactly the roles the account holds afterwards."})
    active = ma.fields.Boolean(required=True, metadata={"description": "Whether the account may sign in."})


@blp.route("/users", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.ADMIN)
@blp.arguments(PeopleArgs, location="query")
@blp.response(200, page_schema(PersonSchema))
def list_people(args):
    """Every account (administrators), by number; ``q`` finds a name or an e-mail address, ``role`` a role."""
    query = sa.select(User).order_by(User.id)
    text = args["q"].strip().lower()
    if text:
        query = query.where(sa.or_(User.email.contains(text, autoescape=True),
                                   sa.func.lower(User.name).contains(text, autoescape=True)))
    if args["role"]:
        query = query.where(User.roles.any(code=RoleCode(args["role"])))
    return page_of(query.options(selectinload(User.two_factor)), args["page"], args["per_page"])


@blp.route("/users/<int:user_id>/access", methods=["PUT"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.ADMIN)
@blp.arguments(AccessArgs)
@blp.response(200, PersonSchema)
@blp.alt_response(404, description="No such account.")
@blp.alt_response(422, description="Named in `fields`: an unknown role, no role, an erased account, taking the "
                                   "administrator role from oneself or closing one's own account.")
def put_access(data, user_id: int):
    """Give an account exactly these roles and let it sign in or not (administrators); audited."""
    user = _load(user_id)
    change_access(user, current_user, data["roles"], data["active"])
    db.session.commit()
    return user


def _load(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


@blp.route("/users/<int:user_id>/personal-data", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, PersonalDataSchema)
@authenticated()
def get_personal_data(user_id: int):
    """Everything the service holds about the person: account, roles, two-step sign-in (never its
    secrets), API tokens, memberships and organisations, applications they created or submitted,
    attachments, invitations, evaluation work, decisions, e-mail sent to them and the list of their
    audit events. The person themself or an administrator; audited."""
    is_admin = current_user.has_role(RoleCode.ADMIN)
    if user_id != current_user.id and not is_admin:
        raise PermissionDenied()  # before loading: whether an account exists is not told
    user = _load(user_id)
    record_personal_data_export(user, current_user, role=RoleCode.ADMIN if user.id != current_user.id else None)
    data = personal_data(user)
    db.session.commit()
    return data


@blp.route("/users/<int:user_id>/erasure", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.ADMIN)
@blp.arguments(ErasureArgs)
@blp.response(200, ErasureSchema)
def erase(data, user_id: int):
    """Erase the person's personal data (GDPR Art. 17): name, e-mail, password, tokens, two-step
    sign-in, roles, memberships, waiting invitations and unsent e-mail go; the account is
    deactivated under a pseudonym ("Erased user <id>", ``erased-<id>@invalid``); the records
    retention requires (applications, grants, reports, decisions, evaluations) and the audit
    trail stay (Art. 17(3)(b)). Administrators only, never their own account (403); an account
    erased already: 409. Audited with the reason."""
    user = _load(user_id)
    reason = data["reason"].strip()
    if not reason:
        raise UserInputError(fields={"reason": [_("Say why the data is erased (for example, the person's request "
                                                   "and its date).")]})
    result = erase_person(user, current_user, reason=reason)
    db.session.commit()
    return result.as_dict()
