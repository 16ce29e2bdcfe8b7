"""Evaluator pages (DESIGN §6, §9): the dashboard of my assignments, one assignment (the
conflict-of-interest declaration, then the submitted application and the review form, then the
locked review) and my declared relations with organisations.

An evaluator sees only their own assignments (anyone else's is 404) and never another
evaluator's scores or name. Before the declaration the page shows who applied and for what, not
what they wrote.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.applications.models import Application
from grants.calls.models import Call
from grants.core.db import db, utcnow
from grants.core.errors import Conflict, NotFound, PermissionDenied, TransitionNotAllowed, UserInputError
from grants.core.i18n import current_language
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.evaluations.forms import DeclarationForm, RelationForm, RemoveRelationForm, ReviewForm, review_form
from grants.evaluations.models import ACTIVE_STATES, OPEN_STATES, READING_STATES, Assignment, Review
from grants.evaluations.rubrics import decimal, rubric_for
from grants.evaluations.services import (
    STANDARD_DECLARATION,
    declare,
    declare_relation,
    get_own_assignment,
    missing_parts,
    relations_of,
    remove_relation,
    save_review,
    submit_review,
)
from grants.initiatives.stages import stage_label

bp = Blueprint("evaluations", __name__, url_prefix="/evaluations")

#: Submitted reviews listed on the dashboard (the newest); the rest are counted.
RECENT_SUBMITTED = 20


# --- The dashboard ------------------------------------------------------------------------------

@dataclass
class Row:
    """One assignment on the dashboard (plain columns: nothing of the application's content)."""

    id: int
    state: str
    due_at: datetime
    declared_at: datetime | None
    call_id: int
    call_code: str
    title: str
    overdue: bool
    submitted_at: datetime | None = None


@dataclass
class CallProgress:
    call_id: int
    code: str
    title: str
    submitted: int = 0
    active: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.submitted / self.active) if self.active else 0


@dataclass
class Dashboard:
    pending: list[Row] = field(default_factory=list)
    scoring: list[Row] = field(default_factory=list)
    submitted: list[Row] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    progress: list[CallProgress] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(1 for row in self.pending + self.scoring if row.overdue)

    @property
    def closed(self) -> int:
        return self.counts.get("recused", 0) + self.counts.get("withdrawn", 0)


def _rows(query: sa.Select) -> list[Row]:
    now = utcnow()
    return [Row(id=r.id, state=r.state, due_at=r.due_at, declared_at=r.declared_at, call_id=r.call_id,
                call_code=r.code, title=r.title, submitted_at=r.submitted_at,
                overdue=r.state in OPEN_STATES and r.due_at < now)
            for r in db.session.execute(query)]


def dashboard_of(user) -> Dashboard:
    """The evaluator's assignments by status, with counts and progress per call: three queries
    whatever the number of assignments."""
    columns = (sa.select(Assignment.id, Assignment.state, Assignment.due_at, Assignment.declared_at,
                         Assignment.call_id, Call.code, Application.title, Review.submitted_at)
               .join(Application, Application.id == Assignment.application_id)
               .join(Call, Call.id == Assignment.call_id)
               .outerjoin(Review, Review.assignment_id == Assignment.id)
               .where(Assignment.evaluator_id == user.id))
    board = Dashboard()
    for row in _rows(columns.where(Assignment.state.in_(OPEN_STATES))
                     .order_by(Assignment.due_at, Assignment.id)):
        (board.pending if row.state == "assigned" else board.scoring).append(row)
    board.submitted = _rows(columns.where(Assignment.state == "submitted")
                            .order_by(Assignment.updated_at.desc(), Assignment.id.desc()).limit(RECENT_SUBMITTED))
    by_call: dict[int, CallProgress] = {}
    lang = current_language()
    counts: dict[str, int] = defaultdict(int)
    for call_id, code, title_lv, title_en, state, number in db.session.execute(
            sa.select(Assignment.call_id, Call.code, Call.title_lv, Call.title_en, Assignment.state, sa.func.count())
            .join(Call, Call.id == Assignment.call_id)
            .where(Assignment.evaluator_id == user.id)
            .group_by(Assignment.call_id, Call.code, Call.title_lv, Call.title_en, Assignment.state)
            .order_by(Call.code)):
        counts[state] += number
        if state not in ACTIVE_STATES:
            continue
        progress = by_call.setdefault(call_id, CallProgress(
            call_id, code, (title_en if lang == "en" else title_lv) or title_lv or title_en))
        progress.active += number
        if state == "submitted":
            progress.submitted += number
    board.counts = dict(counts)
    board.progress = list(by_call.values())
    return board


@bp.get("/")
@login_required
@roles_required(RoleCode.EVALUATOR)
def index():
    return render_template("evaluations/evaluator_dashboard.html", board=dashboard_of(current_user))


# --- One assignment -----------------------------------------------------------------------------

def _page(assignment: Assignment, *, declaration: DeclarationForm | None = None, form: ReviewForm | None = None,
          error: str | None = None, reasons: list[str] | None = None, status: int = 200):
    """The assignment's page in its current state."""
    context: dict = {"assignment": assignment, "error": error, "reasons": reasons or [],
                     "state_code": assignment.state}
    if assignment.gate_stage:  # a stage gate: the stage's results are judged with the next stage's rubric
        model = assignment.application.call.programme.stage_model
        context["gate"] = {"opens": stage_label(assignment.gate_stage, model),
                           "proves": stage_label(assignment.application.award_stage, model)}
    if assignment.state == "assigned":
        context["declaration"] = declaration or DeclarationForm()
        context["declaration_text"] = str(STANDARD_DECLARATION)
    elif assignment.state in READING_STATES:
        rubric = rubric_for(assignment.application, assignment.gate_stage)
        review = assignment.review
        context.update(rubric=rubric, review=review, snapshot=assignment.submission.snapshot,
                       sections=[s for s in assignment.application.call.form or [] if isinstance(s, dict)],
                       language=current_language())
        context["files"] = {f.get("id"): f for f in context["snapshot"].get("attachments") or []}
        context["requested"] = decimal(context["snapshot"]["application"].get("requested_amount"))
        if assignment.state == "accepted":
            if form is None:
                data = {"summary": review.summary if review else "", "version": review.version if review else None}
                for criterion in rubric.criteria:
                    score = (review.scores or {}).get(criterion.code) if review else None
                    data[f"score_{criterion.code}"] = "" if score is None else str(score)
                    comment = (review.comments or {}).get(criterion.code, "") if review else ""
                    data[f"comment_{criterion.code}"] = comment
                form = review_form(rubric.criteria, formdata=None, data=data)
            context["form"] = form
            context["missing"] = missing_parts(assignment) if request.method == "GET" else []
    return render_template("evaluations/evaluator_assignment.html", **context), status


@bp.get("/assignments/<int:assignment_id>")
@login_required
@roles_required(RoleCode.EVALUATOR)
def assignment(assignment_id: int):
    return _page(get_own_assignment(current_user, assignment_id))


@bp.post("/assignments/<int:assignment_id>/declaration")
@login_required
@roles_required(RoleCode.EVALUATOR)
def declaration(assignment_id: int):
    assignment = get_own_assignment(current_user, assignment_id)
    form = DeclarationForm()
    if not form.validate_on_submit():
        return _page(assignment, declaration=form, status=422)
    try:
        declare(assignment, current_user, form.conflict, form.statement.data)
    except UserInputError as refused:
        db.session.rollback()
        for key, messages in refused.fields.items():
            target = form._fields.get(key, form.statement)
            target.errors = list(target.errors) + messages
        return _page(get_own_assignment(current_user, assignment_id), declaration=form, status=refused.status)
    except (TransitionNotAllowed, Conflict, PermissionDenied) as refused:
        db.session.rollback()
        return _page(get_own_assignment(current_user, assignment_id), error=_reasons_text(refused),
                     status=refused.status)
    db.session.commit()
    if form.conflict:
        flash(_("You declared a conflict of interest and have been recused from this application."), "success")
    else:
        flash(_("Thank you. You may now read and score the application."), "success")
    return redirect(url_for("evaluations.assignment", assignment_id=assignment_id))


def _reasons_text(refused) -> str:
    reasons = [reason["message"] for reason in getattr(refused, "reasons", None) or []]
    return "; ".join(reasons) or str(refused)


@bp.post("/assignments/<int:assignment_id>")
@login_required
@roles_required(RoleCode.EVALUATOR)
def review(assignment_id: int):
    """Save the draft, or save it and submit it: a refused submission keeps the saved draft."""
    assignment = get_own_assignment(current_user, assignment_id)
    if assignment.state != "accepted":
        return _page(assignment, error=_("This review cannot be changed now."), status=409)
    rubric = rubric_for(assignment.application, assignment.gate_stage)
    form = review_form(rubric.criteria)
    if not form.validate_on_submit():
        return _page(assignment, form=form, status=422)
    submitting = request.form.get("action") == "submit"
    try:
        save_review(assignment, current_user, scores=form.scores(), comments=form.comments(),
                    summary=form.summary.data or "", expected_version=form.version.data)
    except UserInputError as refused:
        db.session.rollback()
        for key, messages in refused.fields.items():
            target = form.field_for(key)
            if target is not None:
                target.errors = list(target.errors) + messages
        return _page(get_own_assignment(current_user, assignment_id), form=form,
                     error=_("Nothing was saved: correct the marked fields."), status=refused.status)
    except (Conflict, PermissionDenied, NotFound) as refused:
        db.session.rollback()
        return _page(get_own_assignment(current_user, assignment_id), form=form, error=str(refused),
                     status=refused.status)
    db.session.commit()
    if not submitting:
        flash(_("The draft has been saved."), "success")
        return redirect(url_for("evaluations.assignment", assignment_id=assignment_id))
    assignment = get_own_assignment(current_user, assignment_id)
    try:
        submit_review(assignment, current_user)
    except (TransitionNotAllowed, Conflict) as refused:
        db.session.rollback()
        assignment = get_own_assignment(current_user, assignment_id)
        # The draft was saved: the page's next save must carry its new version (what is rendered is the raw value).
        form.version.data = assignment.review.version if assignment.review else None
        form.version.raw_data = [str(form.version.data or "")]
        reasons = [reason["message"] for reason in getattr(refused, "reasons", None) or []]
        return _page(assignment, form=form, reasons=reasons or [str(refused)],
                     error=_("The draft has been saved, but the review could not be submitted yet:"),
                     status=refused.status)
    db.session.commit()
    flash(_("Your review has been submitted. Thank you."), "success")
    return redirect(url_for("evaluations.assignment", assignment_id=assignment_id))


# --- Declared relations ------------------------------------------------------------------------

def _relation_form(**kwargs) -> RelationForm:
    return RelationForm(**kwargs)


def _relations_page(form: RelationForm, status: int = 200):
    return render_template("evaluations/evaluator_relations.html", relations=relations_of(current_user), form=form,
                           remove_form=RemoveRelationForm()), status


@bp.route("/relations", methods=["GET", "POST"])
@login_required
@roles_required(RoleCode.EVALUATOR)
def relations():
    form = _relation_form()
    if request.method == "GET":
        return _relations_page(form)
    if not form.validate_on_submit():
        return _relations_page(form, 422)
    try:
        relation = declare_relation(current_user, form.organisation_id.data or None, form.description.data or "",
                                    registration_number=form.registration_number.data, or_name=True)
    except UserInputError as refused:
        db.session.rollback()
        for key, messages in refused.fields.items():
            # the organisation is named in the one text input (its id is no longer a field of the page)
            target = form.registration_number if key == "organisation_id" else form._fields.get(key, form.description)
            target.errors = list(target.errors) + messages
        return _relations_page(form, refused.status)
    db.session.commit()
    flash(_("The relation with %(name)s has been recorded: you will not be assigned its applications.",
            name=relation.organisation.name), "success")
    return redirect(url_for("evaluations.relations"))


@bp.post("/relations/<int:relation_id>/remove")
@login_required
@roles_required(RoleCode.EVALUATOR)
def remove_relation_(relation_id: int):
    if not RemoveRelationForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return redirect(url_for("evaluations.relations"))
    remove_relation(current_user, relation_id)
    db.session.commit()
    flash(_("The relation has been removed."), "success")
    return redirect(url_for("evaluations.relations"))
