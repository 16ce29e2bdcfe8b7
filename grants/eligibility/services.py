"""Running a call's eligibility rules, storing the results of a submission, and officers' decisions.

- :func:`evaluate` runs the rules for many applications at once (facts loaded in a fixed number
  of queries, each expression compiled once);
- :func:`check_application` is the applicant's check of a draft (nothing stored);
- :func:`record_results` stores the outcome of every rule for a submission round, with its
  inputs (the submit and resubmit transitions call it);
- :func:`decide` is an officer confirming a manual rule or overriding a failed one (a
  justification is required for an override and for a negative confirmation), audited.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import rule_engine
import sqlalchemy as sa
from babel.numbers import format_decimal
from flask import current_app
from flask_babel import gettext as _

from grants.applications.models import Application, Submission
from grants.audit.models import AuditEvent
from grants.audit.services import record_event
from grants.calls.models import Call
from grants.core.db import db, today, utcnow
from grants.core.errors import Conflict, NotFound, UserInputError
from grants.core.i18n import current_language
from grants.eligibility.checks import CHECKS
from grants.eligibility.facts import Facts, load_facts
from grants.eligibility.models import AidSource, DeMinimisAid, EligibilityResult, Outcome, Severity
from grants.eligibility.rules import compile_expression


@dataclass
class RuleOutcome:
    """One rule's result for one application: what the applicant and the officer read."""

    code: str
    severity: Severity
    outcome: Outcome
    title_lv: str
    title_en: str
    message_lv: str = ""
    message_en: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)

    def title(self, language: str | None = None) -> str:
        return self.title_en if (language or current_language()) == "en" else self.title_lv

    def message(self, language: str | None = None) -> str:
        return self.message_en if (language or current_language()) == "en" else self.message_lv

    @property
    def blocks(self) -> bool:
        """A blocking rule that failed: the application cannot be submitted."""
        return self.severity == Severity.BLOCKING and self.outcome == Outcome.FAIL


@functools.lru_cache(maxsize=512)
def _compiled(expression: str) -> rule_engine.Rule:
    return compile_expression(expression)


class _Inputs(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


#: An input that is a decimal number as the checks write it (``60000.00``), alone or as a percentage (``5.00 %``).
_NUMBER = re.compile(r"^(-?\d+\.(\d+))( %)?$")


def _in_words_of(language: str, value: Any) -> Any:
    """A decimal input written as ``language`` writes numbers (``60 000,00`` in Latvian, ``60,000.00`` in
    English), with the same decimals; anything else as it is. The stored inputs stay as the checks wrote them."""
    match = _NUMBER.match(value) if isinstance(value, str) else None
    if match is None:
        return value
    number, decimals, percent = match.groups()
    written = format_decimal(Decimal(number), format="#,##0." + "0" * len(decimals), locale=language)
    return written + (percent or "")


def _format(text: str, inputs: dict[str, Any], language: str) -> str:
    """A rule's message in ``language`` with its inputs, the numbers among them written as that language does."""
    try:
        return string.Formatter().vformat(text, (), _Inputs({key: _in_words_of(language, value)
                                                             for key, value in inputs.items()}))
    except (ValueError, IndexError, AttributeError):
        return text


def _run(rule: dict[str, Any], facts: Facts, context: dict[str, Any] | None) -> tuple[Outcome, dict[str, Any], str]:
    """``(outcome, inputs, error)``; an expression that cannot be evaluated for this application
    (e.g. an answer missing) goes to an officer rather than failing anyone silently."""
    if "check" in rule:
        result = CHECKS[rule["check"]].run(facts, rule.get("params") or {})
        return result.outcome, result.inputs, ""
    try:
        matched = _compiled(rule["expression"]).matches(context)
    except rule_engine.errors.EngineError as error:
        return Outcome.MANUAL, {}, getattr(error, "message", str(error))
    return (Outcome.PASS if matched else Outcome.FAIL), {}, ""


def evaluate_facts(rules: list[dict[str, Any]], facts: Facts) -> list[RuleOutcome]:
    context = facts.context() if any("expression" in rule for rule in rules) else None
    outcomes = []
    for rule in rules:
        outcome, inputs, error = _run(rule, facts, context)
        severity = Severity(rule["severity"])
        if outcome == Outcome.FAIL and severity == Severity.MANUAL:
            outcome = Outcome.MANUAL  # a manual rule that does not pass is the officer's to decide
        result = RuleOutcome(code=rule["code"], severity=severity, outcome=outcome, title_lv=rule["title_lv"],
                             title_en=rule["title_en"], inputs=inputs)
        if error:
            result.message_lv = str(_l_in("lv", error))
            result.message_en = str(_l_in("en", error))
        elif outcome != Outcome.PASS:
            result.message_lv = _format(rule["message_lv"], inputs, "lv")
            result.message_en = _format(rule["message_en"], inputs, "en")
        outcomes.append(result)
    return outcomes


def _l_in(language: str, reason: str) -> str:
    from flask_babel import force_locale

    with force_locale(language):
        return _("The rule could not be evaluated for this application: %(reason)s. An officer will check it.",
                 reason=reason)


def evaluate(applications: list[Application], *, rules: list[dict[str, Any]] | None = None,
             on: date | None = None) -> dict[int, list[RuleOutcome]]:
    """Every application's outcomes under its call's ruleset (or ``rules``), by application id.

    Reads without flushing: guards and effects call it in the middle of a transition."""
    with db.session.no_autoflush:
        facts = load_facts(applications, on or today())
    return {app_id: evaluate_facts(rules if rules is not None else (fact.call.eligibility_rules or []), fact)
            for app_id, fact in facts.items()}


def check_application(application: Application, *, rules: list[dict[str, Any]] | None = None,
                      on: date | None = None) -> list[RuleOutcome]:
    return evaluate([application], rules=rules, on=on)[application.id]


def blocking(outcomes: list[RuleOutcome]) -> list[RuleOutcome]:
    return [outcome for outcome in outcomes if outcome.blocks]


# --- Stored results ----------------------------------------------------------------------------

def record_results(application: Application, round_: int,
                   outcomes: list[RuleOutcome] | None = None) -> list[RuleOutcome]:
    """Store every rule's outcome for the submission ``round_`` (in the caller's transaction), and return
    them: ``outcomes`` when the submit guard has just computed them, else computed now.

    One bulk INSERT (executemany, no objects made): a submit stores a row per rule, and on SQLite the unit
    of work would send one INSERT per row."""
    if outcomes is None:
        outcomes = check_application(application)
    if outcomes:
        with db.session.no_autoflush:  # runs inside a transition: the engine flushes, and names a conflict
            db.session.execute(sa.insert(EligibilityResult), [
                {"application_id": application.id, "round": round_, "rule_code": o.code, "severity": o.severity,
                 "outcome": o.outcome, "title_lv": o.title_lv, "title_en": o.title_en, "message_lv": o.message_lv,
                 "message_en": o.message_en, "inputs": o.inputs} for o in outcomes])
    return outcomes


def latest_round(application: Application) -> int | None:
    return application.latest_submission.round if application.latest_submission else None


def stored_results(application: Application) -> list[EligibilityResult]:
    """The results stored for the latest submission round, in ruleset order."""
    round_ = latest_round(application)
    if round_ is None:
        return []
    return list(db.session.scalars(sa.select(EligibilityResult).where(
        EligibilityResult.application_id == application.id, EligibilityResult.round == round_)
        .order_by(EligibilityResult.id)))


def unresolved(results: list[EligibilityResult]) -> list[EligibilityResult]:
    """What stops declaring the application eligible: manual rules not decided, and blocking or
    manual rules that failed (computed or decided) and were not overridden. Warnings never do."""
    return [r for r in results if r.final_outcome == Outcome.MANUAL
            or (r.severity != Severity.WARNING and r.final_outcome == Outcome.FAIL)]


def decide(application: Application, rule_code: str, actor, outcome: str, justification: str | None,
           expected_version: int | None = None) -> EligibilityResult:
    """An officer confirms a manual rule (``pass`` or ``fail``) or overrides a failed one to
    ``pass``. Overrides and negative confirmations need a written justification. Only while
    the application is in eligibility review; audited in the same transaction."""
    if expected_version is not None and expected_version != application.version:
        raise Conflict()
    if application.state != "eligibility_review":
        raise Conflict(_("Eligibility results are decided only while the eligibility is being checked."))
    result = next((r for r in stored_results(application) if r.rule_code == rule_code), None)
    if result is None:
        raise NotFound()
    justification = (justification or "").strip()
    errors: dict[str, list[str]] = {}
    if outcome not in (Outcome.PASS, Outcome.FAIL):
        errors["outcome"] = [_("Choose pass or fail.")]
    elif outcome == Outcome.PASS and result.outcome == Outcome.FAIL and len(justification) < 20:
        errors["justification"] = [_("Overriding a failed rule needs a written justification "
                                     "(at least 20 characters).")]
    elif outcome == Outcome.FAIL and result.outcome != Outcome.FAIL and len(justification) < 20:
        errors["justification"] = [_("Say why the rule is not met (at least 20 characters): the applicant "
                                     "reads it.")]
    if errors:
        raise UserInputError(fields=errors)
    before = result.decided_outcome
    result.decided_outcome = Outcome(outcome)
    result.decided_by_id = actor.id
    result.decided_at = utcnow()
    result.justification = justification or None
    db.session.flush()
    record_event(action="eligibility.decide", object_type="application", object_id=application.id, actor=actor,
                 role="officer", comment=justification or None,
                 payload={"rule": rule_code, "round": result.round, "computed": result.outcome.value,
                          "before": before.value if before else None, "decided": result.decided_outcome.value})
    return result


def failed_results(application: Application) -> list[EligibilityResult]:
    """The rules the application does not meet, as finally decided (for the ineligibility notice)."""
    return [r for r in stored_results(application) if r.final_outcome == Outcome.FAIL
            and r.severity != Severity.WARNING]


DECISIONS = ("application.declare_ineligible", "application.reject")


def appeal_deadline(application: Application) -> datetime:
    """``APPEAL_DAYS`` after the latest ineligibility or funding decision (now, while it is being made)."""
    decided = db.session.scalar(sa.select(sa.func.max(AuditEvent.occurred_at)).where(
        AuditEvent.object_type == "application", AuditEvent.object_id == str(application.id),
        AuditEvent.action.in_(DECISIONS)))
    return (decided or utcnow()) + timedelta(days=int(current_app.config["APPEAL_DAYS"]))


def registered_aid(application: Application) -> Decimal:
    """The de minimis aid the register holds for ``application`` (its award, and raises paid since)."""
    total = db.session.execute(sa.select(sa.func.sum(DeMinimisAid.amount))
                               .where(DeMinimisAid.application_id == application.id)).scalar_one()
    return Decimal(total or 0).quantize(Decimal("0.01"))


def register_award(application: Application, amount: Decimal | None = None) -> dict[str, Any] | None:
    """Add a signed grant to the de minimis register when its call checks de minimis: ``amount`` is
    what the agreement awards (the requested amount when there is no agreement to say)."""
    if not any(rule.get("check") == "de_minimis" for rule in application.call.eligibility_rules or []):
        return None
    amount = amount if amount is not None else application.requested_amount
    aid = DeMinimisAid(registration_number=application.organisation.registration_number,
                       undertaking=application.organisation.name, amount=amount,
                       granted_on=today(), granting_authority=application.call.programme.title_lv,
                       source=AidSource.AWARD, application_id=application.id, reference=application.call.code)
    db.session.add(aid)
    return {"amount": f"{amount:.2f}", "granted_on": aid.granted_on.isoformat()}


# --- The officers' queue -----------------------------------------------------------------------

#: Applications waiting for the eligibility check, or for the applicant's clarification.
QUEUE_STATES = ("eligibility_review", "clarification_requested")


@dataclass
class QueueRow:
    """One application of the queue: when its latest round was sent and, from that round's stored results,
    blocking rules failing (not overridden), rules waiting for an officer, warnings."""

    application: Application
    submitted_at: datetime | None
    failed: int = 0
    undecided: int = 0
    warnings: int = 0


def _submitted_at(application) -> sa.ScalarSelect:
    """When ``application``'s (an entity or an alias) latest submission round was sent: the index on the
    submissions' application and time answers it without reading the snapshots."""
    return (sa.select(sa.func.max(Submission.submitted_at)).where(Submission.application_id == application.id)
            .correlate(application).scalar_subquery())


def _queued(call_id: int | None = None, application=Application) -> list[sa.ColumnElement[bool]]:
    conditions = [application.state.in_(QUEUE_STATES)]
    if call_id:
        conditions.append(application.call_id == call_id)
    return conditions


def queue_total(call_id: int | None = None) -> int:
    """How many applications are in the queue (of one call): the ``(state, call_id)`` index alone."""
    return db.session.execute(sa.select(sa.func.count()).select_from(Application)
                              .where(*_queued(call_id))).scalar_one()


def queue_page(page: int, per_page: int, call_id: int | None = None) -> list[QueueRow]:
    """One page of the queue (of one call), the oldest latest submission first, with the counts of each
    application's results: two statements, whatever the length of the queue.

    The page's ids are chosen from the applications alone (their state index and each one's latest submission
    time from the submissions' index); only those ``per_page`` applications are then read with their call and
    organisation, never the whole queue joined and sorted with its rows."""
    queued = sa.orm.aliased(Application, name="queued")
    on_page = (sa.select(queued.id).where(*_queued(call_id, queued))
               .order_by(_submitted_at(queued).asc().nulls_last(), queued.id.asc())
               .limit(per_page).offset((page - 1) * per_page))
    submitted_at = _submitted_at(Application)
    found = db.session.execute(
        sa.select(Application, submitted_at.label("submitted_at"))
        .where(Application.id.in_(on_page.scalar_subquery()))
        .options(sa.orm.joinedload(Application.call), sa.orm.joinedload(Application.organisation),
                 sa.orm.lazyload(Application.submissions))
        .order_by(submitted_at.asc().nulls_last(), Application.id.asc())).unique().all()
    counts = _result_counts([application.id for application, _submitted in found])
    return [QueueRow(application, when, *counts.get(application.id, (0, 0, 0))) for application, when in found]


def _result_counts(application_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """Per application, from the latest round's stored results: blocking rules failing (not overridden), rules
    waiting for an officer, warnings. One statement, over the given applications only."""
    if not application_ids:
        return {}
    final = sa.func.coalesce(EligibilityResult.decided_outcome, EligibilityResult.outcome)
    latest = (sa.select(Submission.application_id, sa.func.max(Submission.round).label("round"))
              .where(Submission.application_id.in_(application_ids))
              .group_by(Submission.application_id).subquery("latest"))

    def count(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    rows = db.session.execute(
        sa.select(EligibilityResult.application_id,
                  count(sa.and_(EligibilityResult.severity == Severity.BLOCKING, final == Outcome.FAIL)),
                  count(final == Outcome.MANUAL),
                  count(sa.and_(EligibilityResult.severity == Severity.WARNING, final != Outcome.PASS)))
        .join(latest, sa.and_(latest.c.application_id == EligibilityResult.application_id,
                              latest.c.round == EligibilityResult.round))
        .group_by(EligibilityResult.application_id))
    return {app_id: (failed, undecided, warnings) for app_id, failed, undecided, warnings in rows}


def queue_calls() -> list[Call]:
    """The calls that have applications in the queue, by code (the queue's filter)."""
    return list(db.session.scalars(sa.select(Call).where(Call.id.in_(
        sa.select(Application.call_id).where(*_queued()))).order_by(Call.code)))
