"""The payment schedule and the payments of a grant (DESIGN §7, §10).

An officer plans instalments (advance, interim, final) whose sum never exceeds what is released
(the award, or the tranches a stage-gated award has reached); each moves through ``payment_v1``:
requested, verified by one finance officer, paid by another. Money follows proven progress: the
n-th interim payment needs n accepted progress reports of its stage ending by its due date, the
final payment the accepted final report of its stage; a confirmed irregularity stops every payment
of the grant. The guards that say so are in grants.grants_mgmt.guards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.audit.services import record_event
from grants.core.db import db, to_money
from grants.core.errors import NotFound, UserInputError
from grants.core.templating import format_money
from grants.core.values import as_date
from grants.evaluations.models import Assignment
from grants.grants_mgmt.awards import PAYABLE_STATES, agreement_of, released_amount
from grants.grants_mgmt.models import GrantReport, Irregularity, Payment, PaymentKind, ReportDue, ReportKind
from grants.grants_mgmt.models.irregularities import OPEN_IRREGULARITY_STATES
from grants.grants_mgmt.models.payments import OPEN_PAYMENT_STATES, SCHEDULED_STATES
from grants.workflows.engine import fire
from grants.workflows.services import act

#: What an officer schedules by hand; a tranche is planned by a passed stage gate.
SCHEDULE_KINDS = (PaymentKind.ADVANCE, PaymentKind.INTERIM, PaymentKind.FINAL)
#: Who plans instalments, and who acts on payments at all.
PLANNERS = ("officer",)
#: The application's own decisions: whoever took one of them does not pay the grant.
DECIDING_ACTIONS = ("application.approve", "application.put_on_reserve", "application.reject",
                    "application.pass_gate", "application.fail_gate")


def payments_of(application: Application) -> list[Payment]:
    return list(db.session.scalars(sa.select(Payment).where(Payment.application_id == application.id)
                                   .order_by(Payment.due_on, Payment.id)).unique())


def get_payment(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound()
    return payment


def _sum(application: Application, states) -> Decimal:
    # The sum keeps the column's type: cents in the database, euros here.
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(
        Payment.application_id == application.id, Payment.state.in_(states)))


def scheduled_total(application: Application) -> Decimal:
    """The instalments that count (every one not rejected)."""
    return _sum(application, SCHEDULED_STATES)


def paid_total(application: Application) -> Decimal:
    return _sum(application, ("paid",))


@dataclass(frozen=True)
class Totals:
    scheduled: Decimal
    paid: Decimal
    awarded: Decimal | None
    released: Decimal | None

    @property
    def outstanding(self) -> Decimal:
        return self.scheduled - self.paid


def totals(application: Application) -> Totals:
    agreement = agreement_of(application)
    return Totals(scheduled=scheduled_total(application), paid=paid_total(application),
                  awarded=agreement.awarded_amount if agreement is not None else None,
                  released=released_amount(application, agreement) if agreement is not None else None)


def plan_payment(application: Application, actor, data: dict[str, Any]) -> Payment:
    """Add an instalment to the schedule (officers): refused (422) when its kind, amount or date is
    wrong, or when the schedule would then exceed what is released. Audited. Flushes."""
    agreement = agreement_of(application)
    errors: dict[str, list[str]] = {}
    if agreement is None:
        raise UserInputError(_("Draft the grant agreement first: the schedule follows from it."),
                             fields={"application_id": [_("Draft the grant agreement first.")]})
    if application.state != "approved" and application.state not in PAYABLE_STATES:
        raise UserInputError(_("Payments are planned for a grant that is being contracted or runs."),
                             fields={"application_id": [_("This grant is not running.")]})
    try:
        kind = PaymentKind(data.get("kind"))
    except ValueError:
        kind = None
    if kind not in SCHEDULE_KINDS:
        errors["kind"] = [_("Choose an advance, an interim or a final payment.")]
    try:
        amount = to_money(data.get("amount"))
    except ValueError:
        amount = None
    if amount is None or amount <= 0:
        errors["amount"] = [_("Give an amount in euros, with at most two decimals.")]
    due_on = as_date(data.get("due_on"))
    if due_on is None:
        errors["due_on"] = [_("Give the due date (YYYY-MM-DD).")]
    if not errors:
        cap = released_amount(application, agreement)
        after = scheduled_total(application) + amount
        if after > cap:
            errors["amount"] = [_("The schedule would come to %(sum)s, more than the %(amount)s awarded so far.",
                                  sum=format_money(after), amount=format_money(cap))]
    if errors:
        raise UserInputError(fields=errors)
    payment = Payment(application_id=application.id, kind=kind, si_stage=application.award_stage, amount=amount,
                      due_on=due_on, created_by_id=actor.id if actor is not None else None)
    db.session.add(payment)
    db.session.flush()
    record_event(action="payment.plan", object_type="payment", object_id=payment.id, actor=actor,
                 role="officer" if actor is not None else "system",
                 payload={"application_id": application.id, "kind": kind.value, "amount": amount,
                          "due_on": due_on, "si_stage": payment.si_stage})
    return payment


def plan_tranche(application: Application, stage: str, amount: Decimal, due_on: date) -> Payment:
    """A passed stage gate releases the next stage's tranche (the system plans it)."""
    payment = Payment(application_id=application.id, kind=PaymentKind.TRANCHE, si_stage=stage, amount=amount,
                      due_on=due_on)
    db.session.add(payment)
    db.session.flush()
    record_event(action="payment.plan", object_type="payment", object_id=payment.id, role="system",
                 payload={"application_id": application.id, "kind": "tranche", "amount": amount, "due_on": due_on,
                          "si_stage": stage})
    return payment


def act_on_payment(payment: Payment, trigger: str, actor, *, comment: str | None = None,
                   expected_version: int | None = None, paid_on: date | None = None,
                   reference: str | None = None, today: date) -> Payment:
    """Request, verify, pay or reject a payment through ``payment_v1``. Paying records the value date
    (today unless given; never in the future) and the payment order's reference."""
    payload: dict[str, Any] = {}
    if trigger == "pay":
        paid_on = paid_on or today
        errors: dict[str, list[str]] = {}
        if paid_on > today:
            errors["paid_on"] = [_("The payment date cannot be in the future.")]
        if reference is not None and len(reference) > 120:
            errors["reference"] = [_("At most 120 characters.")]
        if errors:
            raise UserInputError(fields=errors)
        payload = {"paid_on": paid_on.isoformat(), "reference": (reference or "").strip(), "amount": payment.amount}
    return act(payment, trigger, actor, comment=comment, expected_version=expected_version, **payload)


# --- what the guards ask ---------------------------------------------------------------------------

def open_irregularities(application: Application) -> list[Irregularity]:
    return list(db.session.scalars(sa.select(Irregularity).where(
        Irregularity.application_id == application.id, Irregularity.state.in_(OPEN_IRREGULARITY_STATES))).unique())


def missing_report(payment: Payment) -> str | None:
    """Why the payment may not go yet for want of an accepted report (None when it may)."""
    if payment.kind == PaymentKind.INTERIM:
        earlier = db.session.scalar(sa.select(sa.func.count()).select_from(Payment).where(
            Payment.application_id == payment.application_id, Payment.kind == PaymentKind.INTERIM,
            Payment.si_stage == payment.si_stage, Payment.state != "rejected",
            sa.or_(Payment.due_on < payment.due_on,
                   sa.and_(Payment.due_on == payment.due_on, Payment.id < payment.id))))
        accepted = db.session.scalar(sa.select(sa.func.count()).select_from(GrantReport)
                                     .join(ReportDue, ReportDue.id == GrantReport.due_id).where(
            GrantReport.application_id == payment.application_id, GrantReport.state == "accepted",
            ReportDue.kind == ReportKind.PROGRESS, ReportDue.si_stage == payment.si_stage,
            ReportDue.period_end <= payment.due_on))
        if accepted > earlier:
            return None
        return _("An interim payment needs an accepted progress report for its period (ending by %(due)s).",
                 due=payment.due_on.isoformat())
    if payment.kind == PaymentKind.FINAL:
        accepted = db.session.scalar(sa.select(sa.func.count()).select_from(GrantReport)
                                     .join(ReportDue, ReportDue.id == GrantReport.due_id).where(
            GrantReport.application_id == payment.application_id, GrantReport.state == "accepted",
            ReportDue.kind == ReportKind.FINAL, ReportDue.si_stage == payment.si_stage))
        if accepted:
            return None
        return _("The final payment needs the accepted final report.")
    return None


def payer_conflict(payment: Payment, actor) -> str | None:
    """Why ``actor`` may not pay this grant: they evaluated the application, took a decision on it, or
    belong to the grantee (None when independent)."""
    application = payment.application
    if actor.is_member_of(application.organisation_id):
        return _("You belong to the grantee organisation, so you cannot pay its grant.")
    evaluated = db.session.scalar(sa.select(sa.func.count()).select_from(Assignment).where(
        Assignment.application_id == application.id, Assignment.evaluator_id == actor.id))
    if evaluated:
        return _("You evaluated this application, so you cannot pay its grant.")
    decided = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.object_type == "application", AuditEvent.object_id == str(application.id),
        AuditEvent.action.in_(DECIDING_ACTIONS), AuditEvent.actor_id == actor.id))
    if decided:
        return _("You took a decision on this application, so you cannot pay its grant.")
    return None


def settle(application: Application) -> None:
    """Every payment settled after the final report was accepted: the system completes the grant."""
    if application.state == "final_report_accepted" and not open_payments(application):
        fire(application, "complete", None)


def open_payments(application: Application) -> list[Payment]:
    return [payment for payment in payments_of(application) if payment.state in OPEN_PAYMENT_STATES]


def cancel_open(application: Application, reason: str) -> None:
    """A terminated grant pays nothing more: its open payments are rejected (as the system)."""
    for payment in open_payments(application):
        fire(payment, "reject", None, comment=reason)
