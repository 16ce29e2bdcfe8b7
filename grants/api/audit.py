"""The audit trail: browse, export and verify (auditors and administrators)."""

from __future__ import annotations

from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.audit.schemas import AuditEventArgs, AuditEventSchema, ChainVerificationSchema, ExportArgs
from grants.audit.services import events_query, verify_chain
from grants.audit.views import export_response
from grants.core.db import db
from grants.core.paging import page_of, page_schema
from grants.core.roles import RoleCode

blp = Blueprint("api_audit", __name__, description="Audit trail")

AUDIT_ROLES = (RoleCode.AUDITOR, RoleCode.ADMIN)
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@blp.route("/audit/events", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*AUDIT_ROLES)
@blp.arguments(AuditEventArgs, location="query")
@blp.response(200, page_schema(AuditEventSchema))
def list_events(args):
    """Audit events, newest first, filtered by object, actor, action and time (since ≤ t < until)."""
    page, per_page = args.pop("page"), args.pop("per_page")
    result = page_of(events_query(args), page, per_page)
    db.session.commit()  # token last-used time
    return result


@blp.route("/audit/export", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*AUDIT_ROLES)
@blp.arguments(ExportArgs, location="query")
def export_events(args):
    """The filtered events as CSV or JSON, streamed oldest first. The export itself is audited."""
    return export_response(args)


@blp.route("/audit/verify", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, ChainVerificationSchema)
@authenticated(*AUDIT_ROLES)
def verify():
    """Recompute the hash chain: ``{valid, events, head, first_invalid_id}``."""
    result = verify_chain()
    db.session.commit()
    return result.as_dict()
