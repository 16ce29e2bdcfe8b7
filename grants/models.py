"""Imports every domain's models so SQLAlchemy and Alembic see the whole schema."""

from grants.applications.models import Application, Attachment, Submission
from grants.audit.models import AuditEvent, AuditHead
from grants.calls.models import Call, CallStage, CallVersion, Programme
from grants.eligibility.models import DeMinimisAid, EligibilityResult
from grants.initiatives.models import Initiative
from grants.notifications.models import OutboxMessage
from grants.organisations.models import Invitation, Membership, Organisation
from grants.users.models import ApiToken, Role, User, user_roles

__all__ = ["ApiToken", "Application", "Attachment", "AuditEvent", "AuditHead", "Call", "CallStage", "CallVersion",
           "DeMinimisAid", "EligibilityResult", "Initiative", "Invitation", "Membership", "Organisation",
           "OutboxMessage", "Programme", "Role",
           "Submission", "User", "user_roles"]
