"""Effects named by workflow definitions: in-memory changes made as a transition happens."""

from __future__ import annotations

from grants.workflows.registry import Context, effect


@effect("remember_appeal_origin")
def remember_appeal_origin(obj, ctx: Context) -> None:
    """An upheld appeal returns the application to the step the appealed decision came from."""
    obj.appealed_from = ctx.source
