"""Effects of the application workflows: the snapshot of a submission, the receipts and
questions sent to the applicant, appeals, and the stages a stage-gated award moves through."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from grants.applications import notices
from grants.applications.models import Submission
from grants.applications.services import next_award_stage
from grants.applications.services import take_snapshot as freeze
from grants.core.db import db
from grants.workflows.engine import available_triggers, fire
from grants.workflows.history import register_action_labels
from grants.workflows.registry import Context, effect

register_action_labels({
    "application.create": _l("Application started"),
    "application.update": _l("Application changed"),
    "attachment.upload": _l("File attached"),
    "attachment.remove": _l("File removed"),
})


@effect("remember_appeal_origin")
def remember_appeal_origin(obj, ctx: Context) -> None:
    """An upheld appeal returns the application to the step the appealed decision came from."""
    obj.appealed_from = ctx.source


@effect("notify_appeal_outcome", phase="after_save")
def notify_appeal_outcome(obj, ctx: Context) -> None:
    """The applicant learns whether the appeal was upheld or dismissed, and the officer's reasons."""
    notices.notify_appeal_outcome(obj, upheld=ctx.trigger == "uphold_appeal", against=obj.appealed_from or "",
                                  reasons=(ctx.comment or "").strip())


@effect("record_stage_evidence")
def record_stage_evidence(obj, ctx: Context) -> None:
    """The results of the stage the award funds are accepted: evidence for the initiative (the stage
    goes into the transition's audit event, which dates the proof)."""
    if obj.award_stage not in (obj.proven_stages or []):
        obj.proven_stages = [*(obj.proven_stages or []), obj.award_stage]
    ctx.payload["proven_stage"] = obj.award_stage


@effect("advance_award_stage")
def advance_award_stage(obj, ctx: Context) -> None:
    """A passed gate releases the next stage of a stage-gated award."""
    following = next_award_stage(obj)
    if following is None:  # the guard has_next_award_stage admits only awards with one
        raise RuntimeError(f"application {obj.id}: no stage after {obj.award_stage}")
    obj.award_stage = following


@effect("advance_initiative", phase="after_save")
def advance_initiative(obj, ctx: Context) -> None:
    """Money follows proven progress: the initiative moves to its next stage when the stage it
    stands at is the one this grant has just proven. It is fired as the system, through the
    engine, and audited on the initiative."""
    initiative = obj.initiative
    if initiative.current_stage not in (obj.proven_stages or []):
        return  # already past it (another grant), or a stage the initiative is not at
    if any(option["trigger"] == "advance" for option in available_triggers(initiative, None)):
        fire(initiative, "advance", None, application_id=obj.id)


@effect("take_snapshot")
def take_snapshot(obj, ctx: Context) -> None:
    """Each submission (and each answer to a clarification request) freezes what was sent; its
    round and content hash go into the transition's own audit event."""
    submission = ctx.found["submission"] = freeze(obj, ctx.actor, ctx.trigger,  # the receipt quotes it
                                                  attachments=ctx.found.get("attachments"))
    ctx.payload.update(submission_round=submission.round, content_hash=submission.content_hash)


@effect("notify_clarification_requested", phase="after_save")
def notify_clarification_requested(obj, ctx: Context) -> None:
    """The officer's question (the transition's comment) goes to every member of the applicant
    organisation, in each member's language, in the transition's transaction."""
    notices.notify_clarification_requested(obj, ctx.comment)


@effect("notify_submission_receipt", phase="after_save")
def notify_submission_receipt(obj, ctx: Context) -> None:
    """The members of the organisation get a receipt of what was just submitted, with its hash."""
    submission = ctx.found.get("submission") or db.session.scalars(
        sa.select(Submission).where(Submission.application_id == obj.id).order_by(Submission.round.desc()).limit(1)
    ).one()
    notices.notify_submission_receipt(obj, submission)
