"""The audit trail pages for auditors and administrators: browse, filter, export, verify."""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from grants.audit.schemas import AuditFilterSchema, ExportArgs
from grants.audit.services import acting_role, events_query, export_chunks, head_hash, record_export, verify_chain
from grants.core.db import db
from grants.core.paging import page_of
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.core.validation_messages import translate_validation_message

bp = Blueprint("audit", __name__, url_prefix="/audit")

AUDIT_ROLES = (RoleCode.AUDITOR, RoleCode.ADMIN)
PER_PAGE = 50
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}

#: Labels of the action ids stored in the trail; unknown ids are shown as they are.
ACTION_LABELS = {
    "user.login": _l("Signed in"),
    "user.login_failed": _l("Failed sign-in"),
    "user.register": _l("Account registered"),
    "api_token.issue": _l("API token issued"),
    "api_token.revoke": _l("API token revoked"),
    "audit.export": _l("Audit trail exported"),
}

FILTER_FIELDS = ("object_type", "object_id", "actor_id", "action", "since", "until")


def _load(schema: ma.Schema) -> tuple[dict, dict[str, list[str]]]:
    try:
        return schema.load(request.args, unknown=ma.EXCLUDE), {}
    except ma.ValidationError as error:
        return {}, {field: [translate_validation_message(str(m)) for m in messages]
                    for field, messages in error.messages.items()}


@bp.get("/")
@login_required
@roles_required(*AUDIT_ROLES)
def index():
    filters, errors = _load(AuditFilterSchema())
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    result = page_of(events_query(filters), page, PER_PAGE)
    verification = verify_chain() if request.args.get("verify") else None
    query_args = {name: request.args[name] for name in FILTER_FIELDS if request.args.get(name)}
    return render_template("audit/index.html", result=result, per_page=PER_PAGE, errors=errors,
                           query_args=query_args, verification=verification, head=head_hash(),
                           action_labels=ACTION_LABELS)


@bp.get("/export")
@login_required
@roles_required(*AUDIT_ROLES)
def export():
    args, errors = _load(ExportArgs())
    if errors:
        return index()
    return export_response(args)


def export_response(args: dict) -> Response:
    """Audit the export, commit, then stream the filtered events (pages and API alike)."""
    export_format = args.pop("format")
    record_export(current_user, role=acting_role(current_user, AUDIT_ROLES), export_format=export_format,
                  filters=args)
    db.session.commit()
    return Response(stream_with_context(export_chunks(args, export_format)), content_type=EXPORT_TYPES[export_format],
                    headers={"Content-Disposition": f'attachment; filename="audit-events.{export_format}"'})
