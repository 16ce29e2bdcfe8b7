"""Guards of the application workflows (and the initiative's stage gate, which asks about
applications): the deadline, complete answers and an amount within the stage's limits, appeals, the stages
of a stage-gated award."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from grants.applications.models import Application
from grants.applications.services import amount_limits_error, current_attachments, missing_answers, next_award_stage
from grants.core.db import db, utcnow
from grants.core.i18n import current_language
from grants.core.templating import format_when
from grants.forms.definitions import iter_questions
from grants.workflows.registry import Context, Reason, guard


@guard("appealed_from_ineligible")
def appealed_from_ineligible(obj, ctx: Context) -> Reason | None:
    if obj.appealed_from == "ineligible":
        return None
    return Reason("appeal_origin", _("This appeal is not against an eligibility decision."))


@guard("appealed_from_rejected")
def appealed_from_rejected(obj, ctx: Context) -> Reason | None:
    if obj.appealed_from == "rejected":
        return None
    return Reason("appeal_origin", _("This appeal is not against a funding decision."))


@guard("has_next_award_stage")
def has_next_award_stage(obj, ctx: Context) -> Reason | None:
    """A gate review only makes sense when the call funds a stage after this one."""
    if next_award_stage(obj) is not None:
        return None
    return Reason("last_stage", _("The call funds no further stage; accept the final report to complete the grant."))


@guard("is_last_award_stage")
def is_last_award_stage(obj, ctx: Context) -> Reason | None:
    if next_award_stage(obj) is None:
        return None
    return Reason("next_stage_pending", _("The call funds a further stage: start the gate review instead."))


@guard("stage_proven")
def stage_proven(initiative, ctx: Context) -> Reason | None:
    """An initiative moves on when a grant at its current stage has its results accepted.

    A guard of the initiative workflow registered here: the evidence is on the applications,
    and applications sit above initiatives."""
    applications = db.session.scalars(sa.select(Application).where(Application.initiative_id == initiative.id))
    if any(initiative.current_stage in (application.proven_stages or []) for application in applications):
        return None
    return Reason("stage_not_proven",
                  _("No grant at the current stage has had its results accepted yet."))


@guard("before_deadline")
def before_deadline(application, ctx: Context) -> Reason | None:
    """Submissions close at the call's deadline by the server's clock; the draft is kept."""
    if utcnow() < application.call.closes_at:
        return None
    return Reason("deadline_passed", _("The call closed at %(deadline)s. Your draft is kept, but it can no longer "
                                       "be submitted.", deadline=format_when(application.call.closes_at)))


def _question_labels(form) -> dict[str, str]:
    """The form's questions' labels in the request's language, by question code."""
    language = current_language()
    return {question["code"]: question.get(f"label_{language}") or question.get("label_lv") or question["code"]
            for _section, question in iter_questions(form) if isinstance(question.get("code"), str)}


@guard("answers_complete")
def answers_complete(application, ctx: Context) -> list[Reason] | None:
    """Every required question of the call's form answered, every answer valid, and the requested amount
    within the limits of the call's SI stage (whatever the call's eligibility rules say). The reasons say
    which: each question by its label with what is wrong, and ``fields`` by ``answers.<code>`` and
    ``requested_amount`` as a PATCH names them (a table's cell ``answers.<code>.<row>.<column>``)."""
    # the files are read once: the snapshot the submit takes next lists the same ones (take_snapshot)
    attachments = ctx.found["attachments"] = current_attachments(application)
    problems = missing_answers(application, attachments)
    reasons = []
    if problems:
        labels = _question_labels(application.call.form)
        which = " ".join(f"{labels.get(key.split('.')[0], key)}: {' '.join(messages)}"
                         for key, messages in problems.items())
        reasons.append(Reason("answers_incomplete", ngettext(
            "%(num)d answer is missing or needs correcting. Edit the application, then submit it.",
            "%(num)d answers are missing or need correcting. Edit the application, then submit it.",
            len(problems)) + " " + which, fields={f"answers.{key}": messages for key, messages in problems.items()}))
    outside = amount_limits_error(application.call, application.si_stage, application.requested_amount)
    if outside is not None:
        reasons.append(Reason("amount_outside_limits", _(
            "Requested amount: %(problem)s Edit the application, then submit it.", problem=outside),
            fields={"requested_amount": [outside]}))
    return reasons or None
