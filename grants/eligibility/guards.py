"""Guards the application workflows take from eligibility: no failing blocking rule at
submission, every rule resolved before declaring eligible, appeals within their time."""

from __future__ import annotations

from flask_babel import gettext as _

from grants.core.db import utcnow
from grants.core.i18n import current_language
from grants.core.templating import format_when
from grants.eligibility.models import Outcome
from grants.eligibility.services import appeal_deadline, blocking, check_application, stored_results, unresolved
from grants.workflows.registry import Context, Reason, guard


@guard("eligibility_passes")
def eligibility_passes(application, ctx: Context) -> list[Reason] | None:
    """No blocking eligibility rule of the call fails (each failing rule is its own reason)."""
    outcomes = ctx.found["eligibility"] = check_application(application)  # record_eligibility stores them
    failing = blocking(outcomes)
    return [Reason("eligibility_failed", f"{o.title()}: {o.message()}", rule=o.code) for o in failing] or None


@guard("eligibility_resolved")
def eligibility_resolved(application, ctx: Context) -> list[Reason] | None:
    """Before declaring eligible: every manual rule confirmed, every failed blocking rule overridden."""
    english = current_language() == "en"
    open_ = unresolved(stored_results(application))
    return [Reason("eligibility_unresolved",
                   _("%(rule)s: decide this rule first (confirm it, or override it with a justification).",
                     rule=r.title_en if english else r.title_lv) if r.final_outcome == Outcome.MANUAL else
                   _("%(rule)s: the rule is not met; declare the application ineligible, or override the rule "
                     "with a justification.", rule=r.title_en if english else r.title_lv), rule=r.rule_code)
            for r in open_] or None


@guard("before_appeal_deadline")
def before_appeal_deadline(application, ctx: Context) -> Reason | None:
    """An appeal is lodged within ``APPEAL_DAYS`` of the decision."""
    deadline = appeal_deadline(application)
    if utcnow() <= deadline:
        return None
    return Reason("appeal_deadline_passed", _("The time to appeal ended at %(deadline)s.",
                                              deadline=format_when(deadline)))
