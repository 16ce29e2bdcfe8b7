"""Effects named by workflow definitions: in-memory changes made as a transition happens."""

from __future__ import annotations

from grants.workflows.registry import Context, effect


@effect("remember_appeal_origin")
def remember_appeal_origin(obj, ctx: Context) -> None:
    """An upheld appeal returns the application to the step the appealed decision came from."""
    obj.appealed_from = ctx.source


@effect("record_stage_evidence")
def record_stage_evidence(obj, ctx: Context) -> None:
    """The results of the stage the award funds are accepted: evidence for the initiative."""
    if obj.award_stage not in (obj.proven_stages or []):
        obj.proven_stages = [*(obj.proven_stages or []), obj.award_stage]


@effect("advance_award_stage")
def advance_award_stage(obj, ctx: Context) -> None:
    """A passed gate releases the next stage of a stage-gated award."""
    from grants.workflows.guards import next_award_stage

    following = next_award_stage(obj)
    if following is None:  # the guard has_next_award_stage admits only awards with one
        raise RuntimeError(f"application {obj.id}: no stage after {obj.award_stage}")
    obj.award_stage = following


@effect("advance_initiative", phase="after_save")
def advance_initiative(obj, ctx: Context) -> None:
    """Money follows proven progress: the initiative moves to its next stage when the stage it
    stands at is the one this grant has just proven. It is fired as the system, through the
    engine, and audited on the initiative."""
    from grants.workflows.engine import available_triggers, fire

    initiative = obj.initiative
    if initiative.current_stage not in (obj.proven_stages or []):
        return  # already past it (another grant), or a stage the initiative is not at
    if any(option["trigger"] == "advance" for option in available_triggers(initiative, None)):
        fire(initiative, "advance", None, application_id=obj.id)


@effect("take_snapshot")
def take_snapshot(obj, ctx: Context) -> None:
    """Each submission (and each answer to a clarification request) freezes what was sent; its
    round and content hash go into the transition's own audit event."""
    from grants.applications.services import take_snapshot as freeze

    submission = freeze(obj, ctx.actor, ctx.trigger)
    ctx.payload.update(submission_round=submission.round, content_hash=submission.content_hash)


# --- notifications (the outbox, grants/notifications) ---------------------------------------------

@effect("notify_clarification_requested", phase="after_save")
def notify_clarification_requested(obj, ctx: Context) -> None:
    """The officer's question (the transition's comment) goes to every member of the applicant
    organisation, in each member's language, in the transition's transaction."""
    from grants.notifications.services import notify_clarification_requested as queue

    queue(obj, ctx.comment)


@effect("notify_submission_receipt", phase="after_save")
def notify_submission_receipt(obj, ctx: Context) -> None:
    """The members of the organisation get a receipt of what was just submitted, with its hash."""
    import sqlalchemy as sa

    from grants.applications.models import Submission
    from grants.core.db import db
    from grants.notifications.services import notify_submission_receipt as send

    submission = db.session.scalars(sa.select(Submission).where(Submission.application_id == obj.id)
                                    .order_by(Submission.round.desc()).limit(1)).one()
    send(obj, submission)


# --- eligibility (grants/eligibility) -------------------------------------------------------------

@effect("record_eligibility")
def record_eligibility(obj, ctx: Context) -> None:
    """Store every eligibility rule's outcome, with its inputs, for the round just submitted
    (after take_snapshot, which puts the round in the payload)."""
    from grants.eligibility.services import record_results

    rows = record_results(obj, ctx.payload["submission_round"], ctx.found.get("eligibility"))
    ctx.payload["eligibility"] = {row.rule_code: row.outcome.value for row in rows}


@effect("notify_ineligible", phase="after_save")
def notify_ineligible(obj, ctx: Context) -> None:
    """The applicant organisation learns why the application is not eligible and until when it
    may appeal."""
    from grants.notifications.services import notify_ineligible as send

    send(obj, ctx.comment)


@effect("register_de_minimis_aid")
def register_de_minimis_aid(obj, ctx: Context) -> None:
    """A signed grant under a call that checks de minimis is aid to the undertaking: it goes into
    the register the next applications' de minimis checks read."""
    from grants.eligibility.services import register_award

    aid = register_award(obj)
    if aid is not None:
        ctx.payload["de_minimis_aid"] = aid


# --- evaluation and decisions (grants/evaluations, grants/decisions) ---------------------------------

@effect("record_declaration")
def record_declaration(obj, ctx: Context) -> None:
    """The conflict-of-interest declaration, as the evaluator made it."""
    from grants.core.db import utcnow

    obj.has_conflict = bool(ctx.payload.get("has_conflict"))
    obj.statement = str(ctx.payload.get("statement") or ctx.comment or "")
    obj.declared_at = utcnow()


@effect("assign_replacement", phase="after_save")
def assign_replacement(obj, ctx: Context) -> None:
    """A recused evaluator is replaced by the next free one (as the system)."""
    from grants.evaluations.services import assign_replacement as replace

    replace(obj)


@effect("lock_review")
def lock_review(obj, ctx: Context) -> None:
    """The review is submitted: it is bound to the snapshot judged and can no longer change."""
    from grants.core.db import utcnow

    review = obj.review
    review.submitted_at = utcnow()
    review.content_hash = obj.content_hash
    ctx.payload.update(total=review.total, content_hash=obj.content_hash)


@effect("unlock_review")
def unlock_review(obj, ctx: Context) -> None:
    if obj.review is not None:
        obj.review.submitted_at = None


@effect("consolidate_evaluation", phase="after_save")
def consolidate_evaluation(obj, ctx: Context) -> None:
    """With every review in: a third evaluator on a discrepancy, otherwise the result (as the system)."""
    from grants.evaluations.services import consolidate

    consolidate(obj.application)


@effect("withdraw_open_assignments", phase="after_save")
def withdraw_open_assignments(obj, ctx: Context) -> None:
    from grants.evaluations.services import withdraw_open

    withdraw_open(obj)


@effect("record_decision")
def record_decision(obj, ctx: Context) -> None:
    """The committee's decision, with the rank, score and recommendation it was taken on."""
    from decimal import Decimal

    from grants.core.db import db
    from grants.decisions.models import Decision, Outcome
    from grants.decisions.services import _date

    row = ctx.found.get("rank_row")
    outcome = Outcome(ctx.payload["outcome"]) if "outcome" in ctx.payload else Outcome(ctx.dest)
    amount = ctx.payload.get("amount")
    departs = row is not None and row.recommendation is not None and row.recommendation != outcome.value
    decision = Decision(application_id=obj.id, outcome=outcome,
                        amount=Decimal(str(amount)) if amount is not None else None,
                        conditions=str(ctx.payload.get("conditions") or ""), justification=(ctx.comment or "").strip(),
                        decided_on=_date(ctx.payload.get("decided_on")), decided_by_id=ctx.actor.id,
                        recommended=row.recommendation if row is not None else None,
                        rank=row.rank if row is not None else None,
                        final_score=row.final_score if row is not None else None, departs_from_ranking=departs)
    db.session.add(decision)
    ctx.payload.update(recommended=decision.recommended, rank=decision.rank, final_score=decision.final_score,
                       departs_from_ranking=departs)


@effect("notify_decision", phase="after_save")
def notify_decision(obj, ctx: Context) -> None:
    """The applicant organisation gets the result, the consolidated feedback and, when it may
    appeal, the deadline."""
    from grants.notifications.services import notify_decision as send

    send(obj)
