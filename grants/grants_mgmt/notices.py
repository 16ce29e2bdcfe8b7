"""What the grantee is told about its grant: a payment made, a report accepted or returned, the
outcome of a stage gate, a confirmed irregularity (through the outbox, in each member's language)."""

from __future__ import annotations

from grants.applications.models import Application
from grants.notifications.models import OutboxMessage
from grants.notifications.services import external_url, notify, one_line, organisation_recipients


def grant_link(application: Application) -> str:
    return external_url("grants_mgmt.grant", application_id=application.id)


def _tell(kind: str, application: Application, **context) -> list[OutboxMessage]:
    link = grant_link(application)
    return [notify(kind, user, object_type="application", object_id=application.id, application=application,
                   title=one_line(application.title), call_code=one_line(application.call.code), link=link,
                   **context)
            for user in organisation_recipients(application.organisation)]


def notify_payment(payment) -> list[OutboxMessage]:
    return _tell("payment_paid", payment.application, payment=payment, amount=f"{payment.amount:.2f}",
                 paid_on=payment.paid_on.isoformat())


def notify_report_returned(report, comment: str | None) -> list[OutboxMessage]:
    return _tell("report_returned", report.application, report=report, comment=comment or "",
                 period_end=report.due.period_end.isoformat())


def notify_report_accepted(report) -> list[OutboxMessage]:
    return _tell("report_accepted", report.application, report=report,
                 period_end=report.due.period_end.isoformat())


def notify_gate_outcome(application: Application, *, passed: bool, stage: str, opened: str, stage_name,
                        reason: str | None, feedback_for) -> list[OutboxMessage]:
    """``stage_name`` turns a stage code into its label while each member's message is rendered (in
    their language)."""
    return _tell("gate_outcome", application, passed=passed, stage=stage, opened=opened, stage_name=stage_name,
                 reason=reason or "", feedback_for=feedback_for)


def notify_irregularity(irregularity, comment: str | None) -> list[OutboxMessage]:
    return _tell("irregularity_confirmed", irregularity.application, irregularity=irregularity,
                 amount=f"{irregularity.amount:.2f}", comment=comment or "")
