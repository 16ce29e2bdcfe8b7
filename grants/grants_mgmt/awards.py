"""What an award is made of, read from the application, its decision and its agreement: the amount
decided, the SI stages it funds, the tranche of each, what has been released so far; and what a
programme's awards take together (registered with grants.calls.programmes, which keeps the budget).

Shared by the agreement, the payments, the reports and the stage gates; nothing here writes.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from grants.applications.models import Application
from grants.calls.models import Call
from grants.calls.programmes import register_awarded
from grants.core.db import db, money_sum, to_money
from grants.decisions.models import Decision, Outcome
from grants.grants_mgmt.models import GrantAgreement, Payment
from grants.grants_mgmt.models.payments import SCHEDULED_STATES
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
#: States of an award closed before all its money was released: it keeps only what was paid or is still owed.
CLOSED_EARLY_STATES = frozenset({"terminated", "closed_at_gate"})


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


def programme_awarded(programme_id: int, excluding: int | None = None) -> Decimal:
    """What the awards of the programme's calls take (one statement), leaving out the application ``excluding``.

    An award counts as the programme dashboard's *awarded* does (grants.reports.statistics): the agreement's
    amount, else the amount of the approval in force (the newest approving decision); an agreement without a
    decision (workflows before decisions were recorded) counts too. An award closed early (terminated, or
    closed at a stage gate) keeps only its instalments not rejected: what was paid or is still owed; the rest
    is free again. Applications never approved (rejected, withdrawn, ineligible…) take nothing."""
    in_programme = sa.and_(Application.call_id == Call.id, Call.programme_id == programme_id)
    newest = (sa.select(Decision.application_id.label("application_id"), sa.func.max(Decision.id).label("id"))
              .join(Application, Application.id == Decision.application_id).join(Call, in_programme)
              .where(Decision.outcome == Outcome.APPROVED).group_by(Decision.application_id).cte("approval"))
    # the awarded applications only (not every application of the programme): approved or with an agreement
    awarded_ids = sa.union(sa.select(newest.c.application_id),
                           sa.select(GrantAgreement.application_id).where(GrantAgreement.programme_id == programme_id)
                           ).subquery("awarded")
    approval = aliased(Decision, name="approval_decision")
    owed = (sa.select(Payment.application_id.label("application_id"), sa.func.sum(Payment.amount).label("amount"))
            .join(Application, Application.id == Payment.application_id).join(Call, in_programme)
            .where(Application.state.in_(CLOSED_EARLY_STATES), Payment.state.in_(SCHEDULED_STATES))
            .group_by(Payment.application_id).subquery("owed"))
    award = sa.case((Application.state.in_(CLOSED_EARLY_STATES), sa.func.coalesce(owed.c.amount, 0)),
                    else_=sa.func.coalesce(GrantAgreement.awarded_amount, approval.amount, 0))
    query = (sa.select(money_sum(award)).select_from(awarded_ids)
             .join(Application, Application.id == awarded_ids.c.application_id)
             .outerjoin(newest, newest.c.application_id == Application.id)
             .outerjoin(approval, approval.id == newest.c.id)
             .outerjoin(GrantAgreement, GrantAgreement.application_id == Application.id)
             .outerjoin(owed, owed.c.application_id == Application.id))
    if excluding is not None:
        query = query.where(Application.id != excluding)
    return db.session.scalar(query)


register_awarded(programme_awarded)
