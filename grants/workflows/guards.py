"""The engine's own guards: those that ask nothing of any domain.

Every other guard is registered by the domain whose rule it is, next to that rule
(``grants/<domain>/guards.py``), with :func:`grants.workflows.registry.guard`.
"""

from __future__ import annotations

from flask_babel import gettext as _

from grants.workflows.registry import Context, Reason, guard


@guard("comment_given")
def comment_given(obj, ctx: Context) -> Reason | None:
    """The person firing must say why (clarification questions, refusals, terminations)."""
    if ctx.comment and ctx.comment.strip():
        return None
    return Reason("comment_required", _("Write the reason or question in the comment."))
