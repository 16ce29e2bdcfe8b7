"""Eligibility pages: the officers' queue, and one application's rules with the officers' decisions.

The applicant checks a draft here before submitting; after submission everyone who may read the
application sees the stored results of the latest round; officers decide manual and failed rules
and then declare the application eligible or not (the workflow's actions).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.applications.clarification import act_on_application
from grants.applications.models import Application
from grants.applications.services import get_readable
from grants.core.db import db
from grants.core.errors import Conflict, NotFound, PermissionDenied, UserInputError
from grants.core.i18n import current_language
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.eligibility.forms import DecisionForm, decision_form
from grants.eligibility.models import EligibilityResult, Outcome, Severity
from grants.eligibility.report import build_report, may_decide, sees_inputs
from grants.eligibility.services import decide, latest_round, queue_calls, queue_page, queue_total
from grants.workflows.engine import available_triggers
from grants.workflows.forms import ActionForm, take_action

bp = Blueprint("eligibility", __name__, url_prefix="/eligibility")

QUEUE_ROLES = (RoleCode.OFFICER, RoleCode.ADMIN, RoleCode.AUDITOR)
#: The workflow actions offered on the eligibility page.
ELIGIBILITY_TRIGGERS = ("declare_eligible", "declare_ineligible", "request_clarification")
PER_PAGE = 50


# --- The queue ---------------------------------------------------------------------------------

@bp.get("/")
@login_required
@roles_required(*QUEUE_ROLES)
def queue():
    call_id = request.args.get("call_id", type=int)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    total = queue_total(call_id)
    rows = [(row.application, row.submitted_at, row.failed, row.undecided, row.warnings)
            for row in queue_page(page, PER_PAGE, call_id)]
    return render_template("eligibility/queue.html", rows=rows, total=total, page=page, call_id=call_id,
                           calls=queue_calls(), pages=max((total + PER_PAGE - 1) // PER_PAGE, 1))


# --- One application ---------------------------------------------------------------------------

@bp.route("/applications/<int:application_id>", methods=["GET", "POST"])
@login_required
def application(application_id: int):
    application = get_readable(current_user, application_id)
    action_form = ActionForm()
    forms: dict[str, DecisionForm] = {}
    status, error = 200, None
    if request.method == "POST":
        rule = request.form.get("rule")
        if rule:
            done, status, error, form = _decide(application, rule)
            if done:
                return redirect(url_for("eligibility.application", application_id=application.id))
            forms[rule] = form
        else:
            if not may_decide(current_user):
                raise PermissionDenied()
            done, status, error = take_action(action_form, lambda trigger, **kwargs: act_on_application(
                application, trigger, current_user, **kwargs))
            if done:
                return redirect(url_for("eligibility.application", application_id=application.id))
        application = get_readable(current_user, application_id)  # as it is now, after a rollback
    action_form.version.data = application.version
    report = build_report(application, current_user, current_language())
    deciding = may_decide(current_user) and application.state == "eligibility_review" and not report.live
    if deciding:
        for row in report.rows:
            if row.code not in forms:
                forms[row.code] = decision_form(row.code, formdata=None,
                                                data={"outcome": row.decided.value if row.decided else None,
                                                      "justification": row.justification or "",
                                                      "version": application.version})
    actions = [a for a in available_triggers(application, current_user) if a["trigger"] in ELIGIBILITY_TRIGGERS]
    return render_template("eligibility/application.html", application=application, report=report,
                           forms=forms if deciding else {}, action_form=action_form, actions=actions, error=error,
                           staff=sees_inputs(current_user)), status


def _decide(application: Application, rule: str) -> tuple[bool, int, str | None, DecisionForm]:
    """Validate one rule's decision form and decide; ``(done, status, error, form)``."""
    if not may_decide(current_user):
        raise PermissionDenied()
    form = decision_form(rule)
    if not form.validate_on_submit():
        return False, 422, None, form
    try:
        decide(application, rule, current_user, form.outcome.data, form.justification.data, form.version.data)
    except UserInputError as refused:
        db.session.rollback()
        for key, messages in refused.fields.items():
            if key in form:
                form[key].errors = list(form[key].errors) + messages
        return False, refused.status, None, form
    except (Conflict, NotFound) as refused:
        db.session.rollback()
        return False, refused.status, str(refused), form
    db.session.commit()
    flash(_("The decision has been saved."), "success")
    return True, 200, None, form


@bp.app_template_global()
def eligibility_summary(application: Application) -> dict[str, int] | None:
    """Counts of the latest round's stored results, for the application's page (``None`` before any)."""
    round_ = latest_round(application)
    if round_ is None:
        return None
    final = sa.func.coalesce(EligibilityResult.decided_outcome, EligibilityResult.outcome)
    rows = db.session.execute(sa.select(EligibilityResult.severity, final, sa.func.count())
                              .where(EligibilityResult.application_id == application.id,
                                     EligibilityResult.round == round_)
                              .group_by(EligibilityResult.severity, final)).all()
    if not rows:
        return None
    summary = {"rules": 0, "failed": 0, "undecided": 0, "warnings": 0}
    for severity, outcome, number in rows:
        summary["rules"] += number
        if outcome == Outcome.MANUAL:
            summary["undecided"] += number
        elif severity == Severity.BLOCKING and outcome == Outcome.FAIL:
            summary["failed"] += number
        elif severity == Severity.WARNING and outcome != Outcome.PASS:
            summary["warnings"] += number
    return summary
