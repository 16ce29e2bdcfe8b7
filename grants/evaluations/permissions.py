"""How evaluators get into applications: through an assignment, once they declare no conflict
of interest. Registered with grants.applications.permissions, which sits below evaluation."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from grants.applications.models import Application
from grants.applications.permissions import Reader, register_reader
from grants.core.roles import RoleCode
from grants.evaluations.models import READING_STATES, Assignment
from grants.evaluations.services import may_read_application


def readable_by_evaluator(user) -> sa.ColumnElement[bool]:
    """Applications the evaluator declared no conflict with, as a WHERE clause."""
    return Application.id.in_(sa.select(Assignment.application_id).where(
        Assignment.evaluator_id == user.id, Assignment.state.in_(READING_STATES)))


register_reader(Reader(
    role=RoleCode.EVALUATOR, may_read=may_read_application, readable=readable_by_evaluator,
    # Assigned, but no "no conflict" declaration: the application is known, not open.
    not_yet=_l("Declare whether you have a conflict of interest with this application before you read it.")))
