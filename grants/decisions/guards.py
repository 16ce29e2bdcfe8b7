"""Guards of the committee's decision: dated and not in the future, not taken by one of the
application's evaluators (separation of duties), justified when it departs from the ranking."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.core.db import db, today
from grants.core.values import as_date
from grants.decisions.models import OUTCOME_LABELS, OUTCOME_TRIGGERS, Outcome
from grants.decisions.ranking import row_for
from grants.decisions.services import award_refusals
from grants.evaluations.models import Assignment
from grants.workflows.registry import Context, Reason, guard


@guard("decision_dated")
def decision_dated(application, ctx: Context) -> Reason | None:
    """A decision carries its date, not in the future (recorded through the decision page or API)."""
    decided_on = as_date(ctx.payload.get("decided_on"))
    if decided_on is None:
        return Reason("decision_date", _("Record the decision with its date on the decision page."))
    if decided_on > today():
        return Reason("decision_date", _("The decision date cannot be in the future."))
    return None


@guard("decider_not_evaluator")
def decider_not_evaluator(application, ctx: Context) -> Reason | None:
    """Separation of duties: whoever was assigned to evaluate the application does not decide it."""
    if ctx.actor is None:
        return None
    assigned = db.session.scalar(sa.select(sa.func.count()).select_from(Assignment).where(
        Assignment.application_id == application.id, Assignment.evaluator_id == ctx.actor.id))
    if not assigned:
        return None
    return Reason("separation_of_duties", _("You were assigned to evaluate this application, so you cannot decide "
                                            "on it."))


@guard("departure_justified")
def departure_justified(application, ctx: Context) -> Reason | None:
    """A decision other than the ranking recommends needs a written justification."""
    row = ctx.found["rank_row"] = row_for(application.call, application.id)
    outcome = next((o for o, t in OUTCOME_TRIGGERS.items() if t == ctx.trigger), None)
    if row is None or row.recommendation is None or outcome is None or outcome.value == row.recommendation:
        return None
    if ctx.comment and ctx.comment.strip():
        return None
    return Reason("justification_required",
                  _("The ranking recommends “%(recommended)s”; write why the committee decides otherwise.",
                    recommended=OUTCOME_LABELS[Outcome(row.recommendation)]))


@guard("award_fits")
def award_fits(application, ctx: Context) -> list[Reason] | None:
    """An approval's amount (the requested one when none is given) is more than zero, at most what was requested,
    within the SI stage's limits and within what the programme's budget leaves, whatever the call's rules say
    (each reason names the ``amount``). Workflow versions before this guard refuse the same in the
    ``record_decision`` effect."""
    amount = ctx.payload.get("amount")
    return award_refusals(application, Decimal(str(amount)) if amount is not None else application.requested_amount) \
        or None
