"""The audit trail pages for auditors and administrators: browse, filter, export, verify."""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required

from grants.audit import verifications
from grants.audit.labels import action_label, role_label
from grants.audit.schemas import AuditFilterSchema, ExportArgs
from grants.audit.services import acting_role, events_query, export_chunks, head_hash, record_export
from grants.core.db import db
from grants.core.forms import BaseForm
from grants.core.paging import bounded_count, window
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
    "user.reauth_failed": _l("Failed confirmation of identity"),
    "two_factor.enable": _l("Two-step sign-in turned on"),
    "two_factor.disable": _l("Two-step sign-in turned off"),
    "two_factor.reset": _l("Two-step sign-in reset by an administrator"),
    "two_factor.recovery_codes": _l("New recovery codes made"),
    "two_factor.recovery_code_used": _l("Recovery code used"),
    "user.personal_data_export": _l("Personal data exported"),
    "user.erase": _l("Personal data erased"),
}

FILTER_FIELDS = ("object_type", "object_id", "actor_id", "action", "since", "until")

#: Why a verification did not finish, as grants.audit.verifications stores it (translated when shown).
VERIFICATION_ERRORS = {
    verifications.STOPPED: _l("The verification stopped reporting (its worker ended, or no worker took it)."),
}


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
    query = events_query(filters)
    total, estimate = bounded_count(query)
    result = {"items": db.session.scalars(window(query, page, PER_PAGE)).all(), "total": total,
              "total_is_estimate": estimate, "page": page}
    verifications.fail_stale()
    newest = verifications.newest()
    query_args = {name: request.args[name] for name in FILTER_FIELDS if request.args.get(name)}
    return render_template("audit/index.html", result=result, per_page=PER_PAGE, errors=errors,
                           query_args=query_args, head=head_hash(),
                           action_label=lambda event: action_label(event, ACTION_LABELS), role_label=role_label,
                           last_verified=verifications.latest(finished=True), newest=newest,
                           running=newest if newest is not None and newest.state in verifications.ACTIVE else None,
                           verification_errors=VERIFICATION_ERRORS, verify_form=BaseForm())


@bp.post("/verify")
@login_required
@roles_required(*AUDIT_ROLES)
def verify():
    """Start a verification of the chain: in the background with Redis (the page shows its progress),
    at once otherwise."""
    if not BaseForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return redirect(url_for("audit.index"))
    run, new = verifications.request_verification(current_user, "web")
    db.session.commit()
    if new:
        verifications.start(run)
    db.session.expire_all()
    run = verifications.get_verification(run.id)
    if run.state == "done" and run.valid:
        flash(ngettext("The chain is intact: %(num)d event verified.", "The chain is intact: %(num)d events verified.",
                       run.events_checked), "success")
    elif run.state == "done":
        flash(_("The chain is broken. The first event that does not match is number %(id)s.",
                id=run.first_invalid_id), "error")
    elif run.state == "failed":
        flash(_("The verification did not finish: %(reason)s",
                reason=VERIFICATION_ERRORS.get(run.error, run.error)), "error")
    else:
        flash(_("The chain is being verified in the background; this page shows its progress."), "success")
    return redirect(url_for("audit.index", _anchor="chain"))


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
