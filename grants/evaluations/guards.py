"""Guards the assignment and application workflows take from evaluation: a conflict described,
a review complete and judging the version now submitted, the reviews consolidated."""

from __future__ import annotations

from flask_babel import gettext as _

from grants.evaluations.services import evaluation_round, gate_evidence_hash, is_consolidated, missing_by_field
from grants.workflows.registry import Context, Reason, guard


@guard("statement_given")
def statement_given(assignment, ctx: Context) -> Reason | None:
    """A declared conflict of interest is described."""
    if str(ctx.payload.get("statement") or ctx.comment or "").strip():
        return None
    return Reason("statement_required", _("Describe the conflict of interest."))


@guard("review_complete")
def review_complete(assignment, ctx: Context) -> list[Reason] | None:
    """Every criterion of the rubric scored and the summary written."""
    return [Reason("review_incomplete", messages[0], fields={field: messages})
            for field, messages in missing_by_field(assignment).items()] or None


@guard("assessed_version_current")
def assessed_version_current(assignment, ctx: Context) -> Reason | None:
    """The review judges the version now submitted (its content hash), not an earlier one; at a stage
    gate, the stage's accepted final report."""
    if assignment.gate_stage:
        if gate_evidence_hash(assignment.application) == assignment.content_hash:
            return None
        return Reason("version_changed", _("The final report this review judges is no longer the accepted one; an "
                                           "officer must reassign it."))
    latest = assignment.application.latest_submission
    if latest is not None and latest.content_hash == assignment.content_hash:
        return None
    return Reason("version_changed", _("The application was submitted again since it was assigned; an officer must "
                                       "reassign it."))


@guard("still_in_evaluation")
def still_in_evaluation(assignment, ctx: Context) -> Reason | None:
    """The assignment's round (the selection, or its stage gate) is still being scored."""
    if evaluation_round(assignment.application) == assignment.gate_stage:
        return None
    return Reason("evaluation_closed", _("The evaluation of this application is complete; reviews can no longer be "
                                         "returned."))


@guard("evaluation_consolidated")
def evaluation_consolidated(application, ctx: Context) -> Reason | None:
    """The required reviews are in and consolidated (no third evaluation awaited)."""
    if is_consolidated(application):
        return None
    return Reason("evaluation_incomplete", _("The reviews are not all in and consolidated yet."))
