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
