"""The officer's pages for a call's evaluation (DESIGN §6, §9): the rubric (edited while the call is
a draft), the evaluator pool, the assignments (automatic assignment, reassignment, returning a
review for correction); the per-call evaluation dashboard is grants.dashboard.views.

Officers and admins change; auditors read the pool and the assignments; every
staff member may read the rubric; anyone else gets 403.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from grants.applications.listing import read_selection
from grants.calls.models import CALL_EDITORS, Call
from grants.core.db import db
from grants.core.errors import Conflict, GrantsError, NotFound, UserInputError
from grants.core.i18n import current_language
from grants.core.input_guard import MAX_ID
from grants.core.roles import STAFF_ROLES, RoleCode
from grants.core.security import roles_required
from grants.evaluations import listings as board
from grants.evaluations import services
from grants.evaluations.models import OPEN_STATES, Assignment
from grants.evaluations.officer_forms import (
    ConfirmForm,
    PoolAddForm,
    ReassignForm,
    ReturnForm,
    RubricForm,
    place_errors,
    rubric_form_data,
    rubric_from,
)
from grants.evaluations.rubrics import TIE_BREAKS, RubricError, rubric_of
from grants.users.models import User
from grants.users.services import find_user_by_email

bp = Blueprint("call_evaluation", __name__, url_prefix="/calls")

#: Who changes a call's evaluation set-up and runs its assignment.
EDITORS = CALL_EDITORS
#: Who reads the pool, the assignments and the dashboard.
READERS = (RoleCode.OFFICER, RoleCode.ADMIN, RoleCode.AUDITOR)
#: Rows a page of the pool and of the assignments shows; the highest page number asked for.
PER_PAGE = 50
MAX_PAGE = 100_000


def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


def _may_change() -> bool:
    return current_user.has_any_role(*EDITORS)


def _failed(error: GrantsError) -> str:
    """Roll back what a refused operation left, and its message for a flash."""
    db.session.rollback()
    if isinstance(error, UserInputError) and error.fields:
        return " ".join(message for messages in error.fields.values() for message in messages)
    return str(error.message or error.default_message)


# --- the rubric ---------------------------------------------------------------------------------------

def _rubric_page(call: Call, form: RubricForm | None = None, status: int = 200):
    editable = services.is_rubric_editable(call) and _may_change()
    if form is None and editable:
        form = RubricForm(formdata=None, data=rubric_form_data(call.rubric or {}, services.rubric_hash(call)))
    rubric = call.rubric or {}
    stage_rubrics = {code: rubric_of(rubric, code) for code in (rubric.get("stages") or {})}
    return render_template("evaluations/officer_rubric.html", call=call, form=form, editable=editable,
                           frozen=not services.is_rubric_editable(call), rubric=rubric_of(rubric),
                           stage_rubrics=stage_rubrics, tie_breaks=TIE_BREAKS, raw=rubric,
                           language=current_language(), section="rubric"), status


@bp.get("/<int:call_id>/rubric")
@roles_required(*STAFF_ROLES)
def rubric(call_id: int):
    return _rubric_page(_call(call_id))


@bp.post("/<int:call_id>/rubric")
@roles_required(*EDITORS)
def save_rubric(call_id: int):
    call = _call(call_id)
    if not services.is_rubric_editable(call):
        flash(str(services.RubricNotEditable().message), "error")
        return _rubric_page(call, status=409)
    form = RubricForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            form.general.append(_("The form has expired. Please send it again."))
        return _rubric_page(call, form, 422)
    data = rubric_from(form)
    if data is None:
        return _rubric_page(call, form, 422)
    try:
        services.update_rubric(call, current_user, data, form.rubric_hash.data or None)
    except RubricError as error:
        db.session.rollback()
        place_errors(form, error.fields)
        return _rubric_page(_call(call_id), form, 422)
    except Conflict as error:
        db.session.rollback()
        form.general.append(str(error.message or error.default_message))
        return _rubric_page(_call(call_id), form, 409)
    db.session.commit()
    flash(_("The rubric was saved."), "success")
    return redirect(url_for("call_evaluation.rubric", call_id=call_id))


# --- the evaluator pool ---------------------------------------------------------------------------------

def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def _pages(total: int) -> int:
    return max((total + PER_PAGE - 1) // PER_PAGE, 1)


def _pool_page(call: Call, form: PoolAddForm | None = None, status: int = 200):
    page = _page()
    members, total = board.pool_page(call, page, PER_PAGE)
    may_change = _may_change()
    candidates = board.pool_candidates(call) if may_change else []
    if form is None:
        form = PoolAddForm(formdata=None)
    form.user_id.choices = [(0, _("Choose an evaluator"))] + [(id_, f"{name} ({email})")
                                                             for id_, name, email in candidates]
    return render_template("evaluations/officer_evaluators.html", call=call, members=members, form=form,
                           candidates=candidates, may_change=may_change, confirm=ConfirmForm(formdata=None),
                           total=total, page=page, pages=_pages(total), section="evaluators"), status


@bp.get("/<int:call_id>/evaluators")
@roles_required(*READERS)
def evaluators(call_id: int):
    return _pool_page(_call(call_id))


@bp.post("/<int:call_id>/evaluators")
@roles_required(*EDITORS)
def add_evaluator(call_id: int):
    call = _call(call_id)
    form = PoolAddForm()
    form.user_id.choices = None  # any id: the service says whether it may join
    form.user_id.validate_choice = False
    if not form.validate_on_submit():
        return _pool_page(call, form, 422)
    user = db.session.get(User, form.user_id.data)
    if user is None:
        form.user_id.errors = [_("Choose an evaluator.")]
        return _pool_page(call, form, 422)
    try:
        services.add_to_pool(call, user, current_user)
    except UserInputError as error:
        db.session.rollback()
        form.user_id.errors = [message for messages in error.fields.values() for message in messages]
        return _pool_page(_call(call_id), form, 422)
    db.session.commit()
    flash(_("%(name)s was added to the evaluator pool.", name=user.name), "success")
    return redirect(url_for("call_evaluation.evaluators", call_id=call_id))


@bp.post("/<int:call_id>/evaluators/<int:user_id>/remove")
@roles_required(*EDITORS)
def remove_evaluator(call_id: int, user_id: int):
    call = _call(call_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return redirect(url_for("call_evaluation.evaluators", call_id=call_id))
    services.remove_from_pool(call, user_id, current_user)
    db.session.commit()
    flash(_("The evaluator was removed from the pool. Their open assignments stay until you reassign them."),
          "success")
    return redirect(url_for("call_evaluation.evaluators", call_id=call_id))


# --- assignments ----------------------------------------------------------------------------------------

def _pool_choices(call: Call) -> list[tuple[int, str]]:
    """The active pool members, offered once per page (a datalist) to every reassignment form."""
    return [(user_id, f"{name} ({email})") for user_id, name, email in board.pool_choices(call)]


def _filters() -> dict[str, object]:
    """The assignments page's filters from the query string; a value it does not know is left out."""
    state = (request.args.get("state") or "").strip()
    application_id = request.args.get("application_id", type=int)
    return {"state": state if state in board.assignment_states() else None,
            "application_id": application_id if application_id is not None and 1 <= application_id <= MAX_ID
            else None}


def _assignments_url(call_id: int, application_id: int) -> str:
    """Back to the application's assignments (the list is paged: its own filter finds it on any page)."""
    return url_for("call_evaluation.assignments", call_id=call_id, application_id=application_id,
                   _anchor=f"app-{application_id}")


def _assignments_page(call: Call, *, forms: dict[str, object] | None = None, status: int = 200,
                      filters: dict[str, object] | None = None):
    filters = _filters() if filters is None else filters
    page = _page()
    listing = board.assignments_page(call, page=page, per_page=PER_PAGE, **filters)
    groups = listing.groups
    may_change = _may_change()
    choices = _pool_choices(call) if may_change else []
    reassign_forms: dict[int, ReassignForm] = {}
    return_forms: dict[int, ReturnForm] = {}
    forms = forms or {}
    if may_change:
        for group in groups:
            for row in group.assignments:
                if row.is_open:
                    reassign_forms[row.id] = (forms.get(f"reassign-{row.id}")
                                              or ReassignForm(formdata=None, prefix=f"r{row.id}"))
                elif row.state == "submitted" and group.in_evaluation:
                    return_forms[row.id] = forms.get(f"return-{row.id}") or ReturnForm(formdata=None,
                                                                                      prefix=f"b{row.id}")
    states = [(code, board.assignment_state_label(code)) for code in board.assignment_states()]
    return render_template("evaluations/officer_assignments.html", call=call, groups=groups,
                           may_change=may_change, reassign_forms=reassign_forms, return_forms=return_forms,
                           confirm=ConfirmForm(formdata=None), short=board.short_of_evaluators(call),
                           choices=choices, filters=filters, states=states, total=listing.total,
                           total_is_estimate=listing.total_is_estimate, page=page, pages=listing.pages,
                           section="assignments"), status


@bp.get("/<int:call_id>/assignments")
@roles_required(*READERS)
def assignments(call_id: int):
    return _assignments_page(_call(call_id))


@bp.post("/<int:call_id>/assignments/auto")
@roles_required(*EDITORS)
def auto_assign(call_id: int):
    call = _call(call_id)
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return redirect(url_for("call_evaluation.assignments", call_id=call_id))
    try:
        report = services.auto_assign(call, current_user)
    except GrantsError as error:
        flash(_failed(error), "error")
        return redirect(url_for("call_evaluation.assignments", call_id=call_id))
    created, short = len(report.created), dict(report.short)
    db.session.commit()
    flash(_("Assignments made: %(count)d.", count=created), "success")
    if short:
        listed = ", ".join(f"#{app_id} ({missing})" for app_id, missing in sorted(short.items()))
        flash(_("Applications short of evaluators (how many are missing): %(list)s. Add evaluators to the pool "
                "and assign again.", list=listed), "error")
    return redirect(url_for("call_evaluation.assignments", call_id=call_id))


@bp.post("/assignments/auto")
@roles_required(*EDITORS)
def auto_assign_selected():
    """Automatic assignment for the applications ticked on the applications list (whatever their calls);
    back to the list, saying per application what was done or why not."""
    ids, back = read_selection(ConfirmForm(), current_user)
    if ids is None:
        return redirect(back)
    try:
        outcomes = services.auto_assign_selected(ids, current_user)
    except GrantsError as error:
        flash(_failed(error), "error")
        return redirect(back)
    db.session.commit()
    for category, message in _selected_messages(outcomes):
        flash(message, category)
    return redirect(back)


def _selected_messages(outcomes: list[services.SelectedOutcome]) -> list[tuple[str, str]]:
    """One message per kind of outcome, naming its applications (with how many evaluators each got or lacks)."""
    listed: dict[str, list[str]] = {}
    for item in outcomes:
        detail = {"assigned": len(item.created), "partly_assigned": f"{len(item.created)}/{item.missing}",
                  "no_evaluator": item.missing}.get(item.outcome)
        listed.setdefault(item.outcome, []).append(f"#{item.application_id}" + (f" ({detail})" if detail else ""))
    messages = []
    for outcome, names in listed.items():
        text = ", ".join(names)
        if outcome == "assigned":
            messages.append(("success", _("Evaluators assigned (how many): %(list)s.", list=text)))
        elif outcome == "partly_assigned":
            messages.append(("error", _("Some evaluators assigned, but the pool has too few free of conflicts "
                                        "(assigned/still missing): %(list)s. Add evaluators to the call's pool "
                                        "and assign again.", list=text)))
        elif outcome == "no_evaluator":
            messages.append(("error", _("Nobody in the call's pool may evaluate these (how many are missing): "
                                        "%(list)s. Add evaluators to the pool and assign again.", list=text)))
        elif outcome == "complete":
            messages.append(("info", _("These already have the evaluators they need: %(list)s.", list=text)))
        else:
            messages.append(("info", _("Not in evaluation or at a stage gate, so nothing was assigned: %(list)s.",
                                       list=text)))
    return messages


def _assignment(call: Call, assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.call_id != call.id:
        raise NotFound()
    return assignment


def _only(assignment: Assignment) -> dict[str, object]:
    """The filters showing ``assignment`` again (a refused form on its own application's list)."""
    return {"state": None, "application_id": assignment.application_id}


@bp.post("/<int:call_id>/assignments/<int:assignment_id>/reassign")
@roles_required(*EDITORS)
def reassign(call_id: int, assignment_id: int):
    call = _call(call_id)
    assignment = _assignment(call, assignment_id)
    form = ReassignForm(prefix=f"r{assignment_id}")
    if not form.validate_on_submit():
        return _assignments_page(call, forms={f"reassign-{assignment_id}": form}, status=422,
                                     filters=_only(assignment))
    # the service checks the evaluator chosen (in the pool, active, free of conflicts)
    chosen, email = form.chosen(), form.chosen_email()
    evaluator = (db.session.get(User, chosen) if chosen is not None
                 else find_user_by_email(email) if email
                 else None)
    if (chosen is not None or email) and evaluator is None:
        form.evaluator_id.errors = [_("Choose an active evaluator.")]
        return _assignments_page(call, forms={f"reassign-{assignment_id}": form}, status=422,
                                     filters=_only(assignment))
    if assignment.state not in OPEN_STATES:
        flash(_("Only an open assignment can be reassigned."), "error")
        return redirect(url_for("call_evaluation.assignments", call_id=call_id))
    try:
        replacement = services.reassign(assignment, current_user, form.comment.data.strip(), evaluator)
    except UserInputError as error:
        db.session.rollback()
        call = _call(call_id)
        form.evaluator_id.errors = [m for messages in error.fields.values() for m in messages] or [str(error)]
        return _assignments_page(call, forms={f"reassign-{assignment_id}": form}, status=422,
                                     filters=_only(assignment))
    except GrantsError as error:
        flash(_failed(error), "error")
        return redirect(url_for("call_evaluation.assignments", call_id=call_id))
    name = replacement.evaluator.name if replacement is not None else None
    db.session.commit()
    if name:
        flash(_("The assignment was withdrawn and given to %(name)s.", name=name), "success")
    else:
        flash(_("The assignment was withdrawn, but no other evaluator in the pool is free of conflicts. Add "
                "evaluators to the pool and assign again."), "error")
    return redirect(_assignments_url(call_id, assignment.application_id))


@bp.post("/<int:call_id>/assignments/<int:assignment_id>/return")
@roles_required(*EDITORS)
def return_review(call_id: int, assignment_id: int):
    call = _call(call_id)
    assignment = _assignment(call, assignment_id)
    form = ReturnForm(prefix=f"b{assignment_id}")
    if not form.validate_on_submit():
        return _assignments_page(call, forms={f"return-{assignment_id}": form}, status=422,
                                 filters=_only(assignment))
    try:
        services.return_review(assignment, current_user, form.comment.data.strip())
    except GrantsError as error:
        flash(_failed(error), "error")
        return redirect(url_for("call_evaluation.assignments", call_id=call_id))
    application_id = assignment.application_id
    db.session.commit()
    flash(_("The review was returned to the evaluator for correction."), "success")
    return redirect(_assignments_url(call_id, application_id))
