"""Grant pages (DESIGN §7, issue 13): the grants list, one grant with its agreement, payments, reports,
indicators, stage gate, irregularities and history; the agreement form and its printable version; the
finance work list of payments.

Every page calls the same services as the API (grants.api.grants); lists come from
grants.grants_mgmt.listings in a fixed number of statements whatever the data size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.applications.attachments import UploadTooLarge
from grants.applications.models import Application
from grants.core.db import db, today
from grants.core.errors import Conflict, NotFound, PermissionDenied, TransitionNotAllowed, UserInputError
from grants.core.i18n import current_language
from grants.core.input_guard import MAX_ID
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.core.templating import format_money, safe_next
from grants.core.uploads import download_response
from grants.grants_mgmt import agreements, gates, indicators, irregularities, payments, reports
from grants.grants_mgmt.awards import (
    PAYABLE_STATES,
    RUNNING_STATES,
    SIGNED_STATES,
    STAGE_GATED,
    agreement_of,
    approved_decision,
    award_stages,
    decided_amount,
    is_stage_gated,
    tranche_amounts,
)
from grants.grants_mgmt.files import get_file, open_file
from grants.grants_mgmt.forms import (
    REPORT_KEYS,
    SCHEDULE_KEYS,
    AgreementForm,
    GateDecisionForm,
    IrregularityForm,
    PaymentActionForm,
    PlanPaymentForm,
    SignedFileForm,
    as_number,
    is_blank,
    payment_kind_label,
    plain_amount,
    plain_date,
    posted_rows,
    posted_targets,
    report_kind_label,
)
from grants.grants_mgmt.listings import (
    grant_calls,
    grant_rows,
    grants_query,
    grants_total,
    payment_page,
    payment_totals,
    payments_total,
)
from grants.grants_mgmt.models.reports import DELIVERED_STATES
from grants.grants_mgmt.permissions import can_read, get_readable, is_grantee, may_manage, reads_all
from grants.grants_mgmt.retention import retention_of
from grants.initiatives.stages import DEFAULT_STAGE_MODEL, STAGE_MODELS, stage_label
from grants.workflows.engine import available_triggers, definitions, state_label
from grants.workflows.forms import ActionForm, take_action
from grants.workflows.history import history
from grants.workflows.services import act

bp = Blueprint("grants_mgmt", __name__, url_prefix="/grants")

PER_PAGE = 50
#: Who reads the finance work list; who acts on payments from it (auditors only read).
PAYMENT_READERS = (RoleCode.FINANCE, RoleCode.OFFICER, RoleCode.AUDITOR, RoleCode.ADMIN, RoleCode.COMMITTEE)
PAYMENT_ACTORS = (RoleCode.FINANCE, RoleCode.OFFICER)
#: The finance work list's tabs, in order: what to verify first, then what to pay.
PAYMENT_TABS = ("requested", "verified", "planned", "paid", "rejected", "all")
#: States of an application that has a grant (approved, being contracted, running or closed).
GRANT_STATES = ("approved", "contracted", "in_implementation", "final_report_submitted", "final_report_accepted",
                "gate_review", "gate_evaluated", "completed", "closed_at_gate", "terminated")
#: The committee decides a stage gate with its own form (gates.decide_gate), not with a bare button.
GATE_TRIGGERS = frozenset(gates.OUTCOMES.values())
#: What the grantee does not see of the register: what is being examined, and what was dismissed.
UNSEEN_IRREGULARITY_STATES = ("suspected", "dismissed")
GATE_STATES = ("gate_review", "gate_evaluated")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"stage_name": stage_label, "payment_kind_label": payment_kind_label,
            "report_kind_label": report_kind_label}


@bp.app_template_global("grant_page_url")
def grant_page_url(application) -> str | None:
    """The grant page of an application the committee approved, for those who may read the grant (None
    otherwise): by the application's state, without a query except for an evaluator."""
    if application.state in GRANT_STATES and can_read(current_user, application):
        return url_for("grants_mgmt.grant", application_id=application.id)
    return None


# --- small helpers ------------------------------------------------------------------------------------

def _arg_id(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and 1 <= value <= MAX_ID else None


def _arg_text(name: str, limit: int) -> str | None:
    value = (request.args.get(name) or "").strip()
    return value[:limit] or None


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)


def _pages(total: int) -> int:
    return max((total + PER_PAGE - 1) // PER_PAGE, 1)


def _grant_of(application_id: int) -> Application:
    """The application, if the user may read it and it has a grant: the committee approved it (else 404)."""
    application = get_readable(current_user, application_id)
    if application.state not in GRANT_STATES:
        raise NotFound()
    return application


def _pinned(name: str) -> SimpleNamespace:
    """An object pinning the newest version of workflow ``name``, for ``state_label`` of rows that are
    plain values (the stage-gated application workflow's states include every grant state)."""
    version = max(key[1] for key in definitions() if key[0] == name)
    return SimpleNamespace(workflow_name=name, workflow_version=version)


def _messages(refused) -> str:
    details = [message for messages in (refused.fields or {}).values() for message in messages]
    return " ".join(details) or str(refused.message or refused.default_message)


def _put_errors(form, fields: dict[str, list[str]]) -> list[str]:
    """Messages of ``fields`` put on the form's fields; those naming no field are returned."""
    rest = []
    for key, messages in fields.items():
        if key in form and key not in ("csrf_token",):
            form[key].errors = list(form[key].errors) + list(messages)
        else:
            rest.extend(messages)
    return rest


# --- 1. the grants ----------------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    """Staff see every grant; a grantee's members see their organisations' grants ("My grants")."""
    day = today()
    filters = {"call_id": _arg_id("call_id"), "state": _arg_text("state", 40), "si_stage": _arg_text("si_stage", 40),
               "overdue": request.args.get("overdue") in ("1", "on", "true"), "q": _arg_text("q", 200)}
    page = _page()
    total = grants_total(current_user, today=day, **filters)
    rows = grant_rows(grants_query(current_user, page=page, per_page=PER_PAGE, today=day, **filters), today=day)
    calls = grant_calls(GRANT_STATES)
    language = current_language()
    pinned = _pinned(STAGE_GATED)
    return render_template(
        "grants_mgmt/index.html", rows=rows, total=total, page=page, pages=_pages(total), filters=filters,
        staff=reads_all(current_user),
        calls=[(c.id, c.code, (c.title_en if language == "en" else c.title_lv) or c.title_lv) for c in calls],
        states=[(code, state_label(pinned, code)) for code in GRANT_STATES],
        stages=[(code, stage_label(code)) for code in STAGE_MODELS[DEFAULT_STAGE_MODEL].codes],
        query_args={key: value for key, value in request.args.items() if key != "page"})


# --- 2. one grant -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportLine:
    """A report the agreement requires, with the grantee's report for it (if any)."""

    due: Any
    report: Any
    overdue: bool


def _report_lines(application: Application, agreement, day: date) -> list[ReportLine]:
    """The required reports joined with the reports written (two statements for the whole list)."""
    by_due = {report.due_id: report for report in reports.reports_of(application)}
    counting = agreement is not None and agreement.is_signed and application.state != "terminated"
    lines = []
    for due in agreements.dues_of(application):
        report = by_due.get(due.id)
        delivered = report is not None and report.state in DELIVERED_STATES
        lines.append(ReportLine(due, report, counting and due.due_on < day and not delivered))
    return lines


def _gate_panel(application: Application, agreement, staff: bool) -> dict[str, Any] | None:
    """The award's stages with their tranches, the one funded now, those proven; at a gate, its
    consolidated review (for staff)."""
    if not is_stage_gated(application):
        return None
    tranches = tranche_amounts(agreement) if agreement is not None else {}
    proven = set(application.proven_stages or [])
    stages = [{"code": code, "amount": tranches.get(code), "proven": code in proven,
               "current": code == application.award_stage} for code in award_stages(application)]
    at_gate = application.state in GATE_STATES
    return {"stages": stages, "at_gate": at_gate,
            "next_stage": gates.gate_stage(application) if at_gate else None,
            "result": gates.gate_result(application) if at_gate and staff else None}


def _render_grant(application: Application, *, status: int = 200, action_form: ActionForm | None = None,
                  action_error: str | None = None, plan_form: PlanPaymentForm | None = None,
                  plan_error: str | None = None, gate_form: GateDecisionForm | None = None,
                  gate_error: str | None = None, gate_reasons: list[str] | None = None,
                  irregularity_form: IrregularityForm | None = None, irregularity_error: str | None = None):
    """The grant page, with the forms as given (a refused one keeps what was typed)."""
    day = today()
    agreement = agreement_of(application)
    decision = approved_decision(application)
    staff = reads_all(current_user)
    officer = may_manage(current_user)
    grantee = is_grantee(current_user, application)
    committee = current_user.has_role(RoleCode.COMMITTEE)
    pays = current_user.has_any_role(*PAYMENT_ACTORS)
    editable = agreements.is_editable(application, agreement)
    programme = application.call.programme

    if action_form is None:
        action_form = ActionForm(formdata=None)
    action_form.version.data = application.version
    actions = [a for a in available_triggers(application, current_user) if a["trigger"] not in GATE_TRIGGERS]

    schedule = payments.payments_of(application)
    payment_actions = {p.id: available_triggers(p, current_user) for p in schedule} if pays else {}
    # As plan_payment allows: while the grant is being contracted, runs, or still owes a proven stage.
    may_plan = officer and agreement is not None and (application.state == "approved"
                                                      or application.state in PAYABLE_STATES)
    if plan_form is None and may_plan:
        plan_form = PlanPaymentForm(formdata=None, prefix="plan")

    progress = indicators.grant_progress(application, agreement)
    matrix = indicators.participants_matrix(progress) if indicators.has_common_indicators(programme) else []
    indicator_rows = [row for row in progress if row.indicator.gender is None] if matrix else progress

    gate = _gate_panel(application, agreement, staff)
    may_decide_gate = committee and application.state == "gate_evaluated"
    if gate_form is None and may_decide_gate:
        gate_form = GateDecisionForm(formdata=None, prefix="gate")  # the committee gives the date (DESIGN §7)

    found = irregularities.irregularities_of(application)
    if not staff:
        found = [i for i in found if i.state not in UNSEEN_IRREGULARITY_STATES]
    if irregularity_form is None and officer:
        irregularity_form = IrregularityForm(formdata=None, prefix="irregularity")
        irregularity_form.detected_on.data = day.isoformat()

    return render_template(
        "grants_mgmt/grant.html", application=application, agreement=agreement, decision=decision,
        decided=decision.amount if decision is not None else None, totals=payments.totals(application),
        retention=retention_of(application), staff=staff, officer=officer, grantee=grantee, editable=editable,
        problems=agreements.problems(application) if staff and application.state == "approved" else [],
        upload_form=SignedFileForm(formdata=None) if officer and editable and agreement is not None else None,
        action_form=action_form, action_error=action_error, actions=actions,
        schedule=schedule, payment_actions=payment_actions, plan_form=plan_form if may_plan else None,
        plan_error=plan_error, today=day, report_lines=_report_lines(application, agreement, day),
        may_write_report=grantee and application.state in RUNNING_STATES and agreement is not None,
        indicator_rows=indicator_rows, matrix=matrix, age_groups=[str(label) for _code, label in indicators.AGE_GROUPS],
        gate=gate,
        gate_form=gate_form if may_decide_gate else None, gate_error=gate_error, gate_reasons=gate_reasons or [],
        irregularities=found, irregularity_form=irregularity_form if officer else None,
        irregularity_error=irregularity_error, history=history(application, current_user),
        next_here=url_for("grants_mgmt.grant", application_id=application.id)), status


@bp.route("/<int:application_id>", methods=["GET", "POST"])
@login_required
def grant(application_id: int):
    """The grant; a POST fires one of the application's workflow actions (sign, start, terminate…)."""
    application = _grant_of(application_id)
    if request.method == "GET":
        return _render_grant(application)
    form = ActionForm()

    def fire(trigger: str, **kwargs):
        if trigger in GATE_TRIGGERS:
            raise TransitionNotAllowed(_("Record the stage gate decision with its form, giving the date and the "
                                         "reason."))
        return act(application, trigger, current_user, **kwargs)

    done, status, error = take_action(form, fire)
    if done:
        return redirect(url_for("grants_mgmt.grant", application_id=application_id))
    return _render_grant(_grant_of(application_id), status=status, action_form=form, action_error=error)


@bp.post("/<int:application_id>/agreement/file")
@login_required
def upload_signed_file(application_id: int):
    """The scan of the signed agreement (officers, before signature)."""
    application = _grant_of(application_id)
    if not may_manage(current_user):
        raise PermissionDenied()
    back = url_for("grants_mgmt.grant", application_id=application.id, _anchor="agreement")
    form = SignedFileForm()
    if not form.validate_on_submit():
        errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
        flash(_("The scan was not uploaded: %(reason)s", reason=" ".join(errors) or _("please try again.")), "error")
        return redirect(back)
    try:
        stored = agreements.attach_signed_file(application, current_user, form.file.data)
    except (UserInputError, UploadTooLarge, Conflict) as refused:
        db.session.rollback()
        flash(_("The scan was not uploaded: %(reason)s", reason=_messages(refused)), "error")
    else:
        db.session.commit()
        flash(_("The scan %(name)s has been uploaded.", name=stored.filename), "success")
    return redirect(back)


@bp.get("/<int:application_id>/files/<int:file_id>")
@login_required
def download_file(application_id: int, file_id: int):
    """A file of the grant (the signed agreement, a report's evidence) for whoever may read the grant."""
    application = get_readable(current_user, application_id)
    stored = get_file(file_id)
    if stored.application_id != application.id:
        raise NotFound()
    return download_response(open_file(stored), filename=stored.filename, content_type=stored.content_type)


@bp.post("/<int:application_id>/payments")
@login_required
def plan_payment(application_id: int):
    """Add an instalment to the schedule (officers)."""
    application = _grant_of(application_id)
    if not may_manage(current_user):
        raise PermissionDenied()
    form = PlanPaymentForm(prefix="plan")
    error = None
    if form.validate_on_submit():
        try:
            payment = payments.plan_payment(application, current_user, {
                "kind": form.kind.data, "amount": as_number(form.amount.data),
                "due_on": (form.due_on.data or "").strip()})
        except UserInputError as refused:
            db.session.rollback()
            rest = _put_errors(form, refused.fields)
            error = " ".join(rest) or (None if refused.fields else _messages(refused))
        else:
            db.session.commit()
            flash(_("The instalment of %(amount)s has been added to the schedule.",
                    amount=format_money(payment.amount)), "success")
            return redirect(url_for("grants_mgmt.grant", application_id=application_id, _anchor="payments"))
    return _render_grant(_grant_of(application_id), status=422, plan_form=form, plan_error=error)


@bp.post("/<int:application_id>/gate-decision")
@login_required
def gate_decision(application_id: int):
    """The committee's decision at a stage gate: pass (next tranche) or close the award at this stage."""
    application = _grant_of(application_id)
    if not current_user.has_role(RoleCode.COMMITTEE):
        raise PermissionDenied()
    form = GateDecisionForm(prefix="gate")
    status, error, reasons = 422, None, []
    if form.validate_on_submit():
        try:
            gates.decide_gate(application, current_user, form.values(), today=today())
        except UserInputError as refused:
            db.session.rollback()
            rest = _put_errors(form, refused.fields)
            error = " ".join(rest) or None
            status = refused.status
        except TransitionNotAllowed as refused:
            db.session.rollback()
            status, error = refused.status, _("The decision was not recorded.")
            reasons = [reason.get("message", "") for reason in refused.reasons] or [str(refused)]
        except (Conflict, PermissionDenied) as refused:
            db.session.rollback()
            status, error = refused.status, str(refused)
        else:
            db.session.commit()
            flash(_("The stage gate decision has been recorded."), "success")
            return redirect(url_for("grants_mgmt.grant", application_id=application_id, _anchor="gate"))
    return _render_grant(_grant_of(application_id), status=status, gate_form=form, gate_error=error,
                         gate_reasons=reasons)


@bp.post("/<int:application_id>/irregularities")
@login_required
def record_irregularity(application_id: int):
    """Enter a suspected irregularity in the register (officers)."""
    application = _grant_of(application_id)
    if not may_manage(current_user):
        raise PermissionDenied()
    form = IrregularityForm(prefix="irregularity")
    status, error = 422, None
    if form.validate_on_submit():
        values = form.values()
        values["amount"] = as_number(values["amount"])
        try:
            irregularities.record_irregularity(application, current_user, values, today=today())
        except UserInputError as refused:
            db.session.rollback()
            error = " ".join(_put_errors(form, refused.fields)) or None
            status = refused.status
        except Conflict as refused:
            db.session.rollback()
            status, error = refused.status, str(refused)
        else:
            db.session.commit()
            flash(_("The irregularity has been recorded as suspected."), "success")
            return redirect(url_for("grants_mgmt.grant", application_id=application_id, _anchor="irregularities"))
    return _render_grant(_grant_of(application_id), status=status, irregularity_form=form,
                         irregularity_error=error)


# --- payments -----------------------------------------------------------------------------------------

@bp.post("/payments/<int:payment_id>/act")
@login_required
def act_on_payment(payment_id: int):
    """Request, verify, pay or reject one payment, from the grant page or the finance work list; back to
    where the button was, with what happened (or why it was refused) in a message."""
    payment = payments.get_payment(payment_id)
    get_readable(current_user, payment.application_id)
    if not current_user.has_any_role(*PAYMENT_ACTORS):
        raise PermissionDenied()
    form = PaymentActionForm()
    back = safe_next(form.next.data or request.args.get("next"),
                     url_for("grants_mgmt.grant", application_id=payment.application_id, _anchor="payments"))
    if not form.validate_on_submit():
        errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
        flash(_("The payment was not changed: %(reason)s", reason=" ".join(errors) or _("please try again.")),
              "error")
        return redirect(back)
    paid_on = None
    if form.trigger.data == "pay" and (form.paid_on.data or "").strip():
        try:
            paid_on = date.fromisoformat(form.paid_on.data.strip())
        except ValueError:
            flash(_("The payment was not changed: %(reason)s", reason=_("Give the payment date (YYYY-MM-DD).")),
                  "error")
            return redirect(back)
    try:
        payments.act_on_payment(payment, form.trigger.data, current_user, comment=form.comment.data,
                                expected_version=form.version.data, paid_on=paid_on,
                                reference=form.reference.data if form.trigger.data == "pay" else None, today=today())
    except TransitionNotAllowed as refused:
        db.session.rollback()
        reasons = "; ".join(reason["message"] for reason in refused.reasons) or str(refused)
        flash(_("The payment was not changed: %(reason)s", reason=reasons), "error")
    except (UserInputError, Conflict, PermissionDenied) as refused:
        db.session.rollback()
        flash(_("The payment was not changed: %(reason)s", reason=_messages(refused)), "error")
    else:
        db.session.commit()
        flash(_("The payment of %(amount)s is now: %(state)s.", amount=format_money(payment.amount),
                state=state_label(payment)), "success")
    return redirect(back)


@bp.get("/payments", endpoint="payments")
@login_required
@roles_required(*PAYMENT_READERS)
def payment_list():
    """The finance work list: by default what is to be verified; then what is to be paid."""
    tab = request.args.get("state") or "requested"
    if tab not in PAYMENT_TABS:
        tab = "requested"
    page = _page()
    total = payments_total(state=None if tab == "all" else tab)
    rows = payment_page(page, PER_PAGE, state=None if tab == "all" else tab)
    actions: dict[int, list[dict[str, str]]] = {}
    versions: dict[int, int] = {}
    if current_user.has_any_role(*PAYMENT_ACTORS):
        # Each row carries what the buttons need of its payment (workflow, state, grantee, version): loading the
        # payments themselves loaded their applications, calls and submissions with them.
        for row in rows:
            actions[row.id] = available_triggers(row, current_user)
            versions[row.id] = row.version
    totals = payment_totals()
    totals["all"] = {"count": sum(value["count"] for value in totals.values()),
                     "amount": sum((value["amount"] for value in totals.values()), Decimal("0.00"))}
    return render_template("grants_mgmt/payments.html", tab=tab, tabs=PAYMENT_TABS, rows=rows, total=total,
                           page=page, pages=_pages(total), totals=totals, actions=actions, versions=versions,
                           today=today(), next_here=request.full_path.rstrip("?"),
                           pinned=_pinned("payment"))


# --- 3. the agreement form ------------------------------------------------------------------------------

#: How many empty rows each table of the agreement form offers for more.
BLANK_ROWS = 2
TABLES = ("tranches", "reports", "schedule")


def _blank(keys: tuple[str, ...]) -> dict[str, str]:
    return dict.fromkeys(keys, "")


def _agreement_prefill(application: Application, current, form: AgreementForm, stages: list[str], codes: list[str],
                       day: date) -> dict[str, Any]:
    """What the form shows first: the agreement as it is, or a proposal from the decision (amount,
    conditions), the budget (co-financing rate) and the default period, reports and schedule."""
    gated = is_stage_gated(application)
    if current is not None:
        form.start_date.data, form.end_date.data = plain_date(current.start_date), plain_date(current.end_date)
        form.awarded_amount.data = plain_amount(current.awarded_amount)
        form.co_financing_rate.data = plain_amount(current.co_financing_rate)
        form.conditions.data = current.conditions
        form.version.data = current.version
        amounts = {t["si_stage"]: t["amount"] for t in current.tranches or []}
        tranches = [{"si_stage": code, "amount": str(amounts.get(code, ""))} for code in stages]
        reports_ = [{"kind": due.kind.value, "si_stage": due.si_stage, "period_end": plain_date(due.period_end),
                     "due_on": plain_date(due.due_on)} for due in agreements.dues_of(application)]
        schedule = [{"kind": p.kind.value, "amount": plain_amount(p.amount), "due_on": plain_date(p.due_on)}
                    for p in payments.payments_of(application)
                    if p.kind in payments.SCHEDULE_KINDS and p.state != "rejected"]
        targets = {code: str((current.indicator_targets or {}).get(code, "")) for code in codes}
    else:
        start, end = agreements.default_period(application, day)
        decision = approved_decision(application)
        amount = decided_amount(application)
        form.start_date.data, form.end_date.data = plain_date(start), plain_date(end)
        form.awarded_amount.data = plain_amount(amount)
        form.co_financing_rate.data = plain_amount(agreements.budget_co_financing_rate(application))
        form.conditions.data = decision.conditions if decision is not None else ""
        single = len(stages) == 1
        tranches = [{"si_stage": code, "amount": plain_amount(amount) if single else ""} for code in stages]
        proposed = agreements.default_reports(stages, start, end)
        reports_ = [{"kind": str(r["kind"]), "si_stage": r["si_stage"], "period_end": plain_date(r["period_end"]),
                     "due_on": plain_date(r["due_on"])} for r in proposed]
        # A stage-gated award's schedule follows its first tranche, not known before the officer sets it.
        schedule = ([{"kind": str(item["kind"]), "amount": plain_amount(item["amount"]),
                      "due_on": plain_date(item["due_on"])}
                     for item in agreements.default_schedule(amount, proposed, start)]
                    if amount is not None and (not gated or single) else [])
        targets = dict.fromkeys(codes, "")
    return {"tranches": tranches if gated else [],
            "reports": reports_ + [_blank(REPORT_KEYS) for _ in range(BLANK_ROWS)],
            "schedule": schedule + [_blank(SCHEDULE_KEYS) for _ in range(BLANK_ROWS)], "targets": targets}


def _agreement_data(form: AgreementForm, creating: bool, gated: bool, rows: dict[str, list[dict[str, str]]],
                    targets: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """What save_agreement takes, from the form (blank rows left out), and for each table the form row
    of each item sent (the service names items by their position in what it got)."""
    data: dict[str, Any] = {
        "start_date": (form.start_date.data or "").strip(), "end_date": (form.end_date.data or "").strip(),
        "awarded_amount": as_number(form.awarded_amount.data),
        "co_financing_rate": as_number(form.co_financing_rate.data),
        "conditions": form.conditions.data or "",
        "indicator_targets": {code: as_number(value) for code, value in targets.items() if value}}
    kept: dict[str, list[int]] = {table: [] for table in TABLES}
    if gated:
        data["tranches"] = [{"si_stage": row["si_stage"], "amount": as_number(row["amount"])}
                            for row in rows["tranches"]]
        kept["tranches"] = list(range(len(rows["tranches"])))
    kept["reports"] = [i for i, row in enumerate(rows["reports"]) if not is_blank(row, ("period_end", "due_on"))]
    if kept["reports"] or not creating:  # a new agreement without reports gets the default ones
        data["reports"] = [{"kind": rows["reports"][i]["kind"], "si_stage": rows["reports"][i]["si_stage"] or None,
                            "period_end": rows["reports"][i]["period_end"], "due_on": rows["reports"][i]["due_on"]}
                           for i in kept["reports"]]
    kept["schedule"] = [i for i, row in enumerate(rows["schedule"]) if not is_blank(row, ("amount", "due_on"))]
    if kept["schedule"] or not creating:  # likewise the default schedule
        data["schedule"] = [{"kind": rows["schedule"][i]["kind"], "amount": as_number(rows["schedule"][i]["amount"]),
                             "due_on": rows["schedule"][i]["due_on"]} for i in kept["schedule"]]
    return data, kept


@dataclass
class AgreementErrors:
    """Where the service's complaints go on the form: the form's own fields carry theirs; the rest by
    input name (``reports-2-due_on``, ``target-<code>``), by table, or for the whole form."""

    inputs: dict[str, list[str]]
    tables: dict[str, list[str]]
    general: list[str]

    def __bool__(self) -> bool:
        return bool(self.inputs or self.tables or self.general)


def _place_agreement_errors(fields: dict[str, list[str]], kept: dict[str, list[int]],
                            form: AgreementForm) -> AgreementErrors:
    placed = AgreementErrors({}, {}, [])
    for key, messages in fields.items():
        head, _sep, rest = key.partition(".")
        if head in TABLES:
            index, _sep, column = rest.partition(".")
            if not rest:
                placed.tables.setdefault(head, []).extend(messages)
            elif index.isdigit() and int(index) < len(kept[head]):
                row = kept[head][int(index)]
                name = f"{head}-{row}-{column}" if column else f"{head}-{row}"
                placed.inputs.setdefault(name, []).extend(messages)
            else:
                placed.tables.setdefault(head, []).extend(messages)
        elif head == "indicator_targets":
            if rest:
                placed.inputs.setdefault(f"target-{rest}", []).extend(messages)
            else:
                placed.tables.setdefault("targets", []).extend(messages)
        elif key in form and key not in ("csrf_token", "version"):
            form[key].errors = list(form[key].errors) + list(messages)
        else:
            placed.general.extend(messages)
    return placed


@bp.route("/<int:application_id>/agreement", methods=["GET", "POST"])
@login_required
def agreement(application_id: int):
    """Draft or change the grant agreement (officers, while the application is approved and the agreement
    unsigned): period, amount, co-financing, conditions, tranches, indicator targets, the reports it
    requires and the payment schedule, in one save."""
    application = _grant_of(application_id)
    if not may_manage(current_user):
        raise PermissionDenied()
    current = agreement_of(application)
    day = today()
    stages = award_stages(application)
    gated = is_stage_gated(application)
    defs = indicators.definitions(application.call.programme)
    codes = [indicator.code for indicator in defs]
    context = {"application": application, "current": current, "stages": stages, "gated": gated,
               "indicator_defs": defs}
    if not agreements.is_editable(application, current):
        return render_template("grants_mgmt/agreement_form.html", **context,
                               not_editable=str(agreements.AgreementNotEditable())), 409
    form = AgreementForm()
    placed = AgreementErrors({}, {}, [])
    status = 200
    if request.method == "POST":
        rows = {"tranches": [{"si_stage": code, "amount": str(request.form.get(f"tranches-{i}-amount") or "")
                              .strip()[:40]} for i, code in enumerate(stages)] if gated else [],
                "reports": posted_rows(request.form, "reports", REPORT_KEYS),
                "schedule": posted_rows(request.form, "schedule", SCHEDULE_KEYS)}
        targets = posted_targets(request.form, codes)
        status = 422
        if form.validate_on_submit():
            data, kept = _agreement_data(form, current is None, gated, rows, targets)
            try:
                agreements.save_agreement(application, current_user, data, today=day,
                                          expected_version=form.version.data if current is not None else None)
            except UserInputError as refused:
                db.session.rollback()
                placed = _place_agreement_errors(refused.fields, kept, form)
                if not refused.fields:
                    placed.general.append(_messages(refused))
            except Conflict as refused:
                db.session.rollback()
                status = refused.status
                placed.general.append(str(refused))
            else:
                db.session.commit()
                flash(_("The grant agreement has been saved."), "success")
                return redirect(url_for("grants_mgmt.grant", application_id=application_id, _anchor="agreement"))
            application = _grant_of(application_id)  # as it is now, after the rollback
            context["application"] = application
        values = {**rows, "targets": targets}
    else:
        values = _agreement_prefill(application, current, form, stages, codes, day)
    return render_template("grants_mgmt/agreement_form.html", **context, form=form, values=values, placed=placed,
                           summary=_summary(form, placed, values)), status


def _summary(form: AgreementForm, placed: AgreementErrors, values: dict[str, Any]) -> list[tuple[str | None, str]]:
    """The error summary at the top: (the input to jump to, what is wrong)."""
    titles = {"tranches": _("Tranches"), "reports": _("Required reports"), "schedule": _("Payment schedule"),
              "targets": _("Indicator targets")}
    items: list[tuple[str | None, str]] = [(None, message) for message in placed.general]
    for name, field in form._fields.items():
        if name not in ("csrf_token", "version") and field.errors:
            items.append((field.id, f"{field.label.text}: {' '.join(str(e) for e in field.errors)}"))
    if form.errors.get("csrf_token"):
        items.append((None, _("The form has expired. Please send it again.")))
    for table, messages in placed.tables.items():
        items.append((f"{table}-table", f"{titles[table]}: {' '.join(messages)}"))
    for name, messages in placed.inputs.items():
        table, _sep, rest = name.partition("-")
        if table == "target":
            items.append((name, f"{titles['targets']} ({rest}): {' '.join(messages)}"))
        else:
            row = rest.split("-")[0]
            where = _("row %(number)d", number=int(row) + 1) if row.isdigit() else rest
            items.append((name if name.count("-") == 2 else f"{table}-table",
                          f"{titles.get(table, table)}, {where}: {' '.join(messages)}"))
    return items


# --- 4. the printable agreement -------------------------------------------------------------------------

@bp.get("/<int:application_id>/agreement/print")
@login_required
def agreement_print(application_id: int):
    """The agreement as a printable document, for whoever may read the grant."""
    application = get_readable(current_user, application_id)
    current = agreement_of(application)
    if current is None:
        raise NotFound()
    programme = application.call.programme
    targets = current.indicator_targets or {}
    defs = [indicator for indicator in indicators.definitions(programme) if indicator.code in targets]
    return render_template(
        "grants_mgmt/agreement_print.html", application=application, agreement=current, programme=programme,
        organisation=application.organisation, stages=award_stages(application), gated=is_stage_gated(application),
        tranches=list(tranche_amounts(current).items()),
        schedule=[p for p in payments.payments_of(application) if p.state != "rejected"],
        dues=agreements.dues_of(application), targets=[(indicator, targets[indicator.code]) for indicator in defs],
        signed=application.state in SIGNED_STATES and current.is_signed)
