"""Effects of the committee's decision: the decision stored with the ranking it was taken on,
and the applicant told."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from grants.core.db import db
from grants.core.errors import TransitionNotAllowed
from grants.core.values import as_date
from grants.decisions import notices
from grants.decisions.models import Decision, Outcome
from grants.decisions.services import award_refusals
from grants.workflows.registry import Context, effect


@effect("record_decision")
def record_decision(obj, ctx: Context) -> None:
    """The committee's decision, with the rank, score and recommendation it was taken on.

    An approval is refused (:class:`TransitionNotAllowed`, its reasons naming the ``amount``; the request's
    transaction is rolled back) when its amount is over the requested one, outside the SI stage's limits or
    more than the programme's budget leaves, whatever the call's rules say and whichever way it was fired
    (:func:`grants.decisions.services.decide` refuses the same by field before firing). Workflow versions with
    the ``award_fits`` guard on ``approve`` (v5 on) refuse it there, before the state moves."""
    row = ctx.found.get("rank_row")
    outcome = Outcome(ctx.payload["outcome"]) if "outcome" in ctx.payload else Outcome(ctx.dest)
    amount = ctx.payload.get("amount")
    if outcome == Outcome.APPROVED and "award_fits" not in ctx.chosen.guards:  # v5 and later: the guard did
        refusals = award_refusals(obj, Decimal(str(amount)) if amount is not None else obj.requested_amount)
        if refusals:
            raise TransitionNotAllowed(_("This action is not possible now: %(reasons)s",
                                         reasons="; ".join(reason.message for reason in refusals)),
                                       reasons=[reason.as_dict() for reason in refusals],
                                       fields={"amount": [reason.message for reason in refusals]})
    departs = row is not None and row.recommendation is not None and row.recommendation != outcome.value
    decision = Decision(application_id=obj.id, outcome=outcome,
                        amount=Decimal(str(amount)) if amount is not None else None,
                        conditions=str(ctx.payload.get("conditions") or ""), justification=(ctx.comment or "").strip(),
                        decided_on=as_date(ctx.payload.get("decided_on")), decided_by_id=ctx.actor.id,
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
    notices.notify_decision(obj)
