"""Who may see an application.

Staff who run the programme (officers, committee, finance, auditors, admins) read every
application; applicants read those of the organisations they belong to. Evaluators read an
application only through an assignment with a conflict-of-interest declaration (evaluation).
Everyone else is told the application does not exist (404), so ids reveal nothing.
"""

from __future__ import annotations

import sqlalchemy as sa

from grants.applications.models import Application
from grants.organisations.models import Membership
from grants.users.models import STAFF_ROLES


def reads_all_applications(user) -> bool:
    return user.is_authenticated and user.has_any_role(*STAFF_ROLES)


def can_read(user, application: Application) -> bool:
    if not user.is_authenticated:
        return False
    if reads_all_applications(user) or user.is_member_of(application.organisation_id):
        return True
    if user.has_role("evaluator"):
        from grants.evaluations.services import may_read_application

        return bool(may_read_application(user, application.id))
    return False


def readable(user) -> sa.ColumnElement[bool]:
    """The same rule as a WHERE clause, for lists."""
    from grants.evaluations.models import READING_STATES, Assignment

    if reads_all_applications(user):
        return sa.true()
    own = Application.organisation_id.in_(sa.select(Membership.organisation_id).where(Membership.user_id == user.id))
    if not user.has_role("evaluator"):
        return own
    return sa.or_(own, Application.id.in_(sa.select(Assignment.application_id).where(
        Assignment.evaluator_id == user.id, Assignment.state.in_(READING_STATES))))


#: States (besides those tagged ``draft``) in which the applicant may change the application.
EDITABLE_STATES = frozenset({"clarification_requested"})


def is_editable(application: Application) -> bool:
    """Drafts (a concept note, an invited full proposal) and an open clarification request."""
    from grants.workflows.engine import state_def

    state = state_def(application)
    return state is not None and (state.tag == "draft" or state.name in EDITABLE_STATES)


def can_edit(user, application: Application) -> bool:
    """Members of the applying organisation, while the application is editable."""
    return user.is_authenticated and user.is_member_of(application.organisation_id) and is_editable(application)
