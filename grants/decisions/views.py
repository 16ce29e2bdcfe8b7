"""Ranking and decision pages (DESIGN §6, §7): the ranked list of a call per SI-stage envelope
with its funding line, the committee's decision on one application, and the result the applicant
reads on the application's page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.applications.models import Application
from grants.calls.models import Call
from grants.core.db import db
from grants.core.errors import NotFound, TransitionNotAllowed, UserInputError
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.decisions.forms import DecisionForm
from grants.decisions.ranking import EnvelopeSummary, RankRow, ranking_slice, shown_row, tie_break_text
from grants.decisions.services import (
    RANKING_ROLES,
    decidable_states,
    decide,
    decisions_of,
    is_decidable,
    result_of,
)
from grants.evaluations.rubrics import rubric_of
from grants.evaluations.services import feedback
from grants.notifications.services import local_time

bp = Blueprint("decisions", __name__)


#: Rows of one envelope per page of the ranking page.
PER_PAGE = 50


@dataclass
class Envelope:
    """One SI stage of the ranked list: its totals and funding line (aggregates over the whole envelope) and
    one page of its rows."""

    code: str
    label: str
    amount: Any
    summary: EnvelopeSummary
    rows: list[RankRow] = field(default_factory=list)
    page: int = 1
    pages: int = 1

    @property
    def line_after(self) -> int:
        """The funding line comes after this rank (0: above the first one)."""
        return self.summary.line_after

    @property
    def line_page(self) -> int:
        """The page the funding line is drawn on."""
        return max(self.summary.line_after - 1, 0) // PER_PAGE + 1 if self.summary.scored else 1

    @property
    def scored(self) -> list[RankRow]:
        return [r for r in self.rows if r.rank is not None]

    @property
    def unscored(self) -> list[RankRow]:
        return [r for r in self.rows if r.rank is None]


def envelopes(call: Call, pages: dict[str, int]) -> list[Envelope]:
    """The call's stages in order, each with its totals and the rows of its page (``pages``: page by stage
    code, the first page otherwise): one statement whatever the number of applications (two when a page
    asked for is past the envelope's last)."""
    codes = list(call.stage_codes)

    def window(page: int) -> tuple[int, int]:
        return (page - 1) * PER_PAGE + 1, page * PER_PAGE

    wanted = {code: max(pages.get(code, 1), 1) for code in codes}
    found = ranking_slice(call, places={code: window(page) for code, page in wanted.items()})
    last = {e.si_stage: max((e.rows + PER_PAGE - 1) // PER_PAGE, 1) for e in found.envelopes}
    if any(page > last.get(code, 1) for code, page in wanted.items()):
        wanted = {code: min(page, last.get(code, 1)) for code, page in wanted.items()}
        found = ranking_slice(call, places={code: window(page) for code, page in wanted.items()})
    labels = {stage.si_stage: stage.label for stage in call.stages}
    result = [Envelope(e.si_stage, labels.get(e.si_stage, e.si_stage), e.envelope, e,
                       page=wanted.get(e.si_stage, 1), pages=last.get(e.si_stage, 1)) for e in found.envelopes]
    by_code = {e.code: e for e in result}
    for row in found.rows:
        by_code[row.si_stage].rows.append(row)
    return result


def minima_titles(call: Call, row: RankRow) -> list[str]:
    rubric = rubric_of(call.rubric, row.si_stage)
    titles = []
    for code in row.failed_minima:
        criterion = rubric.criterion(code)
        titles.append(criterion.title if criterion else code)
    return titles


@bp.get("/calls/<int:call_id>/ranking")
@login_required
@roles_required(*RANKING_ROLES)
def ranking_page(call_id: int):
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    # ?stage=<code>&page=<n> pages through one envelope; the others show their first page.
    stage, page = request.args.get("stage", ""), request.args.get("page", 1, type=int) or 1
    pages = {stage: max(page, 1)} if stage in call.stage_codes else {}
    return render_template("decisions/ranking.html", call=call,
                           envelopes=envelopes(call, pages),
                           tie_break=tie_break_text(call), minima=lambda row: minima_titles(call, row),
                           deciding=current_user.has_role(RoleCode.COMMITTEE), decidable=decidable_states(call))


@bp.route("/applications/<int:application_id>/decision", methods=["GET", "POST"])
@login_required
@roles_required(RoleCode.COMMITTEE)
def decision(application_id: int):
    application = db.session.get(Application, application_id)
    if application is None:
        raise NotFound()
    row = shown_row(application.call, application.id)
    form = DecisionForm()
    status, error, reasons = 200, None, []
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                decide(application, current_user, form.values())
            except UserInputError as refused:
                db.session.rollback()
                for key, messages in refused.fields.items():
                    if key in form:
                        form[key].errors = list(form[key].errors) + messages
                status = refused.status
            except TransitionNotAllowed as refused:
                db.session.rollback()
                status, error = refused.status, str(refused.message or refused.default_message)
                reasons = [r.get("message", "") for r in refused.reasons]
            else:
                db.session.commit()
                flash(_("The decision has been recorded."), "success")
                return redirect(url_for("decisions.ranking_page", call_id=application.call_id,
                                        _anchor=f"application-{application.id}"))
            application = db.session.get(Application, application_id)  # as it is now, after the rollback
            row = shown_row(application.call, application.id)
        else:
            status = 422
    else:
        form.outcome.data = row.recommendation if row is not None and row.recommendation else None
        form.amount.data = f"{application.requested_amount:.2f}"
        # The decision date is the committee's to give (DESIGN §7): never filled in for them.
    return render_template("decisions/decision.html", application=application, row=row, form=form, error=error,
                           reasons=reasons, history=decisions_of(application), feedback=feedback(application),
                           decidable=is_decidable(application),
                           minima=minima_titles(application.call, row) if row else []), status


@bp.app_template_global()
def decision_result(application: Application) -> dict[str, Any] | None:
    """What the application's page shows once the committee decided (``None`` before): the
    decision in force, the consolidated anonymous feedback and, for a rejection, the appeal deadline."""
    result = result_of(application)
    if result is None:
        return None
    return {"decision": result.decision, "feedback": result.feedback,
            "appeal_deadline": local_time(result.appeal_deadline) if result.appeal_deadline else None,
            "show_decider": current_user.is_authenticated and current_user.is_staff}


@bp.app_template_global("may_decide")
def may_decide(application: Application) -> bool:
    """Whether the current user may record the committee's decision on ``application`` now."""
    return current_user.is_authenticated and current_user.has_role(RoleCode.COMMITTEE) and is_decidable(application)
