"""Organisation profiles and membership."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from grants.audit.changes import changes, snapshot
from grants.audit.services import record_event
from grants.core.db import db, utcnow
from grants.core.errors import UserInputError
from grants.core.roles import RoleCode
from grants.core.security import token_digest
from grants.notifications.services import external_url, queue_message
from grants.organisations.models import Invitation, MemberRole, Membership, Organisation
from grants.users.models import User
from grants.users.services import grant_role

PROFILE_FIELDS = ("name", "registration_number", "legal_form", "region", "country", "address",
                  "contact_email", "contact_phone", "website")


def _check_unique_registration(country: str, registration_number: str, exclude_id: int | None = None) -> None:
    query = sa.select(Organisation.id).where(Organisation.country == country,
                                             Organisation.registration_number == registration_number)
    if exclude_id is not None:
        query = query.where(Organisation.id != exclude_id)
    if db.session.execute(query).first() is not None:
        raise UserInputError(fields={"registration_number": [
            _("An organisation with this registration number is already registered. "
              "Ask one of its members to invite you.")]})


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    cleaned = {key: data[key] for key in PROFILE_FIELDS if key in data}
    for key in ("name", "registration_number", "address", "contact_email", "contact_phone", "website"):
        if isinstance(cleaned.get(key), str):
            cleaned[key] = cleaned[key].strip()
    if cleaned.get("country"):
        cleaned["country"] = cleaned["country"].upper()
    if cleaned.get("country") and cleaned["country"] != "LV" and "region" not in data:
        cleaned["region"] = None
    return cleaned


def create_organisation(user: User, data: dict[str, Any]) -> Organisation:
    """Create an organisation profile; its creator becomes its owner and an applicant."""
    data = _clean(data)
    data.setdefault("country", "LV")
    if data["country"] == "LV" and not data.get("region"):
        raise UserInputError(fields={"region": [_("Choose the planning region.")]})
    _check_unique_registration(data["country"], data["registration_number"])
    organisation = Organisation(**data)
    db.session.add(organisation)
    db.session.add(Membership(user=user, organisation=organisation, role=MemberRole.OWNER))
    db.session.flush()
    grant_role(user, RoleCode.APPLICANT, actor=user)
    record_event(action="organisation.create", object_type="organisation", object_id=organisation.id, actor=user,
                 role=RoleCode.APPLICANT, payload={"after": snapshot(organisation, PROFILE_FIELDS),
                                                   "owner_id": user.id})
    return organisation


def update_organisation(organisation: Organisation, data: dict[str, Any], actor: User) -> Organisation:
    """Change the profile; what changed is audited field by field."""
    data = _clean(data)
    country = data.get("country", organisation.country)
    if country == "LV" and not data.get("region", organisation.region):
        raise UserInputError(fields={"region": [_("Choose the planning region.")]})
    if "registration_number" in data or "country" in data:
        _check_unique_registration(country, data.get("registration_number", organisation.registration_number),
                                   exclude_id=organisation.id)
    before = snapshot(organisation, PROFILE_FIELDS)
    for key, value in data.items():
        setattr(organisation, key, value)
    db.session.flush()
    changed = changes(before, snapshot(organisation, PROFILE_FIELDS))
    if changed:
        record_event(action="organisation.update", object_type="organisation", object_id=organisation.id,
                     actor=actor, role=RoleCode.APPLICANT, payload={"changes": changed})
    return organisation


def can_edit_organisation(user: User, organisation: Organisation) -> bool:
    return any(m.organisation_id == organisation.id for m in user.memberships)


#: How long an invitation link stays valid.
INVITATION_DAYS = 14


def invite_member(organisation: Organisation, actor: User, email: str) -> tuple[Invitation, str]:
    """A member invites someone by e-mail; the message with the link goes to the outbox.

    Returns the invitation and the token (only its digest is stored)."""
    email = (email or "").strip().lower()
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise UserInputError(fields={"email": [_("Enter a valid e-mail address.")]}) from None
    if not can_edit_organisation(actor, organisation):
        raise UserInputError(fields={"organisation_id": [_("Only members may invite others.")]})
    if any(m.user.email.lower() == email for m in organisation.memberships):
        raise UserInputError(fields={"email": [_("This person is already a member.")]})
    token = secrets.token_urlsafe(32)
    invitation = Invitation(organisation=organisation, email=email, token_digest=token_digest(token),
                            invited_by_id=actor.id, expires_at=utcnow() + timedelta(days=INVITATION_DAYS))
    db.session.add(invitation)
    db.session.flush()
    link = external_url("organisations.accept_invitation", token=token)
    subject = _("Invitation to join %(organisation)s in SI Grants", organisation=organisation.name)
    body = _("%(name)s invites you to join %(organisation)s in SI Grants, to prepare and follow its applications "
             "together.\n\nAccept the invitation (sign in or register with this e-mail address first):\n%(link)s\n\n"
             "The link is valid for %(days)d days.", name=actor.name, organisation=organisation.name, link=link,
             days=INVITATION_DAYS)
    queue_message("invitation", email, " ".join(subject.split()), body, language=actor.locale or "lv",
                  object_type="organisation", object_id=organisation.id)
    record_event(action="organisation.invite", object_type="organisation", object_id=organisation.id, actor=actor,
                 role=RoleCode.APPLICANT, payload={"email": email, "invitation_id": invitation.id})
    return invitation, token


def find_invitation(token: str) -> Invitation | None:
    return db.session.scalars(sa.select(Invitation).where(Invitation.token_digest == token_digest(token))).first()


def accept_invitation(token: str, user: User) -> Membership:
    """The invited person, signed in with the invited address, joins the organisation."""
    invitation = find_invitation(token)
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= utcnow():
        raise UserInputError(fields={"token": [_("This invitation is not valid any more. Ask for a new one.")]})
    if invitation.email != user.email.lower():
        raise UserInputError(fields={"token": [_("This invitation was sent to another e-mail address.")]})
    membership = None
    if not user.is_member_of(invitation.organisation_id):
        membership = Membership(user=user, organisation=invitation.organisation, role=MemberRole.MEMBER)
        db.session.add(membership)
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    db.session.flush()
    grant_role(user, RoleCode.APPLICANT, actor=user)
    record_event(action="organisation.join", object_type="organisation", object_id=invitation.organisation_id,
                 actor=user, role=RoleCode.APPLICANT, payload={"invitation_id": invitation.id})
    return membership or next(m for m in user.memberships if m.organisation_id == invitation.organisation_id)
