"""Guards of the application workflows (and the initiative's stage gate, which asks about
applications): the deadline, complete answers, appeals, the stages of a stage-gated award."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from grants.applications.models import Application
from grants.applications.services import missing_answers, next_award_stage
from grants.core.db import db, utcnow
from grants.core.templating import format_when
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


@guard("answers_complete")
def answers_complete(application, ctx: Context) -> Reason | None:
    """Every required question of the call's form answered, and every answer valid."""
    problems = missing_answers(application)
    if not problems:
        return None
    return Reason("answers_incomplete", ngettext(
        "%(num)d answer is missing or needs correcting. Edit the application, then submit it.",
        "%(num)d answers are missing or need correcting. Edit the application, then submit it.", len(problems)))
