"""A data subject's rights (GDPR Art. 15, 17, 20; DESIGN §10): the export of everything the service
holds about a person, and the erasure of their account.

Erasure pseudonymises rather than deletes. What identifies the person only (name, e-mail address,
password hash, API tokens, the two-step sign-in seed and recovery codes, roles, memberships,
invitations still waiting for them, e-mail not yet sent to them) is removed or replaced by
"Erased user <id>" / ``erased-<id>@invalid``, and the account is deactivated. What the programme
must keep stays, linked to the pseudonymous account: applications and their submissions, grants,
payments, reports, decisions, evaluations and conflict-of-interest declarations, and e-mail already
sent (the proof that a decision was notified). EU funds require their records kept until the
retention date (Regulation (EU) 2021/1060, Art. 82: five years from 31 December of the year of the
last payment, ten for de minimis aid; grants.grants_mgmt.retention), and erasure does not apply where
processing is needed for a legal obligation (GDPR Art. 17(3)(b)) or for legal claims (Art. 17(3)(e)).

The audit trail is append-only and hash-chained (grants.audit): its events keep the e-mail address
the person acted under (``actor_label``, part of each event's hash) and some payloads name it.
Changing them would break the chain that proves the records were not tampered with, so they stay,
under the same exemption; the erasure itself is audited.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.applications.models import Application, Attachment, Submission
from grants.audit.models import AuditEvent
from grants.audit.services import record_event
from grants.core.db import db, utcnow
from grants.core.errors import Conflict, PermissionDenied
from grants.decisions.models import Decision
from grants.evaluations.models import Assignment, PoolMember, Relation
from grants.grants_mgmt.retention import retention_of
from grants.notifications.models import OutboxMessage
from grants.organisations.models import Invitation
from grants.users import two_factor
from grants.users.models import ApiToken, Notice, RecoveryCode, User

#: Version of the export's layout (bump when keys change meaning).
EXPORT_FORMAT = 1
#: What an erased account's password hash becomes: not an argon2 hash, so no password ever matches it
#: (grants.core.security.verify_password).
UNUSABLE_HASH = "!erased"


def pseudonym_name(user_id: int) -> str:
    return f"Erased user {user_id}"


def pseudonym_email(user_id: int) -> str:
    # .invalid is reserved (RFC 2606): nothing is ever delivered there.
    return f"erased-{user_id}@invalid"


def _plain(value: Any) -> Any:
    """JSON values: dates and datetimes in ISO 8601, amounts as strings, enums as their values."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _all(query) -> list:
    return list(db.session.execute(query).unique().scalars())


# --- the export -----------------------------------------------------------------------------------------------

def personal_data(user: User) -> dict[str, Any]:
    """Everything the service holds about ``user``, as plain JSON values (GDPR Art. 15 and 20).

    Secrets are described, never included: no password hash, token digest, TOTP seed or recovery
    code. Audit events are listed without their payloads (which may describe other people).
    """
    email = user.email
    applications = _all(sa.select(Application).where(sa.or_(
        Application.created_by_id == user.id,
        Application.id.in_(sa.select(Submission.application_id).where(Submission.submitted_by_id == user.id))))
        .order_by(Application.id))
    submissions = _all(sa.select(Submission).where(Submission.submitted_by_id == user.id).order_by(Submission.id))
    attachments = _all(sa.select(Attachment).where(Attachment.uploaded_by_id == user.id).order_by(Attachment.id))
    invitations = _all(sa.select(Invitation).where(sa.or_(
        Invitation.email == email, Invitation.invited_by_id == user.id, Invitation.accepted_by_id == user.id))
        .order_by(Invitation.id))
    tokens = _all(sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    relations = _all(sa.select(Relation).where(Relation.user_id == user.id).order_by(Relation.id))
    pools = _all(sa.select(PoolMember).where(PoolMember.user_id == user.id).order_by(PoolMember.id))
    assignments = db.session.execute(
        sa.select(Assignment.id, Assignment.application_id, Assignment.call_id, Assignment.state,
                  Assignment.has_conflict, Assignment.declared_at, Assignment.created_at)
        .where(Assignment.evaluator_id == user.id).order_by(Assignment.id)).all()
    decisions = db.session.execute(
        sa.select(Decision.id, Decision.application_id, Decision.outcome, Decision.decided_on)
        .where(Decision.decided_by_id == user.id).order_by(Decision.id)).all()
    messages = _all(sa.select(OutboxMessage).where(OutboxMessage.to_address == email).order_by(OutboxMessage.id))
    events = db.session.execute(
        sa.select(AuditEvent.id, AuditEvent.occurred_at, AuditEvent.action, AuditEvent.object_type,
                  AuditEvent.object_id, AuditEvent.role)
        .where(sa.or_(AuditEvent.actor_id == user.id,
                      sa.and_(AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id))))
        .order_by(AuditEvent.id)).all()
    credential = user.two_factor

    def retention(application: Application) -> dict | None:
        kept = retention_of(application)
        return kept.as_dict() if kept is not None else None

    data = {
        "format": EXPORT_FORMAT,
        "generated_at": utcnow(),
        "account": {
            "id": user.id, "name": user.name, "email": email, "locale": user.locale,
            "is_active": user.is_active_account, "created_at": user.created_at,
            "last_login_at": user.last_login_at, "failed_logins": user.failed_logins,
            "locked_until": user.locked_until, "erased_at": user.erased_at,
            "credentials": ("The password is kept as an argon2id hash, API tokens and recovery codes as SHA-256 "
                            "digests and the two-step sign-in seed encrypted; none of them is exported."),
        },
        "roles": user.role_codes,
        "two_step_sign_in": {
            "enabled": user.has_two_factor,
            "confirmed_at": credential.confirmed_at if credential is not None else None,
            "recovery_codes_left": two_factor.recovery_codes_left(user) if user.has_two_factor else 0,
        },
        "api_tokens": [{"id": t.id, "created_at": t.created_at, "expires_at": t.expires_at,
                        "revoked_at": t.revoked_at, "last_used_at": t.last_used_at} for t in tokens],
        "memberships": [{"organisation_id": m.organisation_id, "role": m.role, "since": m.created_at}
                        for m in user.memberships],
        "organisations": [{
            "id": o.id, "name": o.name, "registration_number": o.registration_number, "legal_form": o.legal_form,
            "region": o.region, "country": o.country, "address": o.address, "contact_email": o.contact_email,
            "contact_phone": o.contact_phone, "website": o.website, "created_at": o.created_at,
        } for o in user.organisations],
        "applications": [{
            "id": a.id, "call": a.call.code, "organisation_id": a.organisation_id, "title": a.title,
            "summary": a.summary, "si_stage": a.si_stage, "requested_amount": a.requested_amount,
            "duration_months": a.duration_months, "state": a.state, "answers": a.answers,
            "created_by_them": a.created_by_id == user.id, "created_at": a.created_at,
            "retention": retention(a),
        } for a in applications],
        "submissions": [{"id": s.id, "application_id": s.application_id, "round": s.round, "trigger": s.trigger,
                         "submitted_at": s.submitted_at, "content_hash": s.content_hash} for s in submissions],
        "attachments": [{"id": f.id, "application_id": f.application_id, "filename": f.filename,
                         "content_type": f.content_type, "size": f.size, "sha256": f.sha256,
                         "uploaded_at": f.created_at, "removed_at": f.removed_at} for f in attachments],
        "invitations": [{
            "id": i.id, "organisation_id": i.organisation_id, "email": i.email,
            "to_them": i.email == email, "sent_by_them": i.invited_by_id == user.id,
            "created_at": i.created_at, "expires_at": i.expires_at, "accepted_at": i.accepted_at,
        } for i in invitations],
        "evaluation": {
            "pools": [{"call_id": p.call_id, "since": p.created_at} for p in pools],
            "declared_relations": [{"organisation_id": r.organisation_id, "organisation": r.organisation.name,
                                    "description": r.description, "declared_at": r.created_at} for r in relations],
            "assignments": [dict(row._mapping) for row in assignments],
        },
        "decisions": [dict(row._mapping) for row in decisions],
        "emails": [{"id": m.id, "kind": m.kind, "subject": m.subject, "body": m.body, "language": m.language,
                    "created_at": m.created_at, "sent_at": m.sent_at} for m in messages],
        "notifications": [{"id": n.id, "kind": n.kind, "subject": n.subject, "created_at": n.created_at,
                           "read_at": n.read_at} for n in _all(sa.select(Notice).where(Notice.user_id == user.id)
                                                              .order_by(Notice.id))],
        "audit_events": [dict(row._mapping) for row in events],
    }
    return _plain(data)


def record_personal_data_export(user: User, actor: User, *, role: str | None) -> None:
    """Handing over a person's data is itself audited (who, whose, when)."""
    record_event(action="user.personal_data_export", object_type="user", object_id=user.id, actor=actor, role=role)


# --- erasure --------------------------------------------------------------------------------------------------

@dataclass
class Erasure:
    """What an erasure changed: counts of what was removed, and what stays and why."""

    user_id: int
    erased_at: datetime
    removed: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return _plain({"user_id": self.user_id, "erased_at": self.erased_at, "removed": self.removed,
                       "kept": self.kept})


def _count(query) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()


def erase_person(user: User, actor: User, *, reason: str, role: str | None = "admin") -> Erasure:
    """Pseudonymise ``user`` (see the module's docstring for what goes and what stays); audited.

    Refused for one's own account (403) and for an account already erased (409).
    """
    if user.id == actor.id:
        raise PermissionDenied(_("You cannot erase your own account."))
    if user.erased_at is not None:
        raise Conflict(_("This account has been erased already."))
    email = user.email
    removed: dict[str, int] = {}
    removed["roles"] = len(user.roles)
    user.roles = []
    removed["memberships"] = len(user.memberships)
    user.memberships.clear()
    removed["api_tokens"] = db.session.execute(sa.delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount
    removed["recovery_codes"] = db.session.execute(
        sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id)).rowcount
    removed["two_step_sign_in"] = 1 if user.two_factor is not None else 0
    if user.two_factor is not None:
        db.session.delete(user.two_factor)
        user.two_factor = None
    removed["pending_invitations"] = db.session.execute(
        sa.delete(Invitation).where(Invitation.email == email, Invitation.accepted_at.is_(None))).rowcount
    db.session.execute(sa.update(Invitation).where(Invitation.email == email)
                       .values(email=pseudonym_email(user.id)))
    removed["unsent_emails"] = db.session.execute(sa.delete(OutboxMessage).where(
        OutboxMessage.to_address == email, OutboxMessage.sent_at.is_(None))).rowcount
    kept_emails = db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.to_address == email)
                                     .values(to_address=pseudonym_email(user.id))).rowcount
    removed["notifications"] = db.session.execute(sa.delete(Notice).where(Notice.user_id == user.id)).rowcount
    user.unread_notices = 0

    user.name = pseudonym_name(user.id)
    user.email = pseudonym_email(user.id)
    user.password_hash = UNUSABLE_HASH
    user.is_active_account = False
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = None
    user.erased_at = utcnow()
    db.session.flush()

    kept = {
        "applications": _count(sa.select(Application.id).where(Application.created_by_id == user.id)),
        "submissions": _count(sa.select(Submission.id).where(Submission.submitted_by_id == user.id)),
        "assignments": _count(sa.select(Assignment.id).where(Assignment.evaluator_id == user.id)),
        "declared_relations": _count(sa.select(Relation.id).where(Relation.user_id == user.id)),
        "decisions": _count(sa.select(Decision.id).where(Decision.decided_by_id == user.id)),
        "sent_emails": kept_emails,
        "audit_events": _count(sa.select(AuditEvent.id).where(AuditEvent.actor_id == user.id)),
    }
    result = Erasure(user_id=user.id, erased_at=user.erased_at, removed=removed, kept=kept)
    record_event(action="user.erase", object_type="user", object_id=user.id, actor=actor, role=role,
                 comment=reason, payload={"removed": removed, "kept": kept})
    return result
