"""The officer's side of evaluation (DESIGN §6, §9): a call's rubric, its evaluator pool, its
assignments (automatic assignment, reassignment, returning a review) and its evaluation dashboard.

Officers and admins write; auditors read the pool, the assignments and the dashboard; every
staff member reads the rubric.
"""

from __future__ import annotations

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.calls.models import CALL_EDITORS, Call
from grants.core.db import db
from grants.core.errors import NotFound, UserInputError
from grants.core.paging import PageArgs, count_of, page_schema, valid_id, window
from grants.core.roles import STAFF_ROLES, RoleCode
from grants.dashboard import calls as call_dashboard
from grants.evaluations import listings as board
from grants.evaluations import services
from grants.evaluations.models import Assignment
from grants.users.models import User

blp = Blueprint("api_evaluation_admin", __name__,
                description="Evaluation set-up and assignment of a call (officers): rubric, evaluator pool, "
                            "assignments, the evaluation dashboard")

#: Who reads the pool, the assignments and the dashboard.
READERS = (RoleCode.OFFICER, RoleCode.ADMIN, RoleCode.AUDITOR)


# --- schemas ------------------------------------------------------------------------------------------

class RubricCriterionSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Short code: lowercase letters, digits and _"})
    title_lv = ma.fields.String(metadata={"description": "Title in Latvian"})
    title_en = ma.fields.String(metadata={"description": "Title in English"})
    guidance_lv = ma.fields.String(metadata={"description": "Guidance for evaluators in Latvian"})
    guidance_en = ma.fields.String(metadata={"description": "Guidance for evaluators in English"})
    max_points = ma.fields.Raw(metadata={"description": "Maximum points (a number, at most two decimals)"})
    weight = ma.fields.Raw(metadata={"description": "Weight: the weighted score is points × weight"})
    min_points = ma.fields.Raw(allow_none=True, metadata={"description": "Minimum points to pass, or null"})


class CallRubricSchema(ma.Schema):
    call_id = ma.fields.Integer(metadata={"description": "The call"})
    editable = ma.fields.Boolean(metadata={"description": "Whether the rubric may still be changed (a draft call)"})
    rubric_hash = ma.fields.String(metadata={"description": "Send it back with PUT to notice a stale edit"})
    criteria = ma.fields.List(ma.fields.Nested(RubricCriterionSchema), metadata={"description": "The call's criteria"})
    threshold = ma.fields.Raw(metadata={"description": "Pass mark for the weighted total"})
    stages = ma.fields.Dict(metadata={"description": "Optional rubrics by SI stage code: {criteria, threshold}"})
    evaluators_required = ma.fields.Integer(metadata={"description": "Independent reviews per application"})
    discrepancy_percent = ma.fields.Raw(metadata={"description": "A third evaluator when the totals differ by "
                                                                 "more than this share (%) of the higher"})
    review_days = ma.fields.Integer(metadata={"description": "Days an evaluator has for a review"})
    tie_break = ma.fields.String(metadata={"description": "earlier_submission or lower_amount"})


class CallRubricInputSchema(ma.Schema):
    """The rubric as GET returns it; numbers are checked by the rubric's own validation (422 naming
    `criteria.<index>.<field>`, `threshold`, `stages.<code>…`)."""

    class Meta:
        unknown = ma.EXCLUDE

    criteria = ma.fields.Raw(metadata={"description": "[{code, title_lv, title_en, guidance_lv, guidance_en, "
                                                      "max_points, weight, min_points}]"})
    threshold = ma.fields.Raw(metadata={"description": "Pass mark for the weighted total"})
    stages = ma.fields.Raw(allow_none=True, metadata={"description": "Optional rubrics by SI stage code"})
    evaluators_required = ma.fields.Raw(metadata={"description": "1 to 5 (default 2)"})
    discrepancy_percent = ma.fields.Raw(metadata={"description": "Above 0, up to 100 (default 30)"})
    review_days = ma.fields.Raw(metadata={"description": "1 to 120 (default 14)"})
    tie_break = ma.fields.Raw(metadata={"description": "earlier_submission (default) or lower_amount"})
    rubric_hash = ma.fields.String(load_default=None, allow_none=True,
                                   metadata={"description": "The hash read with the rubric; when given and the "
                                                            "rubric changed since, 409 `conflict`"})


class CallEvaluatorSchema(ma.Schema):
    user_id = ma.fields.Integer(metadata={"description": "The evaluator's user id"})
    name = ma.fields.String(metadata={"description": "The evaluator's name"})
    email = ma.fields.String(metadata={"description": "The evaluator's e-mail"})
    is_active = ma.fields.Boolean(metadata={"description": "Whether the account is active"})
    added_at = ma.fields.DateTime(metadata={"description": "When they joined the pool"})
    open_assignments = ma.fields.Integer(metadata={"description": "Open assignments across all calls"})
    open_in_call = ma.fields.Integer(metadata={"description": "Open assignments in this call"})
    submitted_in_call = ma.fields.Integer(metadata={"description": "Reviews submitted in this call"})


class CallEvaluatorAddSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True, validate=valid_id,
                                metadata={"description": "A user holding the evaluator role"})


class CallAssignmentSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "The assignment"})
    application_id = ma.fields.Integer(metadata={"description": "The application to evaluate"})
    evaluator_id = ma.fields.Integer(metadata={"description": "The evaluator's user id"})
    evaluator = ma.fields.String(metadata={"description": "The evaluator's name"})
    status = ma.fields.String(metadata={"description": "assigned, accepted, submitted, recused or withdrawn"})
    due_at = ma.fields.DateTime(metadata={"description": "When the review is due"})
    overdue = ma.fields.Boolean(metadata={"description": "Open and past its due date"})
    reason = ma.fields.String(metadata={"description": "auto, third, replacement or manual"})
    replaces_id = ma.fields.Integer(allow_none=True, metadata={"description": "The assignment this one replaces"})
    total = ma.fields.Float(allow_none=True, metadata={"description": "The weighted total of a submitted review "
                                                                      "(null until submitted)"})


class CallAssignmentListArgs(PageArgs):
    status = ma.fields.String(load_default=None, metadata={"description": "Only assignments in this state"})
    application_id = ma.fields.Integer(load_default=None, validate=valid_id,
                                       metadata={"description": "Only this application's"})


class AutoAssignmentSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "The new assignment"})
    application_id = ma.fields.Integer(metadata={"description": "The application"})
    evaluator_id = ma.fields.Integer(metadata={"description": "The evaluator's user id"})
    due_at = ma.fields.DateTime(metadata={"description": "When the review is due"})


class ShortfallSchema(ma.Schema):
    application_id = ma.fields.Integer(metadata={"description": "An application in evaluation"})
    missing = ma.fields.Integer(metadata={"description": "Evaluators it still lacks (no one else in the pool is "
                                                         "free of conflicts)"})


class AutoAssignResultSchema(ma.Schema):
    created = ma.fields.Integer(metadata={"description": "How many assignments were made"})
    assignments = ma.fields.List(ma.fields.Nested(AutoAssignmentSchema),
                                 metadata={"description": "The assignments made"})
    short = ma.fields.List(ma.fields.Nested(ShortfallSchema),
                           metadata={"description": "Applications still short of evaluators"})


class ReassignInputSchema(ma.Schema):
    comment = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000),
                               metadata={"description": "Why the assignment is withdrawn (required)"})
    evaluator_id = ma.fields.Integer(load_default=None, allow_none=True, validate=valid_id,
                                     metadata={"description": "The new evaluator; left out: the least loaded "
                                                              "pool member free of conflicts"})


class ReassignResultSchema(ma.Schema):
    withdrawn = ma.fields.Nested(CallAssignmentSchema, metadata={"description": "The assignment withdrawn"})
    replacement = ma.fields.Nested(CallAssignmentSchema, allow_none=True,
                                   metadata={"description": "The new assignment, or null when no one in the pool "
                                                            "is free of conflicts"})


class ReturnReviewInputSchema(ma.Schema):
    comment = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000),
                               metadata={"description": "What the evaluator should correct (required)"})


class EvaluationFunnelSchema(ma.Schema):
    state = ma.fields.String(metadata={"description": "An application state of the call's workflow"})
    label = ma.fields.String(metadata={"description": "The state's label in the request language"})
    count = ma.fields.Integer(metadata={"description": "Applications in that state"})


class EvaluationProgressSchema(ma.Schema):
    assignments = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                                 metadata={"description": "Assignments by state"})
    reviews_submitted = ma.fields.Integer(metadata={"description": "Reviews submitted"})
    reviews_required = ma.fields.Integer(metadata={"description": "Reviews the applications in (or past) evaluation "
                                                                  "need, third evaluations included"})
    percent = ma.fields.Integer(metadata={"description": "Submitted as a share of required"})


class EvaluationDiscrepancySchema(ma.Schema):
    application_id = ma.fields.Integer(metadata={"description": "The application"})
    title = ma.fields.String(metadata={"description": "Its title"})
    totals = ma.fields.List(ma.fields.Float(), metadata={"description": "The totals of its submitted reviews"})
    third_assigned = ma.fields.Boolean(metadata={"description": "Whether a third evaluator is assigned"})


class EvaluationShortfallSchema(ShortfallSchema):
    title = ma.fields.String(metadata={"description": "Its title"})
    assigned = ma.fields.Integer(metadata={"description": "Evaluators assigned (still counting)"})


class OverdueAssignmentSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "The assignment"})
    application_id = ma.fields.Integer(metadata={"description": "The application"})
    evaluator_id = ma.fields.Integer(metadata={"description": "The evaluator's user id"})
    evaluator = ma.fields.String(metadata={"description": "The evaluator's name"})
    status = ma.fields.String(metadata={"description": "assigned or accepted"})
    due_at = ma.fields.DateTime(metadata={"description": "When it was due"})


class EvaluationEnvelopeSchema(ma.Schema):
    si_stage = ma.fields.String(metadata={"description": "The SI stage"})
    envelope = ma.fields.Decimal(places=2, as_string=True, metadata={"description": "The stage's budget envelope"})
    requested = ma.fields.Decimal(places=2, as_string=True,
                                  metadata={"description": "Requested by the applications with a final score"})
    recommended = ma.fields.Decimal(places=2, as_string=True,
                                    metadata={"description": "Requested by those within the funding line"})
    approved = ma.fields.Decimal(places=2, as_string=True, metadata={"description": "Approved by the committee"})
    scored = ma.fields.Integer(metadata={"description": "Applications with a final score"})


class EvaluationTopSchema(ma.Schema):
    application_id = ma.fields.Integer(metadata={"description": "The application"})
    si_stage = ma.fields.String(metadata={"description": "Its SI stage (each stage is ranked on its own)"})
    rank = ma.fields.Integer(metadata={"description": "Its rank in the stage"})
    final_score = ma.fields.Float(metadata={"description": "The final score"})
    cumulative_amount = ma.fields.Decimal(places=2, as_string=True,
                                          metadata={"description": "Cumulative amount down to this row"})
    within_budget = ma.fields.Boolean(metadata={"description": "Above the funding line"})


class EvaluationDashboardSchema(ma.Schema):
    call_id = ma.fields.Integer(metadata={"description": "The call"})
    applications = ma.fields.Integer(metadata={"description": "Applications of the call"})
    funnel = ma.fields.List(ma.fields.Nested(EvaluationFunnelSchema),
                            metadata={"description": "Applications per state, in workflow order"})
    progress = ma.fields.Nested(EvaluationProgressSchema, metadata={"description": "Evaluation progress"})
    discrepancies = ma.fields.List(ma.fields.Nested(EvaluationDiscrepancySchema),
                                   metadata={"description": "Applications waiting for a third evaluator"})
    short = ma.fields.List(ma.fields.Nested(EvaluationShortfallSchema),
                           metadata={"description": "Applications in evaluation short of evaluators (the first 50)"})
    short_total = ma.fields.Integer(metadata={"description": "How many applications are short of evaluators"})
    overdue = ma.fields.List(ma.fields.Nested(OverdueAssignmentSchema),
                             metadata={"description": "Overdue assignments, earliest due first (the first 50)"})
    overdue_total = ma.fields.Integer(metadata={"description": "How many assignments are overdue"})
    envelopes = ma.fields.List(ma.fields.Nested(EvaluationEnvelopeSchema),
                               metadata={"description": "Budget per SI stage"})
    top = ma.fields.List(ma.fields.Nested(EvaluationTopSchema),
                         metadata={"description": "The top of the ranking per stage"})


# --- helpers ------------------------------------------------------------------------------------------

def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


def _rubric(call: Call) -> dict:
    return {**(call.rubric or {}), "call_id": call.id, "editable": services.is_rubric_editable(call),
            "rubric_hash": services.rubric_hash(call)}


def _officer_assignment(assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound()
    return assignment


# --- the rubric ---------------------------------------------------------------------------------------

@blp.route("/calls/<int:call_id>/rubric", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*STAFF_ROLES)
@blp.response(200, CallRubricSchema)
def read_rubric(call_id: int):
    """The call's rubric and evaluation settings, with the hash to send back when changing it."""
    return _rubric(_call(call_id))


@blp.route("/calls/<int:call_id>/rubric", methods=["PUT"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.arguments(CallRubricInputSchema)
@blp.response(200, CallRubricSchema)
@blp.alt_response(409, description="The call is published (`not_editable`: the rubric is frozen with it), or the "
                                   "rubric changed since `rubric_hash` was read (`conflict`).")
@blp.alt_response(422, description="The rubric cannot be used; `fields` names each problem "
                                   "(`criteria.2.max_points`, `threshold`, `stages.scaling.criteria`…).")
def replace_rubric(data, call_id: int):
    """Replace a draft call's rubric (audited as `call.rubric_update`)."""
    call = _call(call_id)
    expected = data.pop("rubric_hash", None)
    services.update_rubric(call, current_user, data, expected)
    db.session.commit()
    return _rubric(call)


# --- the pool -----------------------------------------------------------------------------------------

@blp.route("/calls/<int:call_id>/evaluators", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(CallEvaluatorSchema))
def list_pool(args, call_id: int):
    """The call's evaluator pool, by name, with each member's open workload."""
    members, total = board.pool_page(_call(call_id), args["page"], args["per_page"])
    return {"items": [board.pool_item(member) for member in members], "total": total, "page": args["page"]}


@blp.route("/calls/<int:call_id>/evaluators", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.arguments(CallEvaluatorAddSchema)
@blp.response(201, CallEvaluatorSchema)
@blp.alt_response(422, description="The user is unknown or does not hold the evaluator role (`user_id`).")
def add_to_pool(data, call_id: int):
    """Add an evaluator to the call's pool (audited as `call.evaluator_added`); adding a member again changes
    nothing."""
    call = _call(call_id)
    user = db.session.get(User, data["user_id"])
    if user is None:
        raise UserInputError(fields={"user_id": [_("There is no such user.")]})
    services.add_to_pool(call, user, current_user)
    db.session.commit()
    row = db.session.execute(board.pool_query(call).where(User.id == user.id)).one()
    return board.pool_item(row)


@blp.route("/calls/<int:call_id>/evaluators/<int:user_id>", methods=["DELETE"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.response(204)
@blp.alt_response(404, description="The user is not in the call's pool.")
def remove_from_pool(call_id: int, user_id: int):
    """Take an evaluator out of the pool; their open assignments stay until they are reassigned."""
    services.remove_from_pool(_call(call_id), user_id, current_user)
    db.session.commit()


# --- assignments ----------------------------------------------------------------------------------------

@blp.route("/calls/<int:call_id>/assignments", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*READERS)
@blp.arguments(CallAssignmentListArgs, location="query")
@blp.response(200, page_schema(CallAssignmentSchema))
def list_assignments(args, call_id: int):
    """Every assignment of the call, by application; `total` only for submitted reviews. Filters `status`,
    `application_id`."""
    query = board.assignments_query(_call(call_id))
    if args.get("status"):
        query = query.where(Assignment.state == args["status"])
    if args.get("application_id") is not None:
        query = query.where(Assignment.application_id == args["application_id"])
    rows = board.assignment_rows(window(query, args["page"], args["per_page"]))
    return {"items": [board.assignment_item(row) for row in rows], "total": count_of(query), "page": args["page"]}


@blp.route("/calls/<int:call_id>/assignments/auto", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.response(200, AutoAssignResultSchema)
def auto_assign(call_id: int):
    """Assign evaluators to every application in evaluation that lacks them: the least loaded pool members,
    never a member of the applicant organisation or one who declared a relation with it."""
    report = services.auto_assign(_call(call_id), current_user)
    result = {"created": len(report.created),
              "assignments": [{"id": a.id, "application_id": a.application_id, "evaluator_id": a.evaluator_id,
                               "due_at": a.due_at} for a in report.created],
              "short": [{"application_id": app_id, "missing": missing}
                        for app_id, missing in sorted(report.short.items())]}
    db.session.commit()
    return result


@blp.route("/assignments/<int:assignment_id>/reassign", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.arguments(ReassignInputSchema)
@blp.response(200, ReassignResultSchema)
@blp.alt_response(409, description="The assignment is not open (declaration pending or scoring).")
@blp.alt_response(422, description="No comment, or the evaluator chosen may not evaluate the application.")
def reassign(data, assignment_id: int):
    """Withdraw an open assignment, saying why (audited as `assignment.withdraw_assignment`), and give the
    application another evaluator: the one chosen, or the least loaded one free of conflicts."""
    assignment = _officer_assignment(assignment_id)
    comment = data["comment"].strip()
    if not comment:
        raise UserInputError(fields={"comment": [_("Say why the assignment is withdrawn.")]})
    evaluator = None
    if data.get("evaluator_id") is not None:
        evaluator = db.session.get(User, data["evaluator_id"])
        if evaluator is None:
            raise UserInputError(fields={"evaluator_id": [_("There is no such user.")]})
    replacement = services.reassign(assignment, current_user, comment, evaluator)
    result = {"withdrawn": board.assignment_of(assignment),
              "replacement": board.assignment_of(replacement) if replacement is not None else None}
    db.session.commit()
    return result


@blp.route("/assignments/<int:assignment_id>/return", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.arguments(ReturnReviewInputSchema)
@blp.response(200, CallAssignmentSchema)
@blp.alt_response(409, description="The review is not submitted, or the application has left evaluation.")
def return_review(data, assignment_id: int):
    """Return a submitted review to its evaluator for correction, saying what to correct (audited)."""
    assignment = _officer_assignment(assignment_id)
    comment = data["comment"].strip()
    if not comment:
        raise UserInputError(fields={"comment": [_("Say what the evaluator should correct.")]})
    services.return_review(assignment, current_user, comment)
    result = board.assignment_of(assignment)
    db.session.commit()
    return result


# --- the dashboard --------------------------------------------------------------------------------------

@blp.route("/calls/<int:call_id>/evaluation", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*READERS)
@blp.response(200, EvaluationDashboardSchema)
def evaluation(call_id: int):
    """The call's evaluation dashboard: applications by state, evaluation progress, discrepancies waiting for
    a third evaluator, applications short of evaluators, overdue assignments, budget per SI stage envelope and
    the top of the ranking."""
    return call_dashboard.dashboard_data(call_dashboard.dashboard(_call(call_id)))
