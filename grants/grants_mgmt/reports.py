"""Progress and final reports of a grant (DESIGN §7).

The agreement lists the reports it requires (:class:`~grants.grants_mgmt.models.ReportDue`): kind,
the SI stage and period covered, the due date. The grantee drafts a report for one of them — what
was done, the indicators' values for the period, the expenditure by the application's budget
categories (claimed against the approved budget, with co-financing), files — and submits it
(``grant_report_v1``), which freezes it under a content hash; an officer accepts it or returns it
with comments. A final report moves its application (grants.grants_mgmt.effects). A required
report neither submitted nor accepted by its due date is overdue.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from grants.applications.attachments import forget_upload, keep_if_committed, receive_upload
from grants.applications.models import Application
from grants.audit.changes import changes
from grants.audit.services import record_event
from grants.core.db import content_hash, db, to_money, utcnow
from grants.core.errors import Conflict, NotFound, PermissionDenied, UserInputError
from grants.core.i18n import current_language
from grants.core.values import as_money
from grants.forms.definitions import iter_questions, localized_text
from grants.forms.templates import BUDGET_AMOUNT, BUDGET_CO_FINANCING, BUDGET_CODE, budget_with_cofinancing
from grants.forms.validation import parse_decimal
from grants.grants_mgmt.awards import RUNNING_STATES, agreement_of
from grants.grants_mgmt.indicators import indicator_codes, parse_value
from grants.grants_mgmt.models import FilePurpose, GrantFile, GrantReport, ReportDue, ReportKind
from grants.grants_mgmt.models.reports import DELIVERED_STATES, EDITABLE_REPORT_STATES
from grants.workflows.services import act

#: Fields of a report the grantee writes.
CONTENT_FIELDS = ("narrative", "indicators", "expenditure")
NARRATIVE_MAX = 20000
EXPENDITURE_MAX_LINES = 100


class ReportNotEditable(Conflict):
    code = "not_editable"

    def __init__(self) -> None:
        super().__init__(_("The report has been submitted: it can be changed again only if an officer returns it."))


def reports_of(application: Application) -> list[GrantReport]:
    return list(db.session.scalars(sa.select(GrantReport).where(GrantReport.application_id == application.id)
                                   .join(ReportDue, ReportDue.id == GrantReport.due_id)
                                   .order_by(ReportDue.due_on, GrantReport.id)).unique())


def get_report(report_id: int) -> GrantReport:
    report = db.session.get(GrantReport, report_id)
    if report is None:
        raise NotFound()
    return report


def is_editable(report: GrantReport) -> bool:
    return report.state in EDITABLE_REPORT_STATES


def files_of(report: GrantReport) -> list[GrantFile]:
    return list(db.session.scalars(sa.select(GrantFile).where(GrantFile.report_id == report.id,
                                                              GrantFile.removed_at.is_(None))
                                   .order_by(GrantFile.id)))


# --- budget categories --------------------------------------------------------------------------------

def _budget_question(application: Application) -> dict[str, Any]:
    for _section, question in iter_questions(application.call.form):
        if question.get("code") == BUDGET_CODE:
            return question
    for _section, question in iter_questions([budget_with_cofinancing()]):
        return question
    return {}  # pragma: no cover - the template always has its budget question


def budget_categories(application: Application) -> dict[str, str]:
    """The budget categories a report's expenditure is given in: those of the call's budget table (the
    standard ones when the call's form has none), code → label in the reader's language."""
    question = _budget_question(application)
    column = next((c for c in question.get("columns", []) if c.get("code") == "category"), {})
    language = current_language()
    return {option["value"]: localized_text(option, "label", language) for option in column.get("options", [])}


def approved_budget(application: Application) -> dict[str, dict[str, Decimal]]:
    """The application's budget by category: total cost and co-financing."""
    budget: dict[str, dict[str, Decimal]] = {}
    for row in (application.answers or {}).get(BUDGET_CODE) or []:
        if not isinstance(row, dict):
            continue
        line = budget.setdefault(str(row.get("category") or "other"),
                                 {"amount": Decimal("0.00"), "co_financing": Decimal("0.00")})
        line["amount"] += parse_decimal(row.get(BUDGET_AMOUNT)) or 0
        line["co_financing"] += parse_decimal(row.get(BUDGET_CO_FINANCING)) or 0
    return budget


def expenditure_table(report: GrantReport, claimed_before: dict[str, Decimal] | None = None) -> list[dict[str, Any]]:
    """Per category: the approved budget, what this report claims and its co-financing."""
    application = report.application
    labels = budget_categories(application)
    approved = approved_budget(application)
    claimed: dict[str, dict[str, Decimal]] = {}
    for line in report.expenditure or []:
        entry = claimed.setdefault(line["category"], {"amount": Decimal("0.00"), "co_financing": Decimal("0.00")})
        entry["amount"] += to_money(line["amount"])
        entry["co_financing"] += to_money(line.get("co_financing") or "0")
    codes = [code for code in labels if code in approved or code in claimed]
    codes += [code for code in {**approved, **claimed} if code not in codes]
    return [{"category": code, "label": labels.get(code, code),
             "approved": approved.get(code, {}).get("amount", Decimal("0.00")),
             "approved_co_financing": approved.get(code, {}).get("co_financing", Decimal("0.00")),
             "claimed": claimed.get(code, {}).get("amount", Decimal("0.00")),
             "co_financing": claimed.get(code, {}).get("co_financing", Decimal("0.00"))} for code in codes]


# --- content --------------------------------------------------------------------------------------------

def _clean(application: Application, data: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "narrative" in data:
        narrative = data.get("narrative")
        if narrative is not None and not isinstance(narrative, str):
            errors["narrative"] = [_("The narrative is text.")]
        elif len((narrative or "").strip()) > NARRATIVE_MAX:
            errors["narrative"] = [_("Use at most %(max)d characters.", max=NARRATIVE_MAX)]
        else:
            clean["narrative"] = (narrative or "").strip()
    if "indicators" in data:
        raw = data.get("indicators") or {}
        known = indicator_codes(application.call.programme)
        values: dict[str, str] = {}
        if not isinstance(raw, dict):
            errors["indicators"] = [_("Give the values by indicator code.")]
        else:
            for code, value in raw.items():
                if code not in known:
                    errors[f"indicators.{code}"] = [_("The programme has no such indicator.")]
                    continue
                if value in (None, ""):
                    continue
                number = parse_value(value, integer=known[code])
                if number is None:
                    errors[f"indicators.{code}"] = [
                        _("Give a whole number, 0 or more.") if known[code]
                        else _("Give a number, 0 or more, with at most two decimals.")]
                    continue
                values[code] = str(number)
        clean["indicators"] = values
    if "expenditure" in data:
        raw = data.get("expenditure") or []
        categories = budget_categories(application)
        lines: list[dict[str, str]] = []
        if not isinstance(raw, list):
            errors["expenditure"] = [_("List the expenditure lines.")]
        elif len(raw) > EXPENDITURE_MAX_LINES:
            errors["expenditure"] = [_("At most %(max)d lines.", max=EXPENDITURE_MAX_LINES)]
        else:
            for index, line in enumerate(raw):
                where = f"expenditure.{index}"
                if not isinstance(line, dict):
                    errors[where] = [_("A line gives a category, an amount and its co-financing.")]
                    continue
                category = line.get("category")
                if category not in categories:
                    errors[f"{where}.category"] = [_("Choose one of the budget categories.")]
                amount = as_money(line.get("amount"))
                if amount is None or amount < 0:
                    errors[f"{where}.amount"] = [_("Give an amount in euros, 0 or more, with at most two "
                                                   "decimals.")]
                co_financing = as_money(line.get("co_financing") if line.get("co_financing") not in (None, "")
                                      else "0")
                if co_financing is None or co_financing < 0:
                    errors[f"{where}.co_financing"] = [_("Give an amount in euros, 0 or more, with at most two "
                                                         "decimals.")]
                elif amount is not None and co_financing > amount:
                    errors[f"{where}.co_financing"] = [_("Co-financing cannot be more than the amount.")]
                if amount is not None and co_financing is not None:
                    lines.append({"category": category, "amount": f"{amount:.2f}",
                                  "co_financing": f"{co_financing:.2f}"})
        clean["expenditure"] = lines
    return clean


def due_for(application: Application, kind: Any, period_end: Any) -> ReportDue | None:
    try:
        kind = ReportKind(kind)
        period_end = period_end if isinstance(period_end, date) else date.fromisoformat(str(period_end))
    except (TypeError, ValueError):
        return None
    return db.session.scalar(sa.select(ReportDue).where(ReportDue.application_id == application.id,
                                                        ReportDue.kind == kind, ReportDue.period_end == period_end))


def create_report(application: Application, actor, data: dict[str, Any]) -> GrantReport:
    """Draft the report for one period the agreement requires (``kind`` and ``period_end`` name it);
    members of the grantee, once the agreement is signed. One report per period. Flushes."""
    if not actor.is_member_of(application.organisation_id):
        raise PermissionDenied(_("Only the grantee's members write its reports."))
    agreement = agreement_of(application)
    if agreement is None or not agreement.is_signed or application.state not in RUNNING_STATES:
        raise Conflict(_("Reports are written once the agreement is signed, while the grant runs."))
    errors: dict[str, list[str]] = {}
    due = due_for(application, data.get("kind"), data.get("period_end"))
    if due is None:
        listed = ", ".join(f"{d.kind.value} {d.period_end.isoformat()}" for d in _dues(application))
        errors["period_end"] = [_("The agreement requires no such report. Required: %(reports)s.", reports=listed)]
    clean = _clean(application, {"narrative": "", "indicators": {}, "expenditure": [], **data}, errors)
    if errors:
        raise UserInputError(fields=errors)
    if db.session.scalar(sa.select(GrantReport.id).where(GrantReport.due_id == due.id)) is not None:
        raise Conflict(_("A report for this period already exists: change it instead."))
    report = GrantReport(application_id=application.id, due_id=due.id, created_by_id=actor.id, **clean)
    db.session.add(report)
    db.session.flush()
    record_event(action="grantreport.create", object_type="grantreport", object_id=report.id, actor=actor,
                 role="applicant", payload={"application_id": application.id, "kind": due.kind.value,
                                            "period_end": due.period_end, "after": clean})
    return report


def _dues(application: Application) -> list[ReportDue]:
    return list(db.session.scalars(sa.select(ReportDue).where(ReportDue.application_id == application.id)
                                   .order_by(ReportDue.due_on, ReportDue.id)))


def update_report(report: GrantReport, actor, data: dict[str, Any], version: int) -> GrantReport:
    """Change a draft or returned report (the grantee's members); a stale ``version`` is a conflict."""
    if not actor.is_member_of(report.application.organisation_id):
        raise PermissionDenied(_("Only the grantee's members write its reports."))
    if version != report.version:
        raise Conflict()
    if not is_editable(report):
        raise ReportNotEditable()
    unknown = set(data) - set(CONTENT_FIELDS)
    if unknown:
        raise UserInputError(fields={key: [_("This field cannot be changed here.")] for key in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    clean = _clean(report.application, data, errors)
    if errors:
        raise UserInputError(fields=errors)
    before = {key: getattr(report, key) for key in CONTENT_FIELDS}
    for key, value in clean.items():
        setattr(report, key, value)
    changed = changes(before, {key: getattr(report, key) for key in CONTENT_FIELDS})
    if changed:
        report.updated_at = utcnow()
        try:
            db.session.flush()
        except StaleDataError:
            raise Conflict() from None
        record_event(action="grantreport.update", object_type="grantreport", object_id=report.id, actor=actor,
                     role="applicant", payload={"changes": changed})
    return report


def act_on_report(report: GrantReport, trigger: str, actor, *, comment: str | None = None,
                  expected_version: int | None = None) -> GrantReport:
    return act(report, trigger, actor, comment=comment, expected_version=expected_version)


# --- checks and the frozen content -----------------------------------------------------------------

def problems_by_field(report: GrantReport) -> dict[str, str]:
    """What stops the report from being submitted, by the field of the report it is about (translated)."""
    found = {}
    if not (report.narrative or "").strip():
        found["narrative"] = _("Describe what was done in the period.")
    agreement = agreement_of(report.application)
    targets = (agreement.indicator_targets or {}) if agreement is not None else {}
    values = report.indicators or {}
    missing = [code for code in targets if code not in values]
    if missing:
        found["indicators"] = _("Give a value (0 if none) for each indicator the agreement sets a target for: "
                                "%(codes)s.", codes=", ".join(missing))
    if report.due.kind == ReportKind.FINAL and not report.expenditure:
        found["expenditure"] = _("A final report lists the expenditure of the grant.")
    return found


def problems(report: GrantReport) -> list[str]:
    """What stops the report from being submitted (translated messages)."""
    return list(problems_by_field(report).values())


def reporting_closed(report: GrantReport) -> str | None:
    """Why the grant does not take this report now (None when it does)."""
    application = report.application
    if application.state not in RUNNING_STATES:
        return _("The grant is not running, so it takes no reports.")
    if report.due.kind == ReportKind.FINAL:
        if report.due.si_stage != application.award_stage:
            return _("This final report is for another stage than the one the grant funds now.")
        if application.state != "in_implementation":
            return _("The final report can be submitted while the grant is in implementation.")
    return None


def frozen_content(report: GrantReport) -> dict[str, Any]:
    return {"report": report.id, "application": report.application_id, "kind": report.due.kind.value,
            "si_stage": report.due.si_stage, "period_end": report.due.period_end.isoformat(),
            "narrative": report.narrative, "indicators": report.indicators or {},
            "expenditure": report.expenditure or [],
            "files": [{"id": f.id, "filename": f.filename, "sha256": f.sha256} for f in files_of(report)]}


def freeze(report: GrantReport) -> str:
    """Runs as the report becomes submitted (a before-save effect): nothing is flushed half-way."""
    with db.session.no_autoflush:
        report.content_hash = content_hash(frozen_content(report))
    report.submitted_at = utcnow()
    return report.content_hash


def is_delivered(report: GrantReport) -> bool:
    return report.state in DELIVERED_STATES


def final_report(application: Application, stage: str | None = None) -> GrantReport | None:
    """The final report of the stage the award funds now (or of ``stage``)."""
    return db.session.scalar(sa.select(GrantReport).join(ReportDue, ReportDue.id == GrantReport.due_id).where(
        GrantReport.application_id == application.id, ReportDue.kind == ReportKind.FINAL,
        ReportDue.si_stage == (stage or application.award_stage)))


# --- files ------------------------------------------------------------------------------------------------

def attach_file(report: GrantReport, actor, file_storage) -> GrantFile:
    """Add evidence to a draft or returned report (the grantee's members; application upload rules)."""
    if not actor.is_member_of(report.application.organisation_id):
        raise PermissionDenied(_("Only the grantee's members write its reports."))
    if not is_editable(report):
        raise ReportNotEditable()
    received = receive_upload(file_storage)
    try:
        stored = GrantFile(application_id=report.application_id, purpose=FilePurpose.REPORT, report_id=report.id,
                           filename=received.filename, content_type=received.content_type, size=received.size,
                           sha256=received.sha256, storage_key=received.storage_key, uploaded_by_id=actor.id)
        db.session.add(stored)
        db.session.flush()
        record_event(action="grantreport.file", object_type="grantreport", object_id=report.id, actor=actor,
                     role="applicant", payload={"file_id": stored.id, "filename": stored.filename,
                                                "sha256": stored.sha256, "size": stored.size})
    except BaseException:
        forget_upload(received)
        raise
    keep_if_committed(received)
    return stored
