"""SI stage gates of stage-gated awards (DESIGN §2, §4): money follows proven progress.

When the final report of stage k is accepted, the system opens the gate review: evaluators from the
call's pool, each after declaring no conflict of interest, score the stage's results (the accepted
final report, whose hash their assignments carry) with stage k+1's rubric, through the usual
evaluation machinery (grants.evaluations: two reviews, a third on a discrepancy). Once the reviews
are consolidated the committee decides: passing records stage k as proven, advances the initiative
and plans stage k+1's tranche; failing closes the award at stage k, and the grantee is told why.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _

from grants.applications.models import Application
from grants.applications.services import next_award_stage
from grants.core.errors import TransitionNotAllowed, UserInputError
from grants.core.values import as_date
from grants.decisions.services import FIELD_OF_REASON
from grants.evaluations.models import EvaluationResult
from grants.evaluations.services import feedback, register_gate_evidence, result_of
from grants.grants_mgmt.awards import agreement_of, tranche_amounts
from grants.grants_mgmt.payments import plan_tranche
from grants.grants_mgmt.reports import final_report
from grants.workflows.services import act

#: Days after a passed gate the next tranche falls due.
TRANCHE_DAYS = 30
OUTCOMES = {"passed": "pass_gate", "failed": "fail_gate"}


def evidence_hash(application: Application) -> str | None:
    """What the gate judges: the accepted final report of the stage the award funds now."""
    report = final_report(application)
    return report.content_hash if report is not None and report.state == "accepted" else None


register_gate_evidence(evidence_hash)


def gate_stage(application: Application) -> str | None:
    """The stage the next gate opens (None for the last funded stage)."""
    return next_award_stage(application)


def gate_result(application: Application) -> EvaluationResult | None:
    """The consolidated review of the gate the application stands at."""
    stage = gate_stage(application)
    return result_of(application, stage) if stage else None


def gate_feedback(application: Application, stage: str) -> dict[str, Any] | None:
    return feedback(application, stage)


def decide_gate(application: Application, actor, data: dict[str, Any], *, today: date) -> Application:
    """The committee's decision at a stage gate: ``outcome`` passed or failed, dated (not in the
    future), with a reason (required to fail, and to pass a gate the reviewers scored below the pass
    mark). Problems with the input are reported by field (422)."""
    errors: dict[str, list[str]] = {}
    trigger = OUTCOMES.get(str(data.get("outcome")))
    if trigger is None:
        errors["outcome"] = [_("Choose to pass the gate or to close the award at this stage.")]
    decided_on = as_date(data.get("decided_on")) if data.get("decided_on") not in (None, "") else None
    if decided_on is None:
        errors["decided_on"] = [_("Give the date of the decision.")]
    elif decided_on > today:
        errors["decided_on"] = [_("The decision date cannot be in the future.")]
    reason = str(data.get("reason") or "").strip()
    if len(reason) > 5000:
        errors["reason"] = [_("At most 5000 characters.")]
    if errors:
        raise UserInputError(fields=errors)
    result = gate_result(application)
    payload = {"decided_on": decided_on.isoformat(), "si_stage": application.award_stage,
               "gate_stage": gate_stage(application),
               "final_score": result.final_score if result is not None else None,
               "above_threshold": result.above_threshold if result is not None else None}
    try:
        act(application, trigger, actor, comment=reason or None, **payload)
    except TransitionNotAllowed as refused:
        reasons = refused.reasons or []
        fields = {"comment_required": "reason", **FIELD_OF_REASON}
        if reasons and all(r.get("code") in fields for r in reasons):
            found: dict[str, list[str]] = {}
            for item in reasons:
                found.setdefault("reason" if fields[item["code"]] == "justification" else fields[item["code"]],
                                 []).append(item["message"])
            raise UserInputError(fields=found) from None
        raise
    return application


def release_next_tranche(application: Application, *, today: date) -> None:
    """After a passed gate (``award_stage`` already moved on): the new stage's tranche is planned."""
    agreement = agreement_of(application)
    amount = tranche_amounts(agreement).get(application.award_stage)
    if amount:
        plan_tranche(application, application.award_stage, amount, today + timedelta(days=TRANCHE_DAYS))
