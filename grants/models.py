"""Imports every domain's models so SQLAlchemy and Alembic see the whole schema."""

from grants.applications.models import Application
from grants.audit.models import AuditEvent, AuditHead
from grants.calls.models import Call, CallStage, Programme
from grants.initiatives.models import Initiative
from grants.organisations.models import Membership, Organisation
from grants.users.models import ApiToken, Role, User, user_roles

__all__ = ["ApiToken", "Application", "AuditEvent", "AuditHead", "Call", "CallStage", "Initiative", "Membership",
           "Organisation", "Programme", "Role", "User", "user_roles"]
