"""The evaluator's API (DESIGN §6): own assignments, the conflict-of-interest declaration, the review
(draft and submission) and declared relations with organisations.

Another evaluator's assignment or review does not exist for the caller (404); before the
declaration the review is refused (403), like the application itself.
"""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.applications.models import Application
from grants.core.db import db
from grants.core.errors import PermissionDenied, TransitionNotAllowed
from grants.core.paging import PageArgs, page_of, page_schema, valid_id
from grants.core.roles import RoleCode
from grants.evaluations.models import ASSIGNMENT_STATES, Assignment, Relation, Review
from grants.evaluations.rubrics import rubric_for, rubric_for_api
from grants.evaluations.services import (
    declare,
    declare_relation,
    get_own_assignment,
    remove_relation,
    save_review,
    submit_review,
)
from grants.workflows.engine import state_label

blp = Blueprint("api_evaluations", __name__,
                description="Evaluators: own assignments, conflict-of-interest declarations, reviews, relations")


# --- schemas ----------------------------------------------------------------------------------------

class AssignmentQueryArgs(PageArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(ASSIGNMENT_STATES),
                              metadata={"description": "Only assignments in this state: "
                                                       + ", ".join(ASSIGNMENT_STATES) + "."})


class AssignmentSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "The assignment."})
    application_id = ma.fields.Integer(metadata={"description": "The application to evaluate."})
    call_id = ma.fields.Integer(metadata={"description": "Its call."})
    status = ma.fields.String(attribute="state", metadata={
        "description": "The assignment's workflow state: assigned (declaration pending), accepted (no conflict "
                       "declared: scoring), submitted (review locked), recused (conflict declared), withdrawn "
                       "(reassigned by an officer)."})
    status_label = ma.fields.Function(lambda a: state_label(a),
                                      metadata={"description": "The state's label, in the request language."})
    due_at = ma.fields.DateTime(metadata={"description": "When the review is due."})
    overdue = ma.fields.Boolean(attribute="is_overdue",
                                metadata={"description": "Still open (declaration or scoring) after the due date."})
    declared_at = ma.fields.DateTime(allow_none=True, metadata={"description": "When the conflict-of-interest "
                                                                               "declaration was made (null before)."})
    title = ma.fields.Function(lambda a: a.application.title, metadata={"description": "The application's title."})


class CriterionSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "The criterion code: the key of scores and comments."})
    title = ma.fields.String(metadata={"description": "In the request language."})
    guidance = ma.fields.String(metadata={"description": "What to look for, in the request language."})
    max_points = ma.fields.Float(metadata={"description": "Scores go from 0 to this, at most two decimals."})
    weight = ma.fields.Float(metadata={"description": "The weighted score is points × weight."})
    min_points = ma.fields.Float(allow_none=True, metadata={"description": "Below this the application fails "
                                                                           "(null: no minimum)."})


class AssignmentDetailSchema(AssignmentSchema):
    content_hash = ma.fields.String(metadata={"description": "SHA-256 of the submitted snapshot to be judged."})
    has_conflict = ma.fields.Boolean(allow_none=True, metadata={"description": "The declaration (null before)."})
    criteria = ma.fields.Method("_criteria", metadata={"description": "The rubric's criteria for this application: "
                                                                      "[{code, title, guidance, max_points, "
                                                                      "weight, min_points}]."})

    def _criteria(self, assignment: Assignment) -> list[dict]:
        return rubric_for_api(assignment.application.call.rubric, assignment.application.si_stage)


class DeclarationSchema(ma.Schema):
    has_conflict = ma.fields.Boolean(required=True, metadata={
        "description": "true: I have a conflict of interest (I am recused and a replacement is assigned); "
                       "false: I have none (the application opens to me)."})
    statement = ma.fields.String(load_default="", allow_none=True, validate=ma.validate.Length(max=5000), metadata={
        "description": "Required with a conflict: what it is. Without one, the standard declaration is recorded."})


class ReviewSchema(ma.Schema):
    scores = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(),
                            metadata={"description": "Points per criterion code."})
    comments = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(),
                              metadata={"description": "Comment per criterion code."})
    summary = ma.fields.String(metadata={"description": "The overall assessment."})
    total = ma.fields.Float(metadata={"description": "Weighted total of the scores."})
    max_total = ma.fields.Float(metadata={"description": "The highest possible total."})
    submitted = ma.fields.Boolean(metadata={"description": "Submitted and locked."})
    submitted_at = ma.fields.DateTime(allow_none=True, metadata={"description": "When it was submitted (null: a "
                                                                               "draft)."})
    content_hash = ma.fields.String(allow_none=True, metadata={"description": "SHA-256 of the snapshot judged, "
                                                                             "fixed on submission (null before)."})
    version = ma.fields.Integer(allow_none=True, metadata={"description": "Optimistic-lock version; send it back "
                                                                         "(null: nothing saved yet)."})


class ReviewInputSchema(ma.Schema):
    scores = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(allow_none=True), load_default=None,
                            metadata={"description": "Points per criterion code: numbers from 0 to the criterion's "
                                                     "max_points, at most two decimals (a null value: not scored "
                                                     "yet). Replaces the saved scores; left out, they are kept."})
    comments = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(allow_none=True), load_default=None,
                              metadata={"description": "Comment per criterion code (at most 5000 characters). "
                                                       "Replaces the saved comments; left out, they are kept."})
    summary = ma.fields.String(load_default=None, allow_none=True,
                               metadata={"description": "The overall assessment (at most 10000 characters); left "
                                                        "out, the saved one is kept."})
    submit = ma.fields.Boolean(load_default=False, metadata={
        "description": "After saving, submit and lock the review. Refused with 409 and reasons while a criterion "
                       "is unscored or the summary empty; the draft stays saved."})
    version = ma.fields.Integer(load_default=None, allow_none=True, metadata={
        "description": "The version last read; a stale one gets 409 conflict."})


class RelationSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "The relation (DELETE /relations/{id} removes it)."})
    organisation_id = ma.fields.Integer(metadata={"description": "The organisation."})
    organisation_name = ma.fields.Function(lambda r: r.organisation.name, metadata={"description": "Its name."})
    registration_number = ma.fields.Function(lambda r: r.organisation.registration_number,
                                             metadata={"description": "Its registration number."})
    description = ma.fields.String(metadata={"description": "The relation, in the evaluator's words."})
    created_at = ma.fields.DateTime(metadata={"description": "When it was declared."})


class RelationInputSchema(ma.Schema):
    organisation_id = ma.fields.Integer(load_default=None, allow_none=True, validate=valid_id,
                                        metadata={"description": "The organisation (or give registration_number)."})
    registration_number = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=50),
                                           metadata={"description": "The organisation's registration number, "
                                                                    "instead of organisation_id."})
    description = ma.fields.String(required=True, metadata={"description": "The relation: board member, employee, "
                                                                           "relative, recent contract…"})


# --- helpers ----------------------------------------------------------------------------------------

def _review(assignment: Assignment) -> dict:
    review: Review | None = assignment.review
    rubric = rubric_for(assignment.application, assignment.gate_stage)
    if review is None:
        return {"scores": {}, "comments": {}, "summary": "", "total": 0, "max_total": float(rubric.max_total),
                "submitted": False, "submitted_at": None, "content_hash": None, "version": None}
    return {"scores": review.scores or {}, "comments": review.comments or {}, "summary": review.summary,
            "total": float(review.total), "max_total": float(rubric.max_total),
            "submitted": assignment.state == "submitted" and review.submitted_at is not None,
            "submitted_at": review.submitted_at, "content_hash": review.content_hash, "version": review.version}


def _reading(assignment: Assignment) -> Assignment:
    """The assignment, once its evaluator declared no conflict (403 before, or after a recusal)."""
    if assignment.has_conflict is not False:
        raise PermissionDenied(_("Declare whether you have a conflict of interest before you read or score the "
                                 "application."))
    return assignment


# --- assignments ------------------------------------------------------------------------------------

@blp.route("/assignments", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.EVALUATOR)
@blp.arguments(AssignmentQueryArgs, location="query")
@blp.response(200, page_schema(AssignmentSchema))
def list_assignments(args):
    """The caller's own assignments, the earliest due first."""
    query = (sa.select(Assignment).where(Assignment.evaluator_id == current_user.id)
             .options(sa.orm.joinedload(Assignment.application).lazyload(Application.submissions),
                      sa.orm.lazyload(Assignment.review))
             .order_by(Assignment.due_at, Assignment.id))
    if args["status"]:
        query = query.where(Assignment.state == args["status"])
    return page_of(query, args["page"], args["per_page"])


@blp.route("/assignments/<int:assignment_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.EVALUATOR)
@blp.response(200, AssignmentDetailSchema)
def get_assignment(assignment_id: int):
    """One own assignment (404 for anyone else's) with the criteria of its rubric."""
    return get_own_assignment(current_user, assignment_id)


@blp.route("/assignments/<int:assignment_id>/declaration", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.EVALUATOR)
@blp.arguments(DeclarationSchema)
@blp.response(200, AssignmentDetailSchema)
@blp.alt_response(409, description="Already declared (the assignment is no longer waiting for a declaration).")
@blp.alt_response(422, description="A conflict without a statement.")
def declare_(data, assignment_id: int):
    """The conflict-of-interest declaration, before any access to the application: no conflict opens it to
    the evaluator; a conflict recuses them and the system assigns a replacement."""
    assignment = get_own_assignment(current_user, assignment_id)
    declare(assignment, current_user, data["has_conflict"], data.get("statement"))
    db.session.commit()
    return get_own_assignment(current_user, assignment_id)


@blp.route("/assignments/<int:assignment_id>/review", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.EVALUATOR)
@blp.response(200, ReviewSchema)
@blp.alt_response(403, description="No \"no conflict\" declaration yet.")
def get_review(assignment_id: int):
    """The caller's own review of the assignment (an empty draft when nothing is saved yet)."""
    return _review(_reading(get_own_assignment(current_user, assignment_id)))


@blp.route("/assignments/<int:assignment_id>/review", methods=["PUT"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.EVALUATOR)
@blp.arguments(ReviewInputSchema)
@blp.response(200, ReviewSchema)
@blp.alt_response(403, description="No \"no conflict\" declaration yet.")
@blp.alt_response(409, description="review_locked: already submitted; transition_not_allowed with reasons: the "
                                   "review is incomplete (the draft is saved); conflict: a stale version.")
@blp.alt_response(422, description="Scores outside 0..max_points, unknown criteria, texts too long (fields "
                                   "scores.<code>, comments.<code>, summary); nothing is saved.")
def put_review(data, assignment_id: int):
    """Save the scores, comments and summary (replacing what was saved); with ``submit``, then submit and
    lock the review."""
    assignment = _reading(get_own_assignment(current_user, assignment_id))
    saved = assignment.review
    save_review(assignment, current_user,
                scores=data["scores"] if data["scores"] is not None else dict(saved.scores if saved else {}),
                comments=data["comments"] if data["comments"] is not None else dict(saved.comments if saved else {}),
                summary=data["summary"] if data["summary"] is not None else (saved.summary if saved else ""),
                expected_version=data["version"])
    db.session.commit()
    if data["submit"]:
        assignment = get_own_assignment(current_user, assignment_id)
        try:
            submit_review(assignment, current_user)
        except TransitionNotAllowed:
            db.session.rollback()  # the draft saved above stays
            raise
        db.session.commit()
    return _review(get_own_assignment(current_user, assignment_id))


# --- relations --------------------------------------------------------------------------------------

@blp.route("/relations", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.EVALUATOR)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(RelationSchema))
def list_relations(args):
    """The caller's declared relations with organisations (never assigned their applications)."""
    query = sa.select(Relation).where(Relation.user_id == current_user.id).order_by(Relation.id)
    return page_of(query, args["page"], args["per_page"])


@blp.route("/relations", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.EVALUATOR)
@blp.arguments(RelationInputSchema)
@blp.response(201, RelationSchema)
@blp.alt_response(422, description="No such organisation, or no description.")
def add_relation(data):
    """Declare a relation with an organisation (by id or registration number); declaring it again updates
    the description."""
    relation = declare_relation(current_user, data["organisation_id"], data["description"],
                                registration_number=data["registration_number"])
    db.session.commit()
    return relation


@blp.route("/relations/<int:relation_id>", methods=["DELETE"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.EVALUATOR)
@blp.response(204)
def delete_relation(relation_id: int):
    """Withdraw a declared relation."""
    remove_relation(current_user, relation_id)
    db.session.commit()
