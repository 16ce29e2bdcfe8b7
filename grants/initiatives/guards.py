"""Guards of the initiative workflow that need nothing above initiatives (``stage_proven``
reads the applications, so grants.applications registers it)."""

from __future__ import annotations

from flask_babel import gettext as _

from grants.workflows.registry import Context, Reason, guard


@guard("evidence_justified")
def evidence_justified(initiative, ctx: Context) -> Reason | None:
    """An initiative entering mid-way moves on on evidence an officer accepts in writing."""
    if "officer" in ctx.roles and ctx.comment and len(ctx.comment.strip()) >= 20:
        return None
    return Reason("justification_required",
                  _("Without an accepted grant at this stage, an officer must justify the move in writing "
                    "(at least 20 characters)."))
