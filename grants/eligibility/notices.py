"""What the applicant organisation is told when its application is found not eligible."""

from __future__ import annotations

from grants.applications.notices import application_link
from grants.eligibility.services import appeal_deadline, failed_results
from grants.notifications.models import OutboxMessage
from grants.notifications.services import local_time, notify, one_line, organisation_recipients


def notify_ineligible(application, comment: str | None) -> list[OutboxMessage]:
    """The reasons (rules not met, the officer's comment) and the appeal deadline, to every member."""
    link = application_link(application)
    deadline = local_time(appeal_deadline(application))
    reasons = failed_results(application)
    return [notify("ineligible", user, object_type="application", object_id=application.id,
                   application=application, title=one_line(application.title),
                   call_code=one_line(application.call.code), reasons=reasons, comment=comment or "",
                   deadline=deadline, link=link)
            for user in organisation_recipients(application.organisation)]
