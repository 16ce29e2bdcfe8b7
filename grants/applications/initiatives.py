"""The applications of an initiative, as the initiative pages show them: registered with
grants.initiatives.services, which sits below applications and cannot ask for them itself."""

from __future__ import annotations

import sqlalchemy as sa

from grants.applications.models import Application
from grants.calls.models import Call
from grants.core.db import db
from grants.initiatives.models import Initiative
from grants.initiatives.services import ApplicationsOfInitiatives, register_applications


def application_counts() -> sa.Subquery:
    """``(initiative_id, n)``: how many applications each initiative has, one grouped subquery."""
    return (sa.select(Application.initiative_id, sa.func.count(Application.id).label("n"))
            .group_by(Application.initiative_id).subquery())


def applications_of(initiative: Initiative) -> list[Application]:
    """The initiative's applications, oldest first, with their calls and programmes (one query)."""
    return list(db.session.scalars(
        sa.select(Application).where(Application.initiative_id == initiative.id)
        .options(sa.orm.joinedload(Application.call).joinedload(Call.programme))
        .order_by(Application.created_at, Application.id)).unique().all())


register_applications(ApplicationsOfInitiatives(counts=application_counts, of=applications_of))
