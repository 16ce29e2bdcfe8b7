"""Who sees and does what with a grant.

Programme staff (officers, finance, the committee, auditors, admins) read every grant; the
grantee's members read their own; an evaluator reads the grant whose stage gate they review, once
they declared no conflict of interest. Officers manage grants (agreement, schedule, report review,
irregularities); finance verifies and pays; auditors only read. Anyone else is told the grant does
not exist (404).
"""

from __future__ import annotations

import sqlalchemy as sa

from grants.applications.models import Application
from grants.core.db import db
from grants.core.errors import NotFound
from grants.evaluations.models import READING_STATES, Assignment
from grants.grants_mgmt.awards import GRANT_STAFF


def reads_all(user) -> bool:
    return user.is_authenticated and user.has_any_role(*GRANT_STAFF)


def reviews_gate(user, application: Application) -> bool:
    """An evaluator of one of the application's stage gates, after declaring no conflict."""
    return user.has_role("evaluator") and db.session.scalar(
        sa.select(sa.func.count()).select_from(Assignment).where(
            Assignment.application_id == application.id, Assignment.evaluator_id == user.id,
            Assignment.gate_stage != "", Assignment.state.in_(READING_STATES))) > 0


def can_read(user, application: Application) -> bool:
    if not user.is_authenticated:
        return False
    return reads_all(user) or user.is_member_of(application.organisation_id) or reviews_gate(user, application)


def is_grantee(user, application: Application) -> bool:
    return user.is_authenticated and user.is_member_of(application.organisation_id)


def may_manage(user) -> bool:
    """Officers draft agreements, plan payments, review reports and keep the irregularities register."""
    return user.is_authenticated and user.has_role("officer")


def get_readable(user, application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None or not can_read(user, application):
        raise NotFound()
    return application
