"""Effects the application workflows take from eligibility: the results stored with each
submission, the ineligible told why, signed de minimis aid entered in the register."""

from __future__ import annotations

from grants.eligibility import notices
from grants.eligibility.services import record_results, register_award
from grants.workflows.registry import Context, effect


@effect("record_eligibility")
def record_eligibility(obj, ctx: Context) -> None:
    """Store every eligibility rule's outcome, with its inputs, for the round just submitted
    (after take_snapshot, which puts the round in the payload)."""
    stored = record_results(obj, ctx.payload["submission_round"], ctx.found.get("eligibility"))
    ctx.payload["eligibility"] = {outcome.code: outcome.outcome.value for outcome in stored}


@effect("notify_ineligible", phase="after_save")
def notify_ineligible(obj, ctx: Context) -> None:
    """The applicant organisation learns why the application is not eligible and until when it
    may appeal."""
    notices.notify_ineligible(obj, ctx.comment)


@effect("register_de_minimis_aid")
def register_de_minimis_aid(obj, ctx: Context) -> None:
    """A signed grant under a call that checks de minimis is aid to the undertaking: it goes into
    the register the next applications' de minimis checks read, with the amount the agreement awards
    when an earlier effect of the transition found one (grants.grants_mgmt's sign_agreement)."""
    aid = register_award(obj, ctx.found.get("awarded_amount"))
    if aid is not None:
        ctx.payload["de_minimis_aid"] = aid
