"""Organisation profiles of the caller."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.core.db import db
from grants.core.errors import NotFound
from grants.core.roles import RoleCode
from grants.organisations.models import Organisation
from grants.organisations.schemas import OrganisationCreateSchema, OrganisationPatchSchema, OrganisationSchema
from grants.organisations.services import (
    accept_invitation,
    can_edit_organisation,
    create_organisation,
    invite_member,
    update_organisation,
)

blp = Blueprint("api_organisations", __name__, description="Applicant organisations")


def _own_organisation(organisation_id: int) -> Organisation:
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None or not (can_edit_organisation(current_user, organisation) or current_user.is_staff):
        raise NotFound()
    return organisation


@blp.route("/organisations", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, OrganisationSchema(many=True))
@authenticated()
def list_mine():
    """Organisations the caller belongs to."""
    return current_user.organisations


@blp.route("/organisations", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(OrganisationCreateSchema)
@blp.response(201, OrganisationSchema)
def create(data):
    """Create an organisation; the caller becomes its owner."""
    organisation = create_organisation(current_user, {k: (v.value if hasattr(v, "value") else v)
                                                      for k, v in data.items()})
    db.session.commit()
    return organisation


@blp.route("/organisations/<int:organisation_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, OrganisationSchema)
@authenticated()
def read(organisation_id: int):
    return _own_organisation(organisation_id)


@blp.route("/organisations/<int:organisation_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(OrganisationPatchSchema(partial=True))
@blp.response(200, OrganisationSchema)
def update(data, organisation_id: int):
    organisation = _own_organisation(organisation_id)
    if not can_edit_organisation(current_user, organisation):
        raise NotFound()
    update_organisation(organisation, {k: (v.value if hasattr(v, "value") else v) for k, v in data.items()},
                        current_user)
    db.session.commit()
    return organisation


class InvitationCreateSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))


class InvitationSchema(ma.Schema):
    id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    email = ma.fields.String()
    expires_at = ma.fields.DateTime()


class InvitationAcceptSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=ma.validate.Length(min=10, max=200))


class MemberSchema(ma.Schema):
    user_id = ma.fields.Integer()
    name = ma.fields.Function(lambda membership: membership.user.name)
    email = ma.fields.Function(lambda membership: membership.user.email)
    role = ma.fields.Function(lambda membership: membership.role.value)


@blp.route("/organisations/<int:organisation_id>/members", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, MemberSchema(many=True))
def members(organisation_id: int):
    return _own_organisation(organisation_id).memberships


@blp.route("/organisations/<int:organisation_id>/invitations", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(InvitationCreateSchema)
@blp.response(201, InvitationSchema)
def invite(data, organisation_id: int):
    """Invite someone by e-mail to join the organisation (the link goes out through the outbox)."""
    organisation = _own_organisation(organisation_id)
    if not can_edit_organisation(current_user, organisation):
        raise NotFound()
    invitation, _token = invite_member(organisation, current_user, data["email"])
    db.session.commit()
    return invitation


@blp.route("/invitations/accept", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(InvitationAcceptSchema)
@blp.response(200, MemberSchema)
def accept(data):
    """Join the organisation of an invitation sent to the caller's e-mail address."""
    membership = accept_invitation(data["token"], current_user)
    db.session.commit()
    return membership
