"""Effects of the grant phase: signing the agreement, the payments' who-and-when, the reports that
move their application, the stage gate's tranche and message, the messages to the grantee."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from grants.applications.services import next_award_stage
from grants.core.db import db, today, utcnow
from grants.eligibility.services import register_award
from grants.grants_mgmt import notices, payments
from grants.grants_mgmt.awards import agreement_of
from grants.grants_mgmt.gates import gate_feedback, release_next_tranche
from grants.grants_mgmt.models import ReportKind
from grants.grants_mgmt.reports import freeze
from grants.initiatives.stages import stage_label
from grants.workflows.engine import definition_for, fire
from grants.workflows.history import register_action_labels
from grants.workflows.registry import Context, effect

register_action_labels({
    "agreement.create": _l("Grant agreement drafted"),
    "agreement.update": _l("Grant agreement changed"),
    "agreement.file": _l("Signed agreement uploaded"),
    "grant_file.remove": _l("File taken back"),
    "payment.plan": _l("Payment planned"),
    "grantreport.create": _l("Report drafted"),
    "grantreport.update": _l("Report changed"),
    "grantreport.file": _l("File added to the report"),
    "irregularity.create": _l("Irregularity recorded"),
    "irregularity.recovery_order": _l("Recovery order issued"),
    "irregularity.recovery": _l("Money received on a recovery order"),
})

# --- the application ---------------------------------------------------------------------------------

@effect("sign_agreement")
def sign_agreement(application, ctx: Context) -> None:
    """The agreement is signed as the application becomes contracted: it no longer changes. The
    amount awarded is what the de minimis register records (register_de_minimis_aid, after this)."""
    with db.session.no_autoflush:
        agreement = agreement_of(application)
    agreement.signed_at = utcnow()
    ctx.found["awarded_amount"] = agreement.awarded_amount
    ctx.payload.update(agreement=agreement.number, awarded_amount=agreement.awarded_amount,
                       signed_file_id=agreement.signed_file_id)


@effect("cancel_open_payments", phase="after_save")
def cancel_open_payments(application, ctx: Context) -> None:
    payments.cancel_open(application, "The grant was terminated.")


@effect("release_next_tranche", phase="after_save")
def release_next_tranche_(application, ctx: Context) -> None:
    """A passed gate plans the next stage's tranche (award_stage has moved on by now)."""
    release_next_tranche(application, today=today())


@effect("notify_gate_outcome", phase="after_save")
def notify_gate_outcome(application, ctx: Context) -> None:
    """The grantee learns the gate's outcome: passed (and the next tranche) or the award closed at this
    stage, with the committee's reasons and the reviewers' consolidated, anonymous assessment."""
    opened = ctx.payload.get("gate_stage") or ""
    model = application.call.programme.stage_model
    notices.notify_gate_outcome(application, passed=ctx.trigger == "pass_gate", stage=ctx.payload.get("si_stage") or "",
                                opened=opened, stage_name=lambda code: stage_label(code, model),
                                reason=ctx.comment, feedback_for=lambda: gate_feedback(application, opened))


# --- payments ----------------------------------------------------------------------------------------

@effect("record_payment_request")
def record_payment_request(payment, ctx: Context) -> None:
    payment.requested_by_id = ctx.actor.id if ctx.actor is not None else None
    payment.requested_at = utcnow()


@effect("record_verification")
def record_verification(payment, ctx: Context) -> None:
    payment.verified_by_id = ctx.actor.id
    payment.verified_at = utcnow()


@effect("record_payment")
def record_payment(payment, ctx: Context) -> None:
    payment.paid_by_id = ctx.actor.id
    payment.paid_at = utcnow()
    payment.paid_on = date.fromisoformat(ctx.payload.get("paid_on") or today().isoformat())
    payment.reference = str(ctx.payload.get("reference") or "")


@effect("register_paid_aid")
def register_paid_aid(payment, ctx: Context) -> None:
    """What payment_within_de_minimis found the payment raises the aid by goes into the de minimis register."""
    raised = ctx.found.get("aid_raise")
    if raised:
        aid = register_award(payment.application, raised)
        if aid is not None:
            ctx.payload["de_minimis_aid"] = aid


@effect("settle_grant", phase="after_save")
def settle_grant(payment, ctx: Context) -> None:
    """The last payment after the accepted final report completes the grant (as the system)."""
    payments.settle(payment.application)


@effect("notify_payment", phase="after_save")
def notify_payment(payment, ctx: Context) -> None:
    notices.notify_payment(payment)


# --- reports -----------------------------------------------------------------------------------------

@effect("freeze_report")
def freeze_report(report, ctx: Context) -> None:
    """What is submitted is frozen under a content hash (in the transition's audit event)."""
    ctx.payload["content_hash"] = freeze(report)


def _fire_application(report, trigger: str, comment: str | None = None) -> None:
    application = report.application
    if trigger in definition_for(application).triggers():
        fire(application, trigger, None, comment=comment, report_id=report.id)


@effect("report_submitted", phase="after_save")
def report_submitted(report, ctx: Context) -> None:
    """A final report submitted puts its application under final report review."""
    if report.due.kind == ReportKind.FINAL and report.application.state == "in_implementation":
        _fire_application(report, "submit_final_report")


@effect("record_report_acceptance")
def record_report_acceptance(report, ctx: Context) -> None:
    report.accepted_at = utcnow()
    report.accepted_by_id = ctx.actor.id if ctx.actor is not None else None


@effect("report_accepted", phase="after_save")
def report_accepted(report, ctx: Context) -> None:
    """The grantee is told; an accepted final report opens the stage gate when the award funds a
    further stage, or moves the grant on to its last payment (and completion)."""
    notices.notify_report_accepted(report)
    application = report.application
    if report.due.kind != ReportKind.FINAL or application.state != "final_report_submitted":
        return
    triggers = definition_for(application).triggers()
    if "start_gate_review" in triggers and next_award_stage(application) is not None:
        _fire_application(report, "start_gate_review")
    else:
        _fire_application(report, "accept_final_report")


@effect("report_returned", phase="after_save")
def report_returned(report, ctx: Context) -> None:
    """The grantee gets the officer's comments; a returned final report puts the grant back in
    implementation."""
    notices.notify_report_returned(report, ctx.comment)
    if report.due.kind == ReportKind.FINAL and report.application.state == "final_report_submitted":
        _fire_application(report, "return_final_report", ctx.comment)


# --- irregularities ------------------------------------------------------------------------------------

@effect("notify_irregularity", phase="after_save")
def notify_irregularity(irregularity, ctx: Context) -> None:
    notices.notify_irregularity(irregularity, ctx.comment)
