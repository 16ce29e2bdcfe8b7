"""Organisation profiles and membership."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.audit.changes import changes, snapshot
from grants.audit.services import record_event
from grants.core.db import db
from grants.core.errors import UserInputError
from grants.organisations.models import MemberRole, Membership, Organisation
from grants.users.models import RoleCode, User
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
