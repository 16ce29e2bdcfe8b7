"""What the applicant organisation is told of the committee's decision."""

from __future__ import annotations

from grants.applications.notices import application_link
from grants.decisions.services import latest_decision
from grants.eligibility.services import appeal_deadline
from grants.evaluations.services import feedback
from grants.notifications.models import OutboxMessage
from grants.notifications.services import local_time, notify, one_line, organisation_recipients


def notify_decision(application) -> list[OutboxMessage]:
    """The committee's decision to every member: outcome, amount and conditions, the consolidated
    anonymous feedback and, when the application was not funded, the appeal deadline."""
    decision = latest_decision(application)
    link = application_link(application)
    deadline = local_time(appeal_deadline(application)) if application.state == "rejected" else None
    messages = []
    for user in organisation_recipients(application.organisation):
        messages.append(notify("decision", user, object_type="application", object_id=application.id,
                               application=application, title=one_line(application.title),
                               call_code=one_line(application.call.code), decision=decision,
                               feedback_for=lambda: feedback(application), deadline=deadline, link=link))
    return messages
