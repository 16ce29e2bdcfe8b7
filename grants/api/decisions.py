"""The ranked list of a call, and the committee's funding decisions (DESIGN §6, §7)."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.applications.models import Application
from grants.applications.services import get_readable
from grants.calls.models import Call
from grants.core.db import db
from grants.core.errors import NotFound, UserInputError
from grants.core.paging import PageArgs
from grants.core.roles import RoleCode
from grants.decisions.models import Decision, Outcome
from grants.decisions.ranking import RankRow, envelope_summaries, ranking_slice
from grants.decisions.services import RANKING_ROLES, decide, result_of, today

blp = Blueprint("api_decisions", __name__, description="The ranked list of a call and the committee's decisions")

def _money(**kwargs) -> ma.fields.Decimal:
    return ma.fields.Decimal(as_string=True, places=2, **kwargs)


# --- ranking -----------------------------------------------------------------------------------------

class RankingQueryArgs(PageArgs):
    """The list is paged (``page``, ``per_page``: 50 by default, at most 200) in the order of the whole list;
    ``X-Total-Count`` gives its length. ``/ranking/envelopes`` has each envelope's totals and funding line."""

    si_stage = ma.fields.String(load_default=None, metadata={"description": "Only this SI stage's envelope."})


class RankingEnvelopesArgs(ma.Schema):
    si_stage = ma.fields.String(load_default=None, metadata={"description": "Only this SI stage's envelope."})


class EnvelopeSummarySchema(ma.Schema):
    si_stage = ma.fields.String()
    envelope = _money(metadata={"description": "The stage envelope."})
    scored = ma.fields.Integer(metadata={"description": "Applications with a final score (ranked)."})
    unscored = ma.fields.Integer(metadata={"description": "Applications still in evaluation (listed last)."})
    passing = ma.fields.Integer(metadata={"description": "Ranked applications passing the threshold and minima."})
    within = ma.fields.Integer(metadata={"description": "Passing applications above the funding line."})
    reserve = ma.fields.Integer(metadata={"description": "Passing applications below the funding line."})
    line_after = ma.fields.Integer(metadata={"description": "The funding line comes after this rank (0: above "
                                                          "the first)."})
    committed = _money(metadata={"description": "The cumulative amount at the funding line."})
    remaining = _money(metadata={"description": "The envelope less the cumulative amount at the line."})
    requested = _money(metadata={"description": "Requested by the ranked applications."})
    recommended = _money(metadata={"description": "Requested by the applications above the funding line."})
    approved = _money(metadata={"description": "Approved by the committee (the approved amounts)."})
    needs_third = ma.fields.Integer(metadata={"description": "Unscored applications waiting for a third "
                                                           "evaluator."})
    start = ma.fields.Integer(metadata={"description": "How many rows of the whole list come before this "
                                                     "envelope's first (for `page` and `per_page`)."})


class RankingRowSchema(ma.Schema):
    application_id = ma.fields.Integer()
    rank = ma.fields.Integer(allow_none=True, metadata={"description": "Position in the stage envelope (null: not "
                                                                      "scored yet)."})
    si_stage = ma.fields.String()
    title = ma.fields.String()
    organisation = ma.fields.String(metadata={"description": "The applicant organisation's name."})
    state = ma.fields.String(metadata={"description": "The application's workflow state."})
    final_score = ma.fields.Float(allow_none=True, metadata={"description": "The consolidated score (null until "
                                                                    "consolidated)."})
    reviews = ma.fields.Integer(metadata={"description": "Submitted reviews."})
    needs_third = ma.fields.Boolean(metadata={"description": "The totals differ by more than the discrepancy "
                                                            "share: waiting for a third evaluator."})
    above_threshold = ma.fields.Boolean(metadata={"description": "Passes the threshold and every criterion "
                                                                "minimum."})
    failed_minima = ma.fields.List(ma.fields.String(), metadata={"description": "Codes of criteria below their "
                                                                              "minimum."})
    requested_amount = _money()
    cumulative_amount = _money(metadata={"description": "Sum, down the list, of what the passing applications "
                                                       "take (the approved amount once approved, nothing once "
                                                       "rejected, otherwise the requested amount)."})
    envelope = _money(metadata={"description": "The stage envelope."})
    within_budget = ma.fields.Boolean(metadata={"description": "Above the funding line."})
    recommendation = ma.fields.String(allow_none=True, metadata={"description": "approved, reserve or rejected "
                                                                              "(null: not scored yet)."})
    decision = ma.fields.String(allow_none=True, metadata={"description": "The committee's decision in force, if "
                                                                        "any."})


def _row(row: RankRow) -> dict:
    return {"application_id": row.application_id, "rank": row.rank, "si_stage": row.si_stage, "title": row.title,
            "organisation": row.organisation, "state": row.state,
            "final_score": float(row.final_score) if row.final_score is not None else None,
            "reviews": row.reviews, "needs_third": row.needs_third, "above_threshold": row.above_threshold,
            "failed_minima": row.failed_minima, "requested_amount": row.requested_amount,
            "cumulative_amount": row.cumulative_amount, "envelope": row.envelope, "within_budget": row.within_budget,
            "recommendation": row.recommendation, "decision": row.decision}


def _call_and_stage(call_id: int, stage: str | None) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    if stage is not None and stage not in call.stage_codes:
        raise UserInputError(fields={"si_stage": [_("The call does not fund this SI stage.")]})
    return call


@blp.route("/calls/<int:call_id>/ranking", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*RANKING_ROLES)
@blp.arguments(RankingQueryArgs, location="query")
@blp.response(200, RankingRowSchema(many=True), headers={
    "X-Total-Count": {"description": "Rows in the whole list (all pages).", "schema": {"type": "integer"}}})
@blp.alt_response(404, description="No such call.")
@blp.alt_response(422, description="The call does not fund that SI stage.")
def ranking_(args, call_id: int):
    """The ranked list, stage envelope by stage envelope in the call's order: scored applications by final
    score (ties by the call's tie-break), then those still in evaluation; one page of it (`page`, `per_page`).
    The ranks, cumulative amounts and funding line are those of the whole envelope."""
    call = _call_and_stage(call_id, args["si_stage"])
    first = (args["page"] - 1) * args["per_page"] + 1
    found = ranking_slice(call, span=(first, first + args["per_page"] - 1), si_stage=args["si_stage"])
    return [_row(row) for row in found.rows], {"X-Total-Count": str(found.total)}


@blp.route("/calls/<int:call_id>/ranking/envelopes", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*RANKING_ROLES)
@blp.arguments(RankingEnvelopesArgs, location="query")
@blp.response(200, EnvelopeSummarySchema(many=True))
@blp.alt_response(404, description="No such call.")
@blp.alt_response(422, description="The call does not fund that SI stage.")
def ranking_envelopes(args, call_id: int):
    """The ranking's totals per SI stage envelope, in the call's order: how many are ranked, above the funding
    line and on the reserve list, where the line falls and what it commits, without the rows."""
    call = _call_and_stage(call_id, args["si_stage"])
    return [{**vars(s), "remaining": s.remaining} for s in envelope_summaries(call, args["si_stage"])]


# --- decisions ---------------------------------------------------------------------------------------

class FundingDecisionInSchema(ma.Schema):
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf([o.value for o in Outcome]),
                               metadata={"description": "approved, reserve or rejected."})
    amount = ma.fields.Decimal(as_string=True, load_default=None, allow_none=True,
                                          metadata={"description": "When approving: the amount awarded, at most the "
                                                        "requested one (default: the requested amount)."})
    conditions = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=5000))
    justification = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=5000),
                                     metadata={"description": "Required when the outcome departs from the "
                                                              "ranking's recommendation."})
    decided_on = ma.fields.Date(load_default=None, allow_none=True,
                                metadata={"description": "The date the committee decided, not in the future. Give "
                                                         "it: the API contract v1 keeps it optional, so a decision "
                                                         "sent without it is dated the day it is recorded (the "
                                                         "decision page always asks for it)."})


class FundingDecisionSchema(ma.Schema):
    id = ma.fields.Integer()
    application_id = ma.fields.Integer()
    outcome = ma.fields.String(metadata={"description": "approved, reserve or rejected."})
    amount = _money(allow_none=True, metadata={"description": "The amount awarded (approved only)."})
    conditions = ma.fields.String()
    justification = ma.fields.String()
    decided_on = ma.fields.Date()
    decided_by = ma.fields.String(metadata={"description": "The committee member's name (staff only)."})
    recommended = ma.fields.String(allow_none=True, metadata={"description": "What the ranking recommended when "
                                                                           "the decision was taken."})
    rank = ma.fields.Integer(allow_none=True)
    final_score = ma.fields.Float(allow_none=True)
    departs_from_ranking = ma.fields.Boolean()
    state = ma.fields.String(metadata={"description": "The application's state after the decision."})


class DecisionCriterionFeedbackSchema(ma.Schema):
    code = ma.fields.String()
    title = ma.fields.String()
    points = ma.fields.Float(allow_none=True, metadata={"description": "Consolidated points."})
    max_points = ma.fields.Float()
    minimum = ma.fields.Float(allow_none=True)
    below_minimum = ma.fields.Boolean()
    comments = ma.fields.List(ma.fields.String(), metadata={"description": "The evaluators' comments, anonymous."})


class DecisionFeedbackSchema(ma.Schema):
    final_score = ma.fields.Float()
    max_total = ma.fields.Float()
    threshold = ma.fields.Float()
    above_threshold = ma.fields.Boolean()
    criteria = ma.fields.List(ma.fields.Nested(DecisionCriterionFeedbackSchema))
    summaries = ma.fields.List(ma.fields.String(), metadata={"description": "The evaluators' summaries, "
                                                                           "anonymous."})


class FundingDecisionReadSchema(FundingDecisionSchema):
    feedback = ma.fields.Nested(DecisionFeedbackSchema, allow_none=True,
                                metadata={"description": "The consolidated anonymous assessment."})
    appeal_deadline = ma.fields.DateTime(allow_none=True, metadata={"description": "Rejected applications: until "
                                                                                  "when the applicant may "
                                                                                  "appeal."})


def _dump(decision: Decision, application: Application, *, staff: bool) -> dict:
    data = {"id": decision.id, "application_id": decision.application_id, "outcome": decision.outcome.value,
            "amount": decision.amount, "conditions": decision.conditions or "",
            "justification": decision.justification or "", "decided_on": decision.decided_on,
            "recommended": decision.recommended, "rank": decision.rank,
            "final_score": float(decision.final_score) if decision.final_score is not None else None,
            "departs_from_ranking": bool(decision.departs_from_ranking), "state": application.state}
    if staff:
        data["decided_by"] = decision.decided_by.name
    return data


@blp.route("/applications/<int:application_id>/decision", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.COMMITTEE)
@blp.arguments(FundingDecisionInSchema)
@blp.response(201, FundingDecisionSchema)
@blp.alt_response(409, description="Not decidable from the application's state, or refused by a guard "
                                   "(`reasons`, e.g. `separation_of_duties`).")
@blp.alt_response(422, description="A future date, a wrong amount (over the requested one, outside the SI "
                                   "stage's limits, or more than the programme's budget leaves: `fields.amount`), "
                                   "or a departure from the ranking without `justification`.")
def decide_(data, application_id: int):
    """Record the committee's decision (approve, possibly reduced or with conditions; reserve; reject)."""
    application = db.session.get(Application, application_id)
    if application is None:
        raise NotFound()
    if data["decided_on"] is None:
        data["decided_on"] = today()
    decision = decide(application, current_user, data)
    db.session.commit()
    return _dump(decision, application, staff=True)


@blp.route("/applications/<int:application_id>/decision", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, FundingDecisionReadSchema)
@blp.alt_response(404, description="No such application for the caller, or no decision yet.")
def read(application_id: int):
    """The decision in force with the consolidated anonymous assessment and, after a rejection, the appeal
    deadline. Evaluators are never named; the committee member only to staff."""
    application = get_readable(current_user, application_id)
    result = result_of(application)
    if result is None:
        raise NotFound()
    return {**_dump(result.decision, application, staff=current_user.is_staff), "feedback": result.feedback,
            "appeal_deadline": result.appeal_deadline}
