"""Guards named by workflow definitions."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from grants.workflows.registry import Context, Reason, guard


@guard("comment_given")
def comment_given(obj, ctx: Context) -> Reason | None:
    """The person firing must say why (clarification questions, refusals, terminations)."""
    if ctx.comment and ctx.comment.strip():
        return None
    return Reason("comment_required", _("Write the reason or question in the comment."))


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


def _stage_model(obj):
    from grants.initiatives.stages import STAGE_MODELS

    return STAGE_MODELS[obj.call.programme.stage_model]


def next_award_stage(application) -> str | None:
    """The call's next funded stage after the one the award funds now (stage-gated calls)."""
    model = _stage_model(application)
    funded = sorted((s.si_stage for s in application.call.stages), key=model.position)
    later = [code for code in funded if model.position(code) > model.position(application.award_stage)]
    return later[0] if later else None


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
    """An initiative moves on when a grant at its current stage has its results accepted."""
    from grants.applications.models import Application
    from grants.core.db import db

    applications = db.session.scalars(sa.select(Application).where(Application.initiative_id == initiative.id))
    if any(initiative.current_stage in (application.proven_stages or []) for application in applications):
        return None
    return Reason("stage_not_proven",
                  _("No grant at the current stage has had its results accepted yet."))


@guard("evidence_justified")
def evidence_justified(initiative, ctx: Context) -> Reason | None:
    """An initiative entering mid-way moves on on evidence an officer accepts in writing."""
    if "officer" in ctx.roles and ctx.comment and len(ctx.comment.strip()) >= 20:
        return None
    return Reason("justification_required",
                  _("Without an accepted grant at this stage, an officer must justify the move in writing "
                    "(at least 20 characters)."))


@guard("before_deadline")
def before_deadline(application, ctx: Context) -> Reason | None:
    """Submissions close at the call's deadline by the server's clock; the draft is kept."""
    from grants.core.db import utcnow
    from grants.core.templating import format_when

    if utcnow() < application.call.closes_at:
        return None
    return Reason("deadline_passed", _("The call closed at %(deadline)s. Your draft is kept, but it can no longer "
                                       "be submitted.", deadline=format_when(application.call.closes_at)))


@guard("answers_complete")
def answers_complete(application, ctx: Context) -> Reason | None:
    """Every required question of the call's form answered, and every answer valid."""
    from grants.applications.services import missing_answers

    problems = missing_answers(application)
    if not problems:
        return None
    return Reason("answers_incomplete", ngettext(
        "%(num)d answer is missing or needs correcting. Edit the application, then submit it.",
        "%(num)d answers are missing or need correcting. Edit the application, then submit it.", len(problems)))


@guard("eligibility_passes")
def eligibility_passes(application, ctx: Context) -> list[Reason] | None:
    """No blocking eligibility rule of the call fails (each failing rule is its own reason)."""
    from grants.eligibility.services import blocking, check_application

    outcomes = ctx.found["eligibility"] = check_application(application)  # record_eligibility stores them
    failing = blocking(outcomes)
    return [Reason("eligibility_failed", f"{o.title()}: {o.message()}", rule=o.code) for o in failing] or None


@guard("eligibility_resolved")
def eligibility_resolved(application, ctx: Context) -> list[Reason] | None:
    """Before declaring eligible: every manual rule confirmed, every failed blocking rule overridden."""
    from grants.core.i18n import current_language
    from grants.eligibility.services import stored_results, unresolved

    english = current_language() == "en"
    open_ = unresolved(stored_results(application))
    from grants.eligibility.models import Outcome

    return [Reason("eligibility_unresolved",
                   _("%(rule)s: decide this rule first (confirm it, or override it with a justification).",
                     rule=r.title_en if english else r.title_lv) if r.final_outcome == Outcome.MANUAL else
                   _("%(rule)s: the rule is not met; declare the application ineligible, or override the rule "
                     "with a justification.", rule=r.title_en if english else r.title_lv), rule=r.rule_code)
            for r in open_] or None


@guard("before_appeal_deadline")
def before_appeal_deadline(application, ctx: Context) -> Reason | None:
    """An appeal is lodged within ``APPEAL_DAYS`` of the decision."""
    from grants.core.db import utcnow
    from grants.core.templating import format_when
    from grants.eligibility.services import appeal_deadline

    deadline = appeal_deadline(application)
    if utcnow() <= deadline:
        return None
    return Reason("appeal_deadline_passed", _("The time to appeal ended at %(deadline)s.",
                                              deadline=format_when(deadline)))


# --- evaluation and decisions (grants/evaluations, grants/decisions) ---------------------------------

@guard("statement_given")
def statement_given(assignment, ctx: Context) -> Reason | None:
    """A declared conflict of interest is described."""
    if str(ctx.payload.get("statement") or ctx.comment or "").strip():
        return None
    return Reason("statement_required", _("Describe the conflict of interest."))


@guard("review_complete")
def review_complete(assignment, ctx: Context) -> list[Reason] | None:
    """Every criterion of the rubric scored and the summary written."""
    from grants.evaluations.services import missing_parts

    return [Reason("review_incomplete", message) for message in missing_parts(assignment)] or None


@guard("assessed_version_current")
def assessed_version_current(assignment, ctx: Context) -> Reason | None:
    """The review judges the version now submitted (its content hash), not an earlier one."""
    latest = assignment.application.latest_submission
    if latest is not None and latest.content_hash == assignment.content_hash:
        return None
    return Reason("version_changed", _("The application was submitted again since it was assigned; an officer must "
                                       "reassign it."))


@guard("still_in_evaluation")
def still_in_evaluation(assignment, ctx: Context) -> Reason | None:
    if assignment.application.state == "in_evaluation":
        return None
    return Reason("evaluation_closed", _("The evaluation of this application is complete; reviews can no longer be "
                                         "returned."))


@guard("evaluation_consolidated")
def evaluation_consolidated(application, ctx: Context) -> Reason | None:
    """The required reviews are in and consolidated (no third evaluation awaited)."""
    from grants.evaluations.services import is_consolidated

    if is_consolidated(application):
        return None
    return Reason("evaluation_incomplete", _("The reviews are not all in and consolidated yet."))


@guard("decision_dated")
def decision_dated(application, ctx: Context) -> Reason | None:
    """A decision carries its date, not in the future (recorded through the decision page or API)."""
    from grants.decisions.services import _date, today

    decided_on = _date(ctx.payload.get("decided_on"))
    if decided_on is None:
        return Reason("decision_date", _("Record the decision with its date on the decision page."))
    if decided_on > today():
        return Reason("decision_date", _("The decision date cannot be in the future."))
    return None


@guard("decider_not_evaluator")
def decider_not_evaluator(application, ctx: Context) -> Reason | None:
    """Separation of duties: whoever was assigned to evaluate the application does not decide it."""
    from grants.core.db import db
    from grants.evaluations.models import Assignment

    if ctx.actor is None:
        return None
    assigned = db.session.scalar(sa.select(sa.func.count()).select_from(Assignment).where(
        Assignment.application_id == application.id, Assignment.evaluator_id == ctx.actor.id))
    if not assigned:
        return None
    return Reason("separation_of_duties", _("You were assigned to evaluate this application, so you cannot decide "
                                            "on it."))


@guard("departure_justified")
def departure_justified(application, ctx: Context) -> Reason | None:
    """A decision other than the ranking recommends needs a written justification."""
    from grants.decisions.models import OUTCOME_LABELS, OUTCOME_TRIGGERS
    from grants.evaluations.ranking import row_for

    row = ctx.found["rank_row"] = row_for(application.call, application.id)
    outcome = next((o for o, t in OUTCOME_TRIGGERS.items() if t == ctx.trigger), None)
    if row is None or row.recommendation is None or outcome is None or outcome.value == row.recommendation:
        return None
    if ctx.comment and ctx.comment.strip():
        return None
    from grants.decisions.models import Outcome

    return Reason("justification_required",
                  _("The ranking recommends “%(recommended)s”; write why the committee decides otherwise.",
                    recommended=OUTCOME_LABELS[Outcome(row.recommendation)]))
