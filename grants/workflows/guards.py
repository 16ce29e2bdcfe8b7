"""Guards named by workflow definitions."""

from __future__ import annotations

from flask_babel import gettext as _

from grants.workflows.registry import Context, Reason, guard


@guard("comment_given")
def comment_given(obj, ctx: Context) -> Reason | None:
    """The person firing must say why (clarification questions, refusals, terminations)."""
    if ctx.comment and ctx.comment.strip():
        return None
    return Reason("comment_required", _("Write the reason or question in the comment."))


@guard("appealed_from_ineligible")
def appealed_from_ineligible(obj, ctx: Context) -> Reason | None:
    if obj.appealed_from == "ineligible":
        return None
    return Reason("appeal_origin", _("This appeal is not against an eligibility decision."))


@guard("appealed_from_rejected")
def appealed_from_rejected(obj, ctx: Context) -> Reason | None:
    if obj.appealed_from == "rejected":
        return None
    return Reason("appeal_origin", _("This appeal is not against a funding decision."))
