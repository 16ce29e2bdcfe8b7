"""Imports every domain's models so SQLAlchemy and Alembic see the whole schema."""

from grants.applications.models import Application, Attachment, Submission
from grants.audit.models import AuditEvent, AuditHead, AuditVerification
from grants.calls.models import Call, CallStage, CallVersion, Programme
from grants.decisions.models import Decision
from grants.eligibility.models import DeMinimisAid, EligibilityResult
from grants.evaluations.models import Assignment, EvaluationResult, PoolMember, Relation, Review
from grants.exports.models import Export
from grants.grants_mgmt.models import (
    CallIndicatorTarget,
    GrantAgreement,
    GrantFile,
    GrantReport,
    Indicator,
    Irregularity,
    Payment,
    RecoveryOrder,
    ReportDue,
)
from grants.initiatives.models import Initiative
from grants.notifications.models import OutboxMessage
from grants.organisations.models import Invitation, Membership, Organisation
from grants.users.models import ApiToken, Role, User, user_roles

__all__ = ["ApiToken", "Application", "Assignment", "Attachment", "AuditEvent", "AuditHead", "AuditVerification",
           "Call", "CallIndicatorTarget", "CallStage", "CallVersion", "Decision", "DeMinimisAid", "EligibilityResult",
           "EvaluationResult", "Export", "GrantAgreement", "GrantFile", "GrantReport", "Indicator", "Initiative",
           "Invitation", "Irregularity", "Membership", "Organisation", "OutboxMessage", "Payment", "PoolMember",
           "Programme", "RecoveryOrder", "Relation", "ReportDue", "Review", "Role", "Submission", "User",
           "user_roles"]
