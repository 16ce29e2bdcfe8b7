"""Reading initiatives; they move through the SI stages only by their workflow."""

from __future__ import annotations

from grants.applications.permissions import reads_all_applications
from grants.core.db import db
from grants.core.errors import NotFound
from grants.initiatives.models import Initiative


def can_read(user, initiative: Initiative) -> bool:
    """Programme staff and the members of the owning organisation (the public registry
    shows a public view of its own)."""
    return user.is_authenticated and (reads_all_applications(user) or user.is_member_of(initiative.organisation_id))


def get_readable(user, initiative_id: int) -> Initiative:
    initiative = db.session.get(Initiative, initiative_id)
    if initiative is None or not can_read(user, initiative):
        raise NotFound()
    return initiative
