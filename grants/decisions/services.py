"""Committee decisions on the ranked list (DESIGN §7, §12 items 5 and 6).

A decision is the workflow's ``approve``, ``put_on_reserve`` or ``reject`` with its details in
the payload; the guards check the date, separation of duties and the justification of a
departure from the ranking, the ``record_decision`` effect stores the row, ``notify_decision``
tells the applicant. This module shapes the committee's input and reports problems by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from grants.applications.models import Application
from grants.applications.services import amount_limits_error
from grants.calls.programmes import award_budget_error
from grants.core.db import db, to_money, today
from grants.core.errors import TransitionNotAllowed, UserInputError
from grants.core.roles import RoleCode
from grants.core.values import as_date
from grants.decisions.models import OUTCOME_TRIGGERS, Decision, Outcome
from grants.eligibility.services import appeal_deadline
from grants.evaluations.services import feedback
from grants.workflows.engine import definition_for, fire
from grants.workflows.registry import Reason

#: Who reads the ranked list (pages and API).
RANKING_ROLES = (RoleCode.OFFICER, RoleCode.COMMITTEE, RoleCode.AUDITOR, RoleCode.ADMIN)
#: Guard reason codes that are really a problem with one field of the committee's input (the award's come from
#: :func:`award_refusals`, through the ``award_fits`` guard or, on versions before it, the ``record_decision``
#: effect; the de minimis ceiling's from grants.grants_mgmt's ``de_minimis_headroom``).
FIELD_OF_REASON = {"justification_required": "justification", "decision_date": "decided_on",
                   "amount_outside_limits": "amount", "amount_over_requested": "amount", "programme_budget": "amount",
                   "de_minimis_ceiling": "amount"}


def _amount_problem(application: Application, amount: Decimal) -> tuple[str, str] | None:
    """(reason code, message) when an award of ``amount`` is zero or less, more than the requested amount, or
    outside the limits of the call's SI stage (whatever the call's rules say); None when it may be awarded."""
    if amount <= 0 or amount > application.requested_amount:
        return "amount_over_requested", _("The amount is more than zero and at most the requested %(amount)s EUR.",
                                          amount=f"{application.requested_amount:.2f}")
    outside = amount_limits_error(application.call, application.si_stage, amount)
    return ("amount_outside_limits", outside) if outside is not None else None


def award_refusals(application: Application, amount: Decimal) -> list[Reason]:
    """Why the committee may not award ``amount`` (each reason naming the ``amount``): not more than zero, over
    the requested amount, outside the stage's limits, or more than the programme's budget leaves once its other
    awards are counted (read under the programme's lock, so two approvals at once cannot both pass)."""
    problem = _amount_problem(application, amount)
    if problem is None:
        over = award_budget_error(application.call.programme, amount, excluding=application.id)
        problem = ("programme_budget", over) if over is not None else None
    if problem is None:
        return []
    code, message = problem
    return [Reason(code, message, fields={"amount": [message]})]


def clean(application: Application, data: dict[str, Any]) -> dict[str, Any]:
    """The decision's details, checked; :class:`UserInputError` names each problem."""
    errors: dict[str, list[str]] = {}
    try:
        outcome = Outcome(data.get("outcome"))
    except ValueError:
        outcome = None
        errors["outcome"] = [_("Choose approve, reserve or reject.")]
    decided_on = as_date(data.get("decided_on")) if data.get("decided_on") not in (None, "") else None
    if decided_on is None:
        errors["decided_on"] = [_("Give the date of the decision.")]
    elif decided_on > today():
        errors["decided_on"] = [_("The decision date cannot be in the future.")]
    amount: Decimal | None = None
    raw_amount = data.get("amount")
    if outcome == Outcome.APPROVED:
        try:
            amount = application.requested_amount if raw_amount in (None, "") else to_money(raw_amount)
        except ValueError:
            errors["amount"] = [_("Give an amount in euros, with at most two decimals.")]
        else:
            problem = _amount_problem(application, amount)
            if problem is not None:
                errors["amount"] = [problem[1]]
    elif raw_amount not in (None, ""):
        errors["amount"] = [_("An amount is given only when approving.")]
    conditions = (data.get("conditions") or "").strip()
    justification = (data.get("justification") or "").strip()
    if len(conditions) > 5000:
        errors["conditions"] = [_("At most 5000 characters.")]
    if len(justification) > 5000:
        errors["justification"] = [_("At most 5000 characters.")]
    if errors:
        raise UserInputError(fields=errors)
    return {"outcome": outcome, "amount": amount, "decided_on": decided_on, "conditions": conditions,
            "justification": justification}


def decide(application: Application, actor, data: dict[str, Any]) -> Decision:
    """Record the committee's decision through the workflow; returns the stored decision."""
    details = clean(application, data)
    trigger = OUTCOME_TRIGGERS[details["outcome"]]
    if details["outcome"] == Outcome.APPROVED:
        # refused here by field, before the state moves; the record_decision effect checks again for any path
        refusals = award_refusals(application, details["amount"])
        if refusals:
            raise UserInputError(fields={"amount": [reason.message for reason in refusals]})
    try:
        fire(application, trigger, actor, comment=details["justification"] or None,
             outcome=details["outcome"].value, amount=details["amount"], decided_on=details["decided_on"].isoformat(),
             conditions=details["conditions"])
    except TransitionNotAllowed as refused:
        reasons = refused.reasons or []
        if reasons and all(r.get("code") in FIELD_OF_REASON for r in reasons):
            fields: dict[str, list[str]] = {}
            for reason in reasons:
                fields.setdefault(FIELD_OF_REASON[reason["code"]], []).append(reason["message"])
            raise UserInputError(fields=fields) from None
        raise
    return latest_decision(application)


def decidable_states(call) -> frozenset[str]:
    """The states of the call's workflow the committee's approve, put on reserve or reject leave from."""
    triggers = set(OUTCOME_TRIGGERS.values())
    return frozenset(source for t in definition_for(call).transitions if t.trigger in triggers for source in t.sources)


def is_decidable(application: Application) -> bool:
    return application.state in decidable_states(application.call)


def latest_decision(application: Application) -> Decision | None:
    return db.session.scalar(sa.select(Decision).where(Decision.application_id == application.id)
                             .options(joinedload(Decision.decided_by)).order_by(Decision.id.desc()).limit(1))


def decisions_of(application: Application) -> list[Decision]:
    """Every decision on the application, oldest first, with who took it (one query)."""
    return list(db.session.scalars(sa.select(Decision).where(Decision.application_id == application.id)
                                   .options(joinedload(Decision.decided_by)).order_by(Decision.id)))


@dataclass(frozen=True)
class Result:
    """What the applicant is told: the decision in force, the evaluators' consolidated anonymous
    assessment and, while the application stands rejected, until when it may be appealed."""

    decision: Decision
    feedback: dict[str, Any] | None
    appeal_deadline: datetime | None


def result_of(application: Application) -> Result | None:
    """The application's result once the committee decided (None before)."""
    decision = latest_decision(application)
    if decision is None:
        return None
    deadline = appeal_deadline(application) if application.state == "rejected" else None
    return Result(decision=decision, feedback=feedback(application), appeal_deadline=deadline)
