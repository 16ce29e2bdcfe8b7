"""What an award is made of, read from the application, its decision and its agreement: the amount
decided, the SI stages it funds, the tranche of each, what has been released so far.

Shared by the agreement, the payments, the reports and the stage gates; nothing here writes.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from grants.applications.models import Application
from grants.core.db import db, to_money
from grants.decisions.models import Decision, Outcome
from grants.grants_mgmt.models import GrantAgreement
from grants.initiatives.stages import STAGE_MODELS

#: The workflow whose awards fund several stages in tranches released at stage gates.
STAGE_GATED = "application_stage_gate"
#: Application states in which the grant is running: the agreement is signed and it is not closed.
RUNNING_STATES = frozenset({"contracted", "in_implementation", "final_report_submitted", "final_report_accepted",
                            "gate_review", "gate_evaluated"})
#: States in which instalments may still be paid: running, or closed at a stage gate (the accepted
#: stage's money is still owed).
PAYABLE_STATES = RUNNING_STATES | {"closed_at_gate"}
#: Every state of an application whose agreement has been signed.
SIGNED_STATES = PAYABLE_STATES | {"completed", "terminated"}
#: Roles that run grants: they read every grant; officers change them.
GRANT_STAFF = ("officer", "finance", "committee", "auditor", "admin")


def is_stage_gated(application: Application) -> bool:
    return application.workflow_name == STAGE_GATED


def agreement_of(application: Application) -> GrantAgreement | None:
    return db.session.scalar(sa.select(GrantAgreement).where(GrantAgreement.application_id == application.id))


def approved_decision(application: Application) -> Decision | None:
    """The committee's approval in force (the newest decision, when it approves)."""
    decision = db.session.scalar(sa.select(Decision).where(Decision.application_id == application.id)
                                 .order_by(Decision.id.desc()).limit(1))
    return decision if decision is not None and decision.outcome == Outcome.APPROVED else None


def decided_amount(application: Application) -> Decimal | None:
    decision = approved_decision(application)
    return decision.amount if decision is not None else None


def award_stages(application: Application) -> list[str]:
    """The SI stages the award funds, in order: for a stage-gated call, the call's funded stages from
    the one applied for onwards; otherwise the one applied for."""
    if not is_stage_gated(application):
        return [application.si_stage]
    model = STAGE_MODELS[application.call.programme.stage_model]
    start = model.position(application.si_stage)
    return sorted((code for code in application.call.stage_codes if model.position(code) >= start),
                  key=model.position)


def tranche_amounts(agreement: GrantAgreement) -> dict[str, Decimal]:
    """Stage code → amount, from the agreement's tranches (in stage order)."""
    return {tranche["si_stage"]: to_money(tranche["amount"]) for tranche in agreement.tranches or []}


def released_amount(application: Application, agreement: GrantAgreement) -> Decimal:
    """What may be scheduled now: the tranches of the stages up to the one the award funds now (the
    whole award when it is not stage-gated)."""
    if not is_stage_gated(application):
        return agreement.awarded_amount
    stages = award_stages(application)
    reached = stages[: stages.index(application.award_stage) + 1] if application.award_stage in stages else stages[:1]
    tranches = tranche_amounts(agreement)
    return sum((tranches.get(code, Decimal("0.00")) for code in reached), Decimal("0.00"))


def first_tranche(application: Application, agreement: GrantAgreement) -> Decimal:
    """What the payment schedule must add up to when the agreement is signed."""
    if not is_stage_gated(application):
        return agreement.awarded_amount
    return tranche_amounts(agreement).get(award_stages(application)[0], Decimal("0.00"))
