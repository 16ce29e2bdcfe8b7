"""Reading applications (acting on them goes through grants.workflows.services.act)."""

from __future__ import annotations

from grants.applications.models import Application
from grants.applications.permissions import can_read
from grants.core.db import db
from grants.core.errors import NotFound


def get_readable(user, application_id: int) -> Application:
    """The application, if ``user`` may read it; otherwise it does not exist for them."""
    application = db.session.get(Application, application_id)
    if application is None or not can_read(user, application):
        raise NotFound()
    return application
