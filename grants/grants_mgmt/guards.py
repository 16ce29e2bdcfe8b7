"""Guards of the grant phase: the application's (a complete agreement, the final report delivered
and accepted, every payment settled, a justified gate decision), the payments' (money follows
proven progress; separation of duties; never more than awarded), the reports' and the
irregularities'."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from grants.core.templating import format_money
from grants.eligibility import de_minimis
from grants.eligibility.services import registered_aid
from grants.grants_mgmt import agreements, payments, reports
from grants.grants_mgmt.awards import PAYABLE_STATES, agreement_of
from grants.grants_mgmt.gates import gate_result
from grants.workflows.registry import Context, Reason, guard

# --- the application ---------------------------------------------------------------------------------

@guard("agreement_complete")
def agreement_complete(application, ctx: Context) -> list[Reason] | None:
    """``sign_contract`` only with a complete agreement: drafted, within the decision, tranches and
    schedule adding up, a final report per funded stage, the signed scan uploaded."""
    return [Reason(code, message) for code, message in agreements.problems(application)] or None


def _over_ceiling(figures: dict, field: str) -> Reason:
    message = _("De minimis ceiling: %(undertaking)s (%(number)s) has received %(received)s of de minimis aid since "
                "%(since)s; with %(aid)s for this grant it would have %(total)s, over the ceiling of %(ceiling)s "
                "(%(years)d years). At most %(remaining)s can be granted now.",
                undertaking=figures["undertaking"], number=figures["registration_number"],
                received=format_money(figures["received"]), since=figures["since"].isoformat(),
                aid=format_money(figures["aid"]), total=format_money(figures["total"]),
                ceiling=format_money(figures["ceiling"]), years=figures["years"],
                remaining=format_money(figures["remaining"]))
    return Reason("de_minimis_ceiling", message, fields={field: [message]})


@guard("de_minimis_headroom")
def de_minimis_headroom(application, ctx: Context) -> Reason | None:
    """Before ``approve`` (the amount decided) and ``sign_contract`` (the amount the agreement awards): the
    undertaking's de minimis aid, with the register as it is now, stays within the call's ceiling. The
    check at submission saw the register as it was then; other aid may have been granted since."""
    if ctx.trigger == "sign_contract":
        agreement = agreement_of(application)
        amount, field = (agreement.awarded_amount if agreement is not None else None), "awarded_amount"
    else:
        amount, field = ctx.payload.get("amount"), "amount"
        if amount is None:
            amount = application.requested_amount
    if amount is None:
        return None
    figures = de_minimis.over_ceiling(application, Decimal(str(amount)))
    return _over_ceiling(figures, field) if figures is not None else None


@guard("final_report_delivered")
def final_report_delivered(application, ctx: Context) -> Reason | None:
    report = reports.final_report(application)
    if report is not None and reports.is_delivered(report):
        return None
    return Reason("final_report_missing", _("The final report of the stage has not been submitted."))


@guard("final_report_accepted")
def final_report_accepted(application, ctx: Context) -> Reason | None:
    report = reports.final_report(application)
    if report is not None and report.state == "accepted":
        return None
    return Reason("final_report_not_accepted", _("The final report of the stage has not been accepted."))


@guard("payments_settled")
def payments_settled(application, ctx: Context) -> Reason | None:
    """Every instalment paid or rejected."""
    if not payments.open_payments(application):
        return None
    return Reason("payments_open", _("Some payments of the grant are still to be made."))


@guard("gate_departure_justified")
def gate_departure_justified(application, ctx: Context) -> Reason | None:
    """Passing a gate the reviewers scored below the pass mark needs the committee's reasons."""
    result = gate_result(application)
    if result is not None and result.above_threshold:
        return None
    if ctx.comment and ctx.comment.strip():
        return None
    return Reason("justification_required", _("The reviewers scored the stage's results below the pass mark; write "
                                              "why the committee passes the gate."))


# --- payments ----------------------------------------------------------------------------------------

@guard("grant_payable")
def grant_payable(payment, ctx: Context) -> Reason | None:
    if payment.application.state in PAYABLE_STATES:
        return None
    return Reason("grant_not_payable", _("The grant is not running (the agreement is not signed, or the grant is "
                                         "closed), so nothing is paid."))


@guard("no_confirmed_irregularity")
def no_confirmed_irregularity(payment, ctx: Context) -> Reason | None:
    if not payments.open_irregularities(payment.application):
        return None
    return Reason("irregularity", _("A confirmed irregularity on this grant stops its payments until it is recovered "
                                    "or written off."))


@guard("report_for_period")
def report_for_period(payment, ctx: Context) -> Reason | None:
    why = payments.missing_report(payment)
    return Reason("report_missing", why) if why else None


@guard("payer_not_verifier")
def payer_not_verifier(payment, ctx: Context) -> Reason | None:
    """Separation of duties: whoever verified a payment does not pay it."""
    if ctx.actor is None or ctx.actor.id != payment.verified_by_id:
        return None
    return Reason("separation_of_duties", _("You verified this payment, so another finance officer must pay it."))


@guard("payer_independent")
def payer_independent(payment, ctx: Context) -> Reason | None:
    """Nobody who evaluated or decided the application, or belongs to the grantee, pays it."""
    why = payments.payer_conflict(payment, ctx.actor) if ctx.actor is not None else None
    return Reason("separation_of_duties", why) if why else None


@guard("paid_within_award")
def paid_within_award(payment, ctx: Context) -> Reason | None:
    agreement = agreement_of(payment.application)
    paid = payments.paid_total(payment.application)
    if agreement is not None and paid + payment.amount <= agreement.awarded_amount:
        return None
    return Reason("over_award", _("Paying this would bring the grant's payments to %(sum)s, more than the %(amount)s "
                                  "awarded.", sum=format_money(paid + payment.amount),
                                  amount=format_money(agreement.awarded_amount if agreement else 0)))


@guard("payment_within_de_minimis")
def payment_within_de_minimis(payment, ctx: Context) -> Reason | None:
    """A payment bringing what is paid above the aid registered for the grant raises the undertaking's de
    minimis aid (a grant of a de minimis call signed before awards were registered): it must fit the headroom
    as the register stands now. register_paid_aid registers the raise."""
    application = payment.application
    if de_minimis.rule_of(application.call) is None:
        return None
    registered = registered_aid(application)
    after = payments.paid_total(application) + payment.amount
    if after <= registered:
        return None
    figures = de_minimis.over_ceiling(application, after)
    if figures is not None:
        return _over_ceiling(figures, "amount")
    ctx.found["aid_raise"] = after - registered
    return None


# --- reports -----------------------------------------------------------------------------------------

@guard("report_complete")
def report_complete(report, ctx: Context) -> list[Reason] | None:
    return [Reason("report_incomplete", message, fields={field: [message]})
            for field, message in reports.problems_by_field(report).items()] or None


@guard("grant_reporting_open")
def grant_reporting_open(report, ctx: Context) -> Reason | None:
    why = reports.reporting_closed(report)
    return Reason("reporting_closed", why) if why else None


# --- irregularities ------------------------------------------------------------------------------------

@guard("fully_recovered")
def fully_recovered(irregularity, ctx: Context) -> Reason | None:
    if irregularity.recovered >= irregularity.amount:
        return None
    return Reason("not_recovered", _("%(recovered)s of %(amount)s has been recovered; record the rest, or write it "
                                     "off with a reason.", recovered=format_money(irregularity.recovered),
                                     amount=format_money(irregularity.amount)))
