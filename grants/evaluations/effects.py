"""Effects of the assignment workflow and the evaluation steps of the application workflows:
the declaration, recusal and replacement, locking a review, consolidating the scores."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from grants.core.db import utcnow
from grants.evaluations import services
from grants.workflows.history import register_action_labels
from grants.workflows.registry import Context, effect

register_action_labels({"application.discrepancy": _l("The reviews differ: a third evaluator is brought in")})


@effect("record_declaration")
def record_declaration(obj, ctx: Context) -> None:
    """The conflict-of-interest declaration, as the evaluator made it."""
    obj.has_conflict = bool(ctx.payload.get("has_conflict"))
    obj.statement = str(ctx.payload.get("statement") or ctx.comment or "")
    obj.declared_at = utcnow()


@effect("assign_replacement", phase="after_save")
def assign_replacement(obj, ctx: Context) -> None:
    """A recused evaluator is replaced by the next free one (as the system)."""
    services.assign_replacement(obj)


@effect("lock_review")
def lock_review(obj, ctx: Context) -> None:
    """The review is submitted: it is bound to the snapshot judged and can no longer change."""
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
    services.consolidate(obj.application, obj.gate_stage)


@effect("open_gate_review", phase="after_save")
def open_gate_review(obj, ctx: Context) -> None:
    """A stage gate opens: the system assigns its evaluators from the call's pool (each assignment is
    audited; a shortfall shows on the call's evaluation pages)."""
    services.open_gate_review(obj)


@effect("withdraw_open_assignments", phase="after_save")
def withdraw_open_assignments(obj, ctx: Context) -> None:
    services.withdraw_open(obj)
