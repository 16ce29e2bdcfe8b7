"""What the applicant organisation is told about its application: a receipt of each
submission, the officer's clarification questions, and a corrigendum of the call it is drafting
for (the outbox, grants.notifications)."""

from __future__ import annotations

import sqlalchemy as sa

from grants.applications.models import Application
from grants.calls.models import Call, CallVersion
from grants.calls.signals import call_corrected
from grants.core.db import db
from grants.notifications.models import OutboxMessage
from grants.notifications.services import external_url, local_time, notify, one_line, organisation_recipients
from grants.organisations.models import Organisation


def application_link(application) -> str:
    """The application's page, for messages about it."""
    return external_url("applications.detail", application_id=application.id)


def notify_submission_receipt(application, submission) -> list[OutboxMessage]:
    """A receipt to every member of the applicant organisation: what was submitted, to which
    call, when (Europe/Riga), its content hash, and a link. Flushes, never commits."""
    link = application_link(application)
    submitted_at = local_time(submission.submitted_at)
    return [notify("submission_receipt", user, object_type="application", object_id=application.id,
                   application=application, title=one_line(application.title),
                   call_code=one_line(application.call.code), submission=submission,
                   submitted_at=submitted_at, link=link)
            for user in organisation_recipients(application.organisation)]


def notify_clarification_requested(application, question: str | None) -> list[OutboxMessage]:
    """The officer's question to every member of the applicant organisation, with a link."""
    link = application_link(application)
    return [notify("clarification_requested", user, object_type="application", object_id=application.id,
                   application=application, title=one_line(application.title),
                   call_code=one_line(application.call.code), question=question or "", link=link)
            for user in organisation_recipients(application.organisation)]


def notify_appeal_outcome(application, *, upheld: bool, against: str, reasons: str) -> list[OutboxMessage]:
    """The appeal's outcome (upheld or dismissed, against the eligibility or the funding decision) with the
    officer's reasons, to every member of the applicant organisation, each in their own language."""
    link = application_link(application)
    return [notify("appeal_outcome", user, object_type="application", object_id=application.id,
                   application=application, title=one_line(application.title),
                   call_code=one_line(application.call.code), upheld=upheld, against=against,
                   reasons=reasons, link=link)
            for user in organisation_recipients(application.organisation)]


@call_corrected.connect
def notify_corrigendum(call: Call, *, version: CallVersion) -> None:
    """Everyone in an organisation with a draft for the call learns of the corrigendum, once."""
    organisations = db.session.execute(
        sa.select(Organisation).where(Organisation.id.in_(
            sa.select(Application.organisation_id).where(Application.call_id == call.id,
                                                         Application.state == "draft")))
        .order_by(Organisation.id)).unique().scalars().all()
    told: set[int] = set()
    link = external_url("calls.detail", call_id=call.id)
    for organisation in organisations:
        for user in organisation_recipients(organisation):
            if user.id in told:
                continue
            told.add(user.id)
            notify("corrigendum", user, object_type="call", object_id=call.id, call_code=one_line(call.code),
                   title_lv=one_line(call.title_lv), title_en=one_line(call.title_en), version=version.version,
                   reason=version.reason, deadline=local_time(call.closes_at), link=link)
