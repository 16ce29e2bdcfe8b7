"""The grant agreement (DESIGN §7): an officer drafts it for an approved application — period,
amount (at most the decided one, and within what the programme's budget leaves), co-financing
rate, the decision's conditions, the tranche of each SI stage of a stage-gated award, the
indicator targets, the reports it requires and the payment schedule — uploads the signed scan,
and records the signature with the application's ``sign_contract``, which is refused until the
agreement is complete. It does not change after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from grants.applications.attachments import forget_upload, keep_if_committed, receive_upload
from grants.applications.models import Application
from grants.audit.changes import changes
from grants.audit.services import record_event
from grants.calls.models import Programme
from grants.calls.programmes import award_budget_error
from grants.core.db import CENT, db, to_money, utcnow
from grants.core.errors import Conflict, UserInputError
from grants.core.templating import format_money
from grants.core.values import add_months, as_date, as_money
from grants.forms.templates import BUDGET_CODE
from grants.forms.validation import budget_totals
from grants.grants_mgmt.awards import agreement_of, approved_decision, award_stages, first_tranche, is_stage_gated
from grants.grants_mgmt.indicators import indicator_codes, parse_value
from grants.grants_mgmt.models import (
    FilePurpose,
    GrantAgreement,
    GrantFile,
    Payment,
    PaymentKind,
    ReportDue,
    ReportKind,
)
from grants.grants_mgmt.payments import SCHEDULE_KINDS, scheduled_total

#: Days after a period ends by which its report is due, unless the agreement says otherwise.
REPORT_DAYS = 30
#: A grant this long or longer gets a progress report half-way by default.
PROGRESS_REPORT_FROM_MONTHS = 6
HUNDRED = Decimal(100)


class AgreementNotEditable(Conflict):
    code = "not_editable"

    def __init__(self) -> None:
        super().__init__(_("The agreement can be drafted only for an approved application, and only until it is "
                           "signed."))


def is_editable(application: Application, agreement: GrantAgreement | None) -> bool:
    return application.state == "approved" and (agreement is None or not agreement.is_signed)


def dues_of(application: Application) -> list[ReportDue]:
    return list(db.session.scalars(sa.select(ReportDue).where(ReportDue.application_id == application.id)
                                   .order_by(ReportDue.due_on, ReportDue.id)))


# --- what the officer sends, checked --------------------------------------------------------------

def _rate(value: Any) -> Decimal | None:
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not rate.is_finite() or rate != rate.quantize(CENT) or not 0 <= rate <= HUNDRED:
        return None
    return rate.quantize(CENT)


def budget_co_financing_rate(application: Application) -> Decimal:
    """The co-financing share of the application's budget, in per cent (0 without a budget)."""
    share = budget_totals((application.answers or {}).get(BUDGET_CODE))["co_financing_share"]
    return (share * HUNDRED).quantize(CENT) if share is not None else Decimal("0.00")


def default_period(application: Application, today: date) -> tuple[date, date]:
    """From the first of next month, for the months applied for."""
    start = add_months(today.replace(day=1), 1)
    return start, add_months(start, application.duration_months) - timedelta(days=1)


def default_reports(stages: list[str], start: date, end: date) -> list[dict[str, Any]]:
    """A final report at the end of each funded stage (the period split evenly between stages) and,
    for a single stage of six months or more, a progress report half-way."""
    days = (end - start).days
    reports: list[dict[str, Any]] = []
    for index, stage in enumerate(stages):
        stage_end = end if index == len(stages) - 1 else start + timedelta(days=days * (index + 1) // len(stages))
        reports.append({"kind": "final", "si_stage": stage, "period_end": stage_end,
                        "due_on": stage_end + timedelta(days=REPORT_DAYS)})
    if len(stages) == 1 and end >= add_months(start, PROGRESS_REPORT_FROM_MONTHS) - timedelta(days=1):
        middle = start + timedelta(days=days // 2)
        reports.insert(0, {"kind": "progress", "si_stage": stages[0], "period_end": middle,
                           "due_on": middle + timedelta(days=REPORT_DAYS)})
    return reports


def default_schedule(total: Decimal, reports: list[dict[str, Any]], start: date) -> list[dict[str, Any]]:
    """An advance when the grant starts, an interim payment after the progress report (if any) and the
    final payment after the first stage's final report: 40/40/20 with a progress report, else 80/20."""
    progress = [r for r in reports if r["kind"] == "progress"]
    final = next(r for r in reports if r["kind"] == "final")
    shares = (Decimal("0.4"), Decimal("0.4")) if progress else (Decimal("0.8"),)
    amounts = [(total * share).quantize(CENT) for share in shares]
    schedule = [{"kind": "advance", "amount": amounts[0], "due_on": start}]
    if progress:
        schedule.append({"kind": "interim", "amount": amounts[1], "due_on": progress[0]["due_on"] + timedelta(days=15)})
    schedule.append({"kind": "final", "amount": total - sum(amounts), "due_on": final["due_on"] + timedelta(days=30)})
    return [item for item in schedule if item["amount"] > 0]


@dataclass
class Terms:
    """The agreement's terms as checked: what will be stored."""

    start_date: date
    end_date: date
    awarded_amount: Decimal
    co_financing_rate: Decimal
    conditions: str
    tranches: list[dict[str, Any]]
    indicator_targets: dict[str, str]
    reports: list[dict[str, Any]] | None
    schedule: list[dict[str, Any]] | None


def _check(application: Application, current: GrantAgreement | None, data: dict[str, Any], today: date) -> Terms:
    errors: dict[str, list[str]] = {}
    decision = approved_decision(application)
    decided = decision.amount if decision is not None else None
    default_start, default_end = default_period(application, today)

    def field(name: str, default: Any) -> Any:
        if name in data and data[name] is not None:
            return data[name]
        return getattr(current, name) if current is not None else default

    start, end = as_date(field("start_date", default_start)), as_date(field("end_date", default_end))
    if start is None:
        errors["start_date"] = [_("Give the start date (YYYY-MM-DD).")]
    if end is None:
        errors["end_date"] = [_("Give the end date (YYYY-MM-DD).")]
    elif start is not None and end < start:
        errors["end_date"] = [_("The end date cannot be before the start date.")]
    amount = as_money(field("awarded_amount", decided))
    if amount is None or amount <= 0:
        errors["awarded_amount"] = [_("Give the amount awarded in euros, with at most two decimals.")]
    elif decided is not None and amount > decided:
        errors["awarded_amount"] = [_("The amount awarded cannot be more than the %(amount)s the committee decided.",
                                      amount=format_money(decided))]
    elif decided is None and amount > application.requested_amount:
        # an approval of a workflow that recorded no decision: the agreement states the award
        errors["awarded_amount"] = [_("The amount awarded cannot be more than the %(amount)s requested.",
                                      amount=format_money(application.requested_amount))]
    else:
        # within the decision, which fitted in the budget; checked still (the budget is the programme's, and an
        # approval without a recorded decision was never checked)
        over = award_budget_error(application.call.programme, amount, excluding=application.id)
        if over is not None:
            errors["awarded_amount"] = [over]
    rate = _rate(field("co_financing_rate", budget_co_financing_rate(application)))
    if rate is None:
        errors["co_financing_rate"] = [_("Give the co-financing rate in per cent, from 0 to 100, at most two "
                                         "decimals.")]
    conditions = str(field("conditions", decision.conditions if decision is not None else "") or "").strip()
    if len(conditions) > 5000:
        errors["conditions"] = [_("At most 5000 characters.")]
    stages = award_stages(application)
    tranches: list[dict[str, Any]] = []
    if is_stage_gated(application):
        raw = field("tranches", None)
        if raw is None and len(stages) == 1 and amount is not None:
            raw = [{"si_stage": stages[0], "amount": amount}]
        tranches = _check_tranches(raw, stages, amount, errors)
    elif amount is not None:
        tranches = [{"si_stage": application.si_stage, "amount": f"{amount:.2f}"}]
    targets = _check_targets(application, field("indicator_targets", {}), errors)
    reports = None
    if "reports" in data and data["reports"] is not None:
        reports = _check_reports(data["reports"], stages, start, end, errors)
    schedule = None
    if "schedule" in data and data["schedule"] is not None:
        schedule = _check_schedule(data["schedule"], errors)
        covers = amount if not is_stage_gated(application) else next(
            (to_money(t["amount"]) for t in tranches if t["si_stage"] == stages[0]), None)
        if covers is not None and not any(key.startswith("schedule") for key in errors):
            total = sum((item["amount"] for item in schedule), Decimal("0.00"))
            if total != covers:
                errors["schedule"] = [_("The instalments add up to %(sum)s; they must add up to %(amount)s.",
                                        sum=format_money(total), amount=format_money(covers))]
    if errors:
        raise UserInputError(fields=errors)
    return Terms(start_date=start, end_date=end, awarded_amount=amount, co_financing_rate=rate, conditions=conditions,
                 tranches=tranches, indicator_targets=targets, reports=reports, schedule=schedule)


def _check_tranches(raw: Any, stages: list[str], amount: Decimal | None,
                    errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors["tranches"] = [_("Give the tranche of each SI stage the award funds.")]
        return []
    clean, seen = [], []
    for index, item in enumerate(raw):
        stage = item.get("si_stage") if isinstance(item, dict) else None
        value = as_money(item.get("amount")) if isinstance(item, dict) else None
        if stage not in stages or stage in seen:
            errors[f"tranches.{index}.si_stage"] = [_("Each SI stage the award funds, once.")]
        if value is None or value <= 0:
            errors[f"tranches.{index}.amount"] = [_("Give an amount in euros, with at most two decimals.")]
        seen.append(stage)
        clean.append({"si_stage": stage, "amount": value})
    if not any(key.startswith("tranches.") for key in errors):
        if sorted(seen, key=stages.index) != stages:
            errors["tranches"] = [_("Give a tranche for each SI stage the award funds: %(stages)s.",
                                    stages=", ".join(stages))]
        elif amount is not None and sum(t["amount"] for t in clean) != amount:
            errors["tranches"] = [_("The tranches add up to %(sum)s; they must add up to the %(amount)s awarded.",
                                    sum=format_money(sum(t["amount"] for t in clean)), amount=format_money(amount))]
    clean.sort(key=lambda t: stages.index(t["si_stage"]) if t["si_stage"] in stages else 0)
    return [{"si_stage": t["si_stage"], "amount": f"{t['amount']:.2f}"} for t in clean if t["amount"] is not None]


def _check_targets(application: Application, raw: Any, errors: dict[str, list[str]]) -> dict[str, str]:
    if not isinstance(raw, dict):
        errors["indicator_targets"] = [_("Give the targets by indicator code.")]
        return {}
    known = indicator_codes(application.call.programme)
    clean: dict[str, str] = {}
    for code, value in raw.items():
        if code not in known:
            errors[f"indicator_targets.{code}"] = [_("The programme has no such indicator.")]
            continue
        number = parse_value(value, integer=known[code])
        if number is None:
            errors[f"indicator_targets.{code}"] = [
                _("Give a whole number, 0 or more.") if known[code] else _("Give a number, 0 or more, with at most "
                                                                          "two decimals.")]
            continue
        clean[code] = str(number)
    return clean


def _check_reports(raw: Any, stages: list[str], start: date | None, end: date | None,
                   errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors["reports"] = [_("List the reports the agreement requires.")]
        return []
    clean: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        where = f"reports.{index}"
        if not isinstance(item, dict):
            errors[where] = [_("A report is given by its kind, period end and due date.")]
            continue
        kind = item.get("kind")
        if kind not in (ReportKind.PROGRESS, ReportKind.FINAL):
            errors[f"{where}.kind"] = [_("Choose a progress or a final report.")]
        stage = item.get("si_stage") or stages[0]
        if stage not in stages:
            errors[f"{where}.si_stage"] = [_("The award does not fund this SI stage.")]
        period_end, due_on = as_date(item.get("period_end")), as_date(item.get("due_on"))
        if period_end is None:
            errors[f"{where}.period_end"] = [_("Give the date the period ends (YYYY-MM-DD).")]
        elif start is not None and end is not None and not start <= period_end <= end:
            errors[f"{where}.period_end"] = [_("The period ends within the agreement's period.")]
        if due_on is None:
            errors[f"{where}.due_on"] = [_("Give the due date (YYYY-MM-DD).")]
        elif period_end is not None and due_on < period_end:
            errors[f"{where}.due_on"] = [_("A report is due after the end of its period.")]
        clean.append({"kind": kind, "si_stage": stage, "period_end": period_end, "due_on": due_on})
    if not any(key.startswith("reports") for key in errors):
        finals = [r["si_stage"] for r in clean if r["kind"] == ReportKind.FINAL]
        if sorted(finals, key=stages.index) != stages:
            errors["reports"] = [_("Require exactly one final report for each SI stage the award funds.")]
        periods = [(r["kind"], r["period_end"]) for r in clean]
        if len(set(periods)) != len(periods):
            errors["reports"] = [_("Two reports of the same kind cannot end on the same day.")]
    return clean


def _check_schedule(raw: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors["schedule"] = [_("List the instalments: kind, amount and due date.")]
        return []
    clean: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        where = f"schedule.{index}"
        if not isinstance(item, dict):
            errors[where] = [_("An instalment is given by its kind, amount and due date.")]
            continue
        kind = item.get("kind")
        if kind not in SCHEDULE_KINDS:
            errors[f"{where}.kind"] = [_("Choose an advance, an interim or a final payment.")]
        amount = as_money(item.get("amount"))
        if amount is None or amount <= 0:
            errors[f"{where}.amount"] = [_("Give an amount in euros, with at most two decimals.")]
        due_on = as_date(item.get("due_on"))
        if due_on is None:
            errors[f"{where}.due_on"] = [_("Give the due date (YYYY-MM-DD).")]
        clean.append({"kind": kind, "amount": amount, "due_on": due_on})
    return clean


# --- saving ------------------------------------------------------------------------------------------

def _next_number(programme: Programme) -> tuple[int, str]:
    """The programme's next agreement number; the programme row is locked so two officers never get
    the same one."""
    db.session.execute(sa.select(Programme.id).where(Programme.id == programme.id).with_for_update())
    last = db.session.scalar(sa.select(sa.func.max(GrantAgreement.sequence))
                             .where(GrantAgreement.programme_id == programme.id)) or 0
    return last + 1, f"{programme.code}-L-{last + 1:04d}"


def _snapshot(agreement: GrantAgreement) -> dict[str, Any]:
    return {"start_date": agreement.start_date.isoformat(), "end_date": agreement.end_date.isoformat(),
            "awarded_amount": f"{agreement.awarded_amount:.2f}",
            "co_financing_rate": f"{agreement.co_financing_rate:.2f}", "conditions": agreement.conditions,
            "tranches": agreement.tranches, "indicator_targets": agreement.indicator_targets}


def _plain_reports(dues: list[ReportDue]) -> list[dict[str, Any]]:
    return [{"kind": due.kind.value, "si_stage": due.si_stage, "period_end": due.period_end.isoformat(),
             "due_on": due.due_on.isoformat()} for due in dues]


def save_agreement(application: Application, actor, data: dict[str, Any], *, today: date,
                   expected_version: int | None = None) -> GrantAgreement:
    """Create or change the agreement of an approved application (officers; before it is signed).

    Everything is checked first and reported by field (:class:`UserInputError`); the reports it
    requires and the payment schedule are replaced when given (the schedule must add up to the
    first tranche: the whole award, or the first stage's tranche of a stage-gated one), and
    proposed when the agreement is new. Audited with what changed. Flushes."""
    agreement = agreement_of(application)
    if not is_editable(application, agreement):
        raise AgreementNotEditable()
    if agreement is not None and expected_version is not None and expected_version != agreement.version:
        raise Conflict()
    terms = _check(application, agreement, data, today)
    creating = agreement is None
    before = _snapshot(agreement) if agreement is not None else {}
    reports_before = _plain_reports(dues_of(application)) if not creating else []
    if creating:
        sequence, number = _next_number(application.call.programme)
        agreement = GrantAgreement(application=application, programme_id=application.call.programme_id,
                                   sequence=sequence, number=number, created_by_id=actor.id)
        db.session.add(agreement)
    agreement.start_date, agreement.end_date = terms.start_date, terms.end_date
    agreement.awarded_amount, agreement.co_financing_rate = terms.awarded_amount, terms.co_financing_rate
    agreement.conditions, agreement.tranches = terms.conditions, terms.tranches
    agreement.indicator_targets = terms.indicator_targets
    agreement.updated_at = utcnow()
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict() from None
    stages = award_stages(application)
    reports = terms.reports
    if reports is None and creating:
        reports = default_reports(stages, terms.start_date, terms.end_date)
    if reports is not None and _plain_reports_of(reports) != reports_before:
        _replace_reports(application, reports)
    elif not creating:
        _check_reports_still_fit(application, agreement)
    schedule = terms.schedule
    if schedule is None and creating:
        schedule = default_schedule(first_tranche(application, agreement), reports, terms.start_date)
    if schedule is not None and not creating and _plain_schedule(schedule) == _plain_schedule(
            [{"kind": p.kind, "amount": p.amount, "due_on": p.due_on} for p in _planned(application)]):
        schedule = None  # the same instalments: nothing to replace, nothing to audit
    if schedule is not None:
        _replace_schedule(application, schedule, actor)
    after = _snapshot(agreement)
    payload: dict[str, Any] = {"number": agreement.number}
    if creating:
        payload["after"] = after
    else:
        payload["changes"] = changes(before, after)
    reports_after = _plain_reports(dues_of(application))
    if reports_after != reports_before:
        payload["reports"] = reports_after
    if schedule is not None:
        payload["schedule"] = _plain_schedule(schedule)
    if creating or payload.get("changes") or "reports" in payload or "schedule" in payload:
        record_event(action="agreement.create" if creating else "agreement.update", object_type="application",
                     object_id=application.id, actor=actor, role="officer", payload=payload)
    return agreement


def _plain_reports_of(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reports as given, in the shape :func:`_plain_reports` reads stored ones (for comparing)."""
    ordered = sorted(reports, key=lambda r: (r["due_on"], str(r["kind"]), r["period_end"]))
    return [{"kind": str(getattr(r["kind"], "value", r["kind"])), "si_stage": r["si_stage"],
             "period_end": r["period_end"].isoformat(), "due_on": r["due_on"].isoformat()} for r in ordered]


def _plain_schedule(schedule: list[dict[str, Any]]) -> list[dict[str, str]]:
    return sorted(({"kind": str(getattr(item["kind"], "value", item["kind"])), "amount": f"{item['amount']:.2f}",
                    "due_on": item["due_on"].isoformat()} for item in schedule),
                  key=lambda item: (item["due_on"], item["kind"], item["amount"]))


def _planned(application: Application) -> list[Payment]:
    return list(db.session.scalars(sa.select(Payment).where(Payment.application_id == application.id)).unique())


def _replace_reports(application: Application, reports: list[dict[str, Any]]) -> None:
    """The reports the agreement requires, replaced (an unsigned agreement has no report yet)."""
    for due in dues_of(application):
        db.session.delete(due)
    db.session.flush()
    for item in reports:
        db.session.add(ReportDue(application_id=application.id, kind=ReportKind(item["kind"]),
                                 si_stage=item["si_stage"], period_end=item["period_end"], due_on=item["due_on"]))
    db.session.flush()


def _check_reports_still_fit(application: Application, agreement: GrantAgreement) -> None:
    outside = [due for due in dues_of(application)
               if not agreement.start_date <= due.period_end <= agreement.end_date]
    if outside:
        raise UserInputError(fields={"reports": [_("A required report's period falls outside the agreement's new "
                                                   "dates: give the reports again.")]})


def _replace_schedule(application: Application, schedule: list[dict[str, Any]], actor) -> None:
    """The planned instalments, replaced (their sum was checked with the rest of the terms)."""
    for payment in _planned(application):
        db.session.delete(payment)  # an unsigned agreement's schedule is a draft: nothing was requested
    db.session.flush()
    stage = award_stages(application)[0]
    for item in schedule:
        db.session.add(Payment(application_id=application.id, kind=PaymentKind(item["kind"]), si_stage=stage,
                               amount=item["amount"], due_on=item["due_on"], created_by_id=actor.id))
    db.session.flush()


# --- the signed scan -----------------------------------------------------------------------------------

def attach_signed_file(application: Application, actor, file_storage) -> GrantFile:
    """Upload the scan of the signed agreement (same rules as application files); a new scan replaces
    the previous one, which stays in the record as removed. Before signature only."""
    agreement = agreement_of(application)
    if agreement is None:
        raise UserInputError(fields={"file": [_("Draft the agreement first.")]})
    if not is_editable(application, agreement):
        raise AgreementNotEditable()
    received = receive_upload(file_storage)
    try:
        stored = GrantFile(application_id=application.id, purpose=FilePurpose.AGREEMENT, filename=received.filename,
                           content_type=received.content_type, size=received.size, sha256=received.sha256,
                           storage_key=received.storage_key, uploaded_by_id=actor.id)
        db.session.add(stored)
        db.session.flush()
        previous = agreement.signed_file
        if previous is not None:
            previous.removed_at = utcnow()
        agreement.signed_file_id = stored.id
        db.session.flush()
        record_event(action="agreement.file", object_type="application", object_id=application.id, actor=actor,
                     role="officer", payload={"file_id": stored.id, "filename": stored.filename,
                                              "sha256": stored.sha256, "size": stored.size,
                                              "replaces": previous.id if previous is not None else None})
    except BaseException:
        forget_upload(received)
        raise
    keep_if_committed(received)
    return stored


# --- complete enough to sign -------------------------------------------------------------------------

def problems(application: Application) -> list[tuple[str, str]]:
    """What stops the agreement from being signed, as (code, message): it exists, within the decision,
    the tranches and the schedule add up, a final report per funded stage, the signed scan."""
    agreement = agreement_of(application)
    if agreement is None:
        return [("agreement_missing", _("Draft the grant agreement first."))]
    found: list[tuple[str, str]] = []
    decided = approved_decision(application)
    if decided is None or agreement.awarded_amount > decided.amount:
        found.append(("agreement_amount", _("The amount awarded is more than the committee decided.")))
    stages = award_stages(application)
    if sum((to_money(t["amount"]) for t in agreement.tranches or []), Decimal("0.00")) != agreement.awarded_amount:
        found.append(("agreement_tranches", _("The tranches do not add up to the amount awarded.")))
    target = first_tranche(application, agreement)
    total = scheduled_total(application)
    if total != target:
        found.append(("payment_schedule", _("The payment schedule adds up to %(sum)s; it must add up to %(amount)s.",
                                            sum=format_money(total), amount=format_money(target))))
    finals = {due.si_stage for due in dues_of(application) if due.kind == ReportKind.FINAL}
    if finals != set(stages):
        found.append(("reports_missing", _("The agreement must require a final report for each SI stage it funds.")))
    if agreement.signed_file_id is None:
        found.append(("signed_file_missing", _("Upload the scan of the signed agreement.")))
    return found
