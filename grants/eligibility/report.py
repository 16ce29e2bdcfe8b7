"""What the eligibility page and the API show: every rule of one application, live or stored.

A draft (and an application reopened by a clarification request) is checked live, nothing
stored; after submission the results stored for the latest round are read, with the officers'
decisions. Who may see what (the inputs, the justification) is decided here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from grants.applications.models import Application
from grants.applications.permissions import is_editable
from grants.core.roles import STAFF_ROLES, RoleCode
from grants.eligibility.models import EligibilityResult, Outcome, Severity
from grants.eligibility.services import check_application, latest_round, stored_results, unresolved

SEVERITY_LABELS = {
    Severity.BLOCKING: _l("Blocking"),
    Severity.MANUAL: _l("Needs an officer's check"),
    Severity.WARNING: _l("Warning"),
}
OUTCOME_LABELS = {
    Outcome.PASS: _l("Passes"),
    Outcome.FAIL: _l("Does not pass"),
    Outcome.MANUAL: _l("An officer will check"),
}


@dataclass
class RuleRow:
    """One rule as shown: its computed outcome and, after submission, the officer's decision."""

    code: str
    severity: Severity
    title: str
    message: str
    computed: Outcome
    decided: Outcome | None = None
    justification: str | None = None
    decided_at: datetime | None = None
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> Outcome:
        return self.decided or self.computed

    @property
    def severity_label(self) -> str:
        return str(SEVERITY_LABELS[self.severity])

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS[self.final])

    @property
    def computed_label(self) -> str:
        return str(OUTCOME_LABELS[self.computed])

    @property
    def decided_label(self) -> str | None:
        return str(OUTCOME_LABELS[self.decided]) if self.decided else None

    @property
    def blocks(self) -> bool:
        return self.severity == Severity.BLOCKING and self.final == Outcome.FAIL


@dataclass
class Report:
    #: ``True``: a live check of a draft; ``False``: the results stored at the latest submission.
    live: bool
    round: int | None
    rows: list[RuleRow]
    #: Live: no blocking rule fails (it can be submitted). Stored: nothing left for an officer to decide,
    #: no blocking rule failing, and no manual rule decided not met.
    passed: bool
    #: The stored results an officer must still decide (empty when live).
    unresolved: list[RuleRow] = field(default_factory=list)
    #: Stored results finally not met although decided (a manual rule an officer decided not met).
    failing: list[RuleRow] = field(default_factory=list)


def sees_inputs(user) -> bool:
    return user.is_authenticated and user.has_any_role(*STAFF_ROLES)


def may_decide(user) -> bool:
    return user.is_authenticated and user.has_any_role(RoleCode.OFFICER)


def checks_live(application: Application) -> bool:
    return is_editable(application)


def stored_row(result: EligibilityResult, language: str | None, staff: bool) -> RuleRow:
    shows_justification = staff or result.final_outcome == Outcome.FAIL
    english = language == "en"
    return RuleRow(code=result.rule_code, severity=result.severity,
                   title=result.title_en if english else result.title_lv,
                   message=(result.message_en if english else result.message_lv) or "",
                   computed=result.outcome, decided=result.decided_outcome,
                   justification=result.justification if shows_justification else None,
                   decided_at=result.decided_at if staff else None, inputs=(result.inputs or {}) if staff else {})


def build_report(application: Application, user, language: str) -> Report:
    staff = sees_inputs(user)
    if checks_live(application):
        outcomes = check_application(application)
        rows = [RuleRow(code=o.code, severity=o.severity, title=o.title(language), message=o.message(language),
                        computed=o.outcome, inputs=o.inputs if staff else {}) for o in outcomes]
        return Report(live=True, round=None, rows=rows, passed=not any(row.blocks for row in rows))
    results = stored_results(application)
    rows = [stored_row(result, language, staff) for result in results]
    open_ = {r.rule_code for r in unresolved(results)}
    failing = [row for row in rows if row.final == Outcome.FAIL and row.severity != Severity.WARNING
               and row.code not in open_]
    return Report(live=False, round=latest_round(application), rows=rows, passed=not open_ and not failing,
                  unresolved=[row for row in rows if row.code in open_], failing=failing)
