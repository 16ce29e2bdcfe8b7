"""The landing page after sign-in (what each role needs first) and the officer's dashboard of a
call (grants.dashboard.calls)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from grants.applications.models import Application
from grants.calls.models import CALL_EDITORS, Call, CallStatus, PublicCallStatus
from grants.calls.services import calls_query
from grants.core.db import db, today, utcnow
from grants.core.errors import NotFound
from grants.core.roles import ROLE_LABELS, RoleCode
from grants.core.security import roles_required
from grants.dashboard import calls as call_dashboard
from grants.evaluations.models import OPEN_STATES, Assignment
from grants.evaluations.officer_forms import ConfirmForm
from grants.evaluations.officer_views import READERS as CALL_READERS  # as for the call's evaluation pages
from grants.grants_mgmt.forms import report_kind_label
from grants.grants_mgmt.listings import (
    grant_rows,
    grants_query,
    overdue_reports,
    reports_to_review,
    staff_counts,
)
from grants.initiatives.stages import stage_label
from grants.users.models import Role, user_roles

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
#: The per-call dashboard, beside the call's evaluation pages (grants.evaluations.officer_views).
calls_bp = Blueprint("call_dashboard", __name__, url_prefix="/calls")

#: How many rows each dashboard list shows; the pages stay bounded whatever the data size.
LIST_LIMIT = 20
#: How many reports the grant staff panel lists (to review, overdue).
REPORT_LIMIT = 10
#: Who sees the grant phase at a glance: payments to verify and pay, reports, irregularities.
GRANT_PANEL_ROLES = (RoleCode.OFFICER, RoleCode.FINANCE, RoleCode.AUDITOR)


def _applicant_panel(user) -> dict:
    organisation_ids = [m.organisation_id for m in user.memberships]
    applications = []
    if organisation_ids:
        applications = db.session.execute(
            sa.select(Application).where(Application.organisation_id.in_(organisation_ids))
            .order_by(Application.updated_at.desc()).limit(LIST_LIMIT)
        ).unique().scalars().all()
    return {"organisations": user.organisations, "applications": applications}


def _staff_panel() -> dict:
    calls = db.session.execute(
        calls_query(None, include_drafts=True).where(Call.status != CallStatus.CLOSED).limit(LIST_LIMIT)
    ).unique().scalars().all()
    counts: dict[int, dict[str, int]] = {}
    if calls:
        rows = db.session.execute(
            sa.select(Application.call_id, Application.state, sa.func.count())
            .where(Application.call_id.in_([c.id for c in calls]))
            .group_by(Application.call_id, Application.state)
        )
        for call_id, state, count in rows:
            counts.setdefault(call_id, {})[state] = count
    return {"calls": calls, "counts": counts}


def _evaluator_panel(user) -> dict:
    """The evaluator's open work: declarations pending, reviews in progress, overdue (one query)."""
    counts = {"assigned": 0, "accepted": 0, "submitted": 0, "overdue": 0}
    rows = db.session.execute(
        sa.select(Assignment.state, sa.func.count(),
                  sa.func.sum(sa.case((sa.and_(Assignment.state.in_(OPEN_STATES), Assignment.due_at < utcnow()), 1),
                                      else_=0)))
        .where(Assignment.evaluator_id == user.id).group_by(Assignment.state))
    for state, count, overdue in rows:
        if state in counts:
            counts[state] = count
        counts["overdue"] += overdue or 0
    return counts


def _grantee_panel(user) -> list:
    """The grants of the user's organisations: next report due (overdue marked) and paid so far."""
    day = today()
    organisation_ids = [m.organisation_id for m in user.memberships]
    query = grants_query(user, today=day).where(Application.organisation_id.in_(organisation_ids)).limit(LIST_LIMIT)
    return grant_rows(query, today=day)


def _grant_staff_panel() -> dict:
    """The grant phase at a glance; the lists are read only when there is something in them."""
    day = today()
    counts = staff_counts(day)
    return {"counts": counts,
            "to_review": reports_to_review(REPORT_LIMIT) if counts.reports_to_review else [],
            "overdue": overdue_reports(day, limit=REPORT_LIMIT) if counts.overdue_reports else []}


def _admin_panel() -> dict:
    rows = db.session.execute(
        sa.select(Role.code, sa.func.count(user_roles.c.user_id))
        .select_from(Role).outerjoin(user_roles, user_roles.c.role_id == Role.id).group_by(Role.code)
    ).all()
    return {"users_by_role": [(ROLE_LABELS[code], count) for code, count in sorted(rows)]}


@bp.get("/")
@login_required
def index():
    user = current_user
    context = {
        "open_calls": db.session.execute(
            calls_query(PublicCallStatus.OPEN).limit(LIST_LIMIT)).unique().scalars().all(),
    }
    if user.has_role(RoleCode.APPLICANT) or user.memberships:
        context["applicant"] = _applicant_panel(user)
    if user.memberships:
        context["grantee"] = _grantee_panel(user)
    if user.has_role(RoleCode.EVALUATOR):
        context["evaluator"] = _evaluator_panel(user)
    if user.is_staff:
        context["staff"] = _staff_panel()
    if user.has_any_role(*GRANT_PANEL_ROLES):
        context["grant_staff"] = _grant_staff_panel()
    if user.has_role(RoleCode.ADMIN):
        context["admin"] = _admin_panel()
    return render_template("dashboard/index.html", **context, stage_name=stage_label,
                           report_kind_label=report_kind_label)


@calls_bp.get("/<int:call_id>/evaluation")
@roles_required(*CALL_READERS)
def evaluation(call_id: int):
    """The call's evaluation dashboard (officers, admins and auditors)."""
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return render_template("dashboard/call_evaluation.html", call=call, board=call_dashboard.dashboard(call),
                           may_change=current_user.has_any_role(*CALL_EDITORS), confirm=ConfirmForm(formdata=None),
                           section="evaluation")
