"""The audit trail: browse, export and verify (auditors and administrators)."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.audit import verifications
from grants.audit.schemas import AuditEventArgs, AuditEventPageSchema, ExportArgs, VerificationSchema
from grants.audit.services import events_query
from grants.audit.views import export_response
from grants.core.db import db
from grants.core.paging import PageArgs, bounded_count, page_of, page_schema, window
from grants.core.roles import RoleCode

blp = Blueprint("api_audit", __name__, description="Audit trail")

AUDIT_ROLES = (RoleCode.AUDITOR, RoleCode.ADMIN)
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@blp.route("/audit/events", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*AUDIT_ROLES)
@blp.arguments(AuditEventArgs, location="query")
@blp.response(200, AuditEventPageSchema)
def list_events(args):
    """Audit events, newest first, filtered by object, actor, action and time (since ≤ t < until); deep pages
    by keyset (`before_id`, the `next_before_id` of the page before)."""
    page, per_page = args.pop("page"), args.pop("per_page")
    query = events_query(args)
    items = db.session.execute(window(query, page, per_page)).scalars().all()
    total, estimate = bounded_count(query)
    return {"items": items, "total": total, "total_is_estimate": estimate, "page": page,
            "next_before_id": items[-1].id if len(items) == per_page else None}


@blp.route("/audit/export", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*AUDIT_ROLES)
@blp.arguments(ExportArgs, location="query")
def export_events(args):
    """The filtered events as CSV or JSON, streamed oldest first. The export itself is audited."""
    return export_response(args)


@blp.route("/audit/verify", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, VerificationSchema)
@blp.alt_response(202, schema=VerificationSchema,
                  description="With Redis: the run was queued (or one already queued or running is returned); "
                              "follow `Location`, `GET /audit/verifications/{id}`.")
@authenticated(*AUDIT_ROLES)
def verify():
    """Verify the hash chain: ``{valid, events, head, first_invalid_id}`` plus the run's ``id``, ``state``,
    progress (``events`` checked of ``total``), who asked and when.

    Each call starts a verification run, kept in the list of runs. Without Redis it is made in this request
    and answered at once, 200 with ``state: done`` (or ``failed``, with ``error``, when it could not
    finish). With Redis (``REDIS_URL``) a worker makes it: 202 with ``state: queued`` (``valid`` null) and
    ``Location`` naming the run, whose ``GET /audit/verifications/{id}`` gives the progress and, once done,
    the verdict; while a run is queued or running, another call returns that run rather than a second one.
    """
    run, new = verifications.request_verification(current_user, "api")
    db.session.commit()
    if new:
        verifications.start(run)
    db.session.expire_all()
    run = verifications.get_verification(run.id)
    if run.state in ("done", "failed"):
        return run
    return run, 202, {"Location": url_for("api_audit.read_verification", verification_id=run.id)}


@blp.route("/audit/verifications", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*AUDIT_ROLES)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(VerificationSchema))
def list_verifications(args):
    """The verification runs, newest first: when, by whom, how far, and what they found."""
    verifications.fail_stale()
    result = page_of(verifications.verifications_query(), args["page"], args["per_page"])
    return result


@blp.route("/audit/verifications/<int:verification_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*AUDIT_ROLES)
@blp.response(200, VerificationSchema)
def read_verification(verification_id: int):
    """One verification run: ``state`` (queued, running, done, failed), ``events`` checked of ``total``,
    and once done ``valid``, ``head`` and ``first_invalid_id``. A run whose worker stopped reporting for two
    minutes, or that no worker took within an hour, is marked failed (``error`` says so)."""
    run = verifications.get_verification(verification_id)
    return run
