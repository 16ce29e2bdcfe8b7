"""Grant report pages (DESIGN §7): the grantee drafts the report of a period the agreement requires,
fills it in (narrative, indicator values, expenditure by budget category, files) and submits it; an
officer accepts it or returns it with a comment. Everyone who may read the grant reads the report,
its history and its files; auditors and evaluators reviewing a stage gate only read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from grants.applications.attachments import UploadTooLarge
from grants.core.db import db, today
from grants.core.errors import Conflict, NotFound, PermissionDenied, UserInputError
from grants.core.uploads import download_response
from grants.grants_mgmt import indicators, reports
from grants.grants_mgmt.agreements import dues_of
from grants.grants_mgmt.awards import RUNNING_STATES, agreement_of
from grants.grants_mgmt.files import get_file, open_file, remove_file
from grants.grants_mgmt.models import GrantReport, ReportKind
from grants.grants_mgmt.permissions import get_readable, is_grantee, may_manage
from grants.grants_mgmt.report_forms import (
    RemoveFileForm,
    ReportContent,
    ReportFileForm,
    content_from,
    content_of,
    take_action_listing_reasons,
)
from grants.initiatives.stages import stage_label
from grants.workflows.engine import available_triggers
from grants.workflows.forms import ActionForm
from grants.workflows.history import history

bp = Blueprint("grant_reports", __name__, url_prefix="/grants")

KIND_LABELS = {ReportKind.PROGRESS: _l("Progress report"), ReportKind.FINAL: _l("Final report")}


def _readable_report(report_id: int) -> GrantReport:
    report = reports.get_report(report_id)
    get_readable(current_user, report.application_id)
    return report


def _indicator_view(application, values: dict[str, Any]) -> dict[str, Any]:
    """The programme's indicators for a report: the agreement's target and the value reported of each,
    the ESF+ participants as a gender × age grid, the other indicators as a list."""
    definitions = indicators.definitions(application.call.programme)
    agreement = agreement_of(application)
    targets = (agreement.indicator_targets or {}) if agreement is not None else {}
    rows = []
    for indicator in definitions:
        value = indicators.parse_value(values.get(indicator.code))
        target = targets.get(indicator.code)
        rows.append(indicators.Progress(indicator, Decimal(str(target)) if target is not None else None,
                                        Decimal(value) if value is not None else Decimal(0)))
    return {"rows": [row for row in rows if row.indicator.gender is None],
            "matrix": indicators.participants_matrix(rows), "ages": indicators.AGE_GROUPS,
            "codes": [indicator.code for indicator in definitions], "reported": set(values),
            "titles": {indicator.code: indicator.title for indicator in definitions}}


def _error_items(errors: dict[str, list[str]], view: dict[str, Any]) -> list[tuple[str | None, str]]:
    """The service's field errors for the summary above the form: each linked to its input."""
    items: list[tuple[str | None, str]] = []
    for key, messages in errors.items():
        message = " ".join(messages)
        parts = key.split(".")
        if key == "narrative":
            items.append(("narrative", _("What was done: %(message)s", message=message)))
        elif parts[0] == "indicators" and len(parts) == 2:
            items.append((f"indicator-{parts[1]}", f"{view['titles'].get(parts[1], parts[1])}: {message}"))
        elif parts[0] == "expenditure" and len(parts) > 1 and parts[1].isdigit():
            field = parts[2] if len(parts) > 2 else "category"
            items.append((f"expenditure-{parts[1]}-{field}",
                          _("Expenditure line %(n)d: %(message)s", n=int(parts[1]) + 1, message=message)))
        else:
            items.append((None, message))
    return items


def _form_context(application) -> dict[str, Any]:
    return {"categories": reports.budget_categories(application),
            "stage_name": lambda code: stage_label(code, application.call.programme.stage_model),
            "kind_labels": KIND_LABELS}


# --- a new report --------------------------------------------------------------------------------------

@bp.route("/<int:application_id>/reports/new", methods=["GET", "POST"])
@login_required
def new_report(application_id: int):
    """The form of the report for one period the agreement requires (``kind`` and ``period_end``)."""
    application = get_readable(current_user, application_id)
    if not is_grantee(current_user, application):
        raise PermissionDenied(_("Only the grantee's members write its reports."))
    kind, period_end = request.args.get("kind", ""), request.args.get("period_end", "")
    due = reports.due_for(application, kind, period_end)
    existing = next((r for r in reports.reports_of(application) if due is not None and r.due_id == due.id), None)
    if existing is not None:
        flash(_("A report for this period already exists: change it here."), "info")
        return redirect(url_for("grant_reports.report", report_id=existing.id))
    view = _indicator_view(application, {})
    content, errors, error, status = ReportContent(), {}, None, 200
    if request.method == "POST":
        content = content_from(request.form, view["codes"])
        try:
            report = reports.create_report(application, current_user,
                                           {"kind": kind, "period_end": period_end, **content.as_data()})
        except UserInputError as refused:
            db.session.rollback()
            errors, status = refused.fields, refused.status
        except (Conflict, PermissionDenied) as refused:
            db.session.rollback()
            error, status = str(refused.message or refused.default_message), refused.status
        else:
            db.session.commit()
            flash(_("The report has been saved as a draft. Submit it when it is complete."), "success")
            return redirect(url_for("grant_reports.report", report_id=report.id))
        application = get_readable(current_user, application_id)  # as it is now, after the rollback
    elif due is None:
        status = 404
    return render_template("grants_mgmt/report_form.html", application=application, due=due, kind=kind,
                           period_end=period_end, dues=dues_of(application), content=content, errors=errors,
                           error=error, running=application.state in RUNNING_STATES, indicators_view=view,
                           error_items=_error_items(errors, view),
                           today=today(), **_form_context(application)), status


# --- the report ------------------------------------------------------------------------------------------

@bp.route("/reports/<int:report_id>", methods=["GET", "POST"])
@login_required
def report(report_id: int):
    report = _readable_report(report_id)
    application = report.application
    grantee = is_grantee(current_user, application)
    form = ActionForm()
    content: ReportContent | None = None
    errors: dict[str, list[str]] = {}
    status, error, action_error, reasons = 200, None, None, []
    version = report.version
    if request.method == "POST" and "trigger" in request.form:
        done, status, action_error, reasons = take_action_listing_reasons(
            form, lambda trigger, **kwargs: reports.act_on_report(report, trigger, current_user, **kwargs))
        if done:
            return redirect(url_for("grant_reports.report", report_id=report_id))
    elif request.method == "POST":
        if not grantee:
            raise PermissionDenied(_("Only the grantee's members write its reports."))
        content = content_from(request.form, list(indicators.indicator_codes(application.call.programme)))
        version = request.form.get("version", type=int)
        try:
            reports.update_report(report, current_user, content.as_data(), version)
        except UserInputError as refused:
            db.session.rollback()
            errors, status = refused.fields, refused.status
        except (Conflict, PermissionDenied) as refused:
            db.session.rollback()
            error, status = str(refused.message or refused.default_message), refused.status
        else:
            db.session.commit()
            flash(_("The report has been saved."), "success")
            return redirect(url_for("grant_reports.report", report_id=report_id))
    if request.method == "POST":
        report = _readable_report(report_id)  # as it is now, after the rollback
        application = report.application
    editable = grantee and reports.is_editable(report)
    view = _indicator_view(application, report.indicators or {})
    form.version.data = report.version
    expenditure = reports.expenditure_table(report)
    totals = {key: sum((row[key] for row in expenditure), Decimal("0.00"))
              for key in ("approved", "claimed", "co_financing")}
    return render_template(
        "grants_mgmt/report.html", report=report, application=application, grantee=grantee, editable=editable,
        officer=may_manage(current_user), form=form, error=error, action_error=action_error, reasons=reasons,
        version=version if version is not None else report.version,
        actions=available_triggers(report, current_user), content=content or content_of(report), errors=errors,
        indicators_view=view, error_items=_error_items(errors, view), expenditure=expenditure,
        totals=totals, files=reports.files_of(report), file_form=ReportFileForm(formdata=None),
        remove_form=RemoveFileForm(formdata=None), history=history(report, current_user),
        overdue=not reports.is_delivered(report) and report.due_on < today(),
        problems=reports.problems(report) if editable else [],
        closed=reports.reporting_closed(report) if editable else None,
        limit_mb=int(current_app.config["MAX_UPLOAD_MB"]), **_form_context(application)), status


# --- files -----------------------------------------------------------------------------------------------

def _report_file(report: GrantReport, file_id: int):
    stored = get_file(file_id)
    if stored.report_id != report.id:
        raise NotFound()
    return stored


@bp.get("/reports/<int:report_id>/files/<int:file_id>")
@login_required
def download(report_id: int, file_id: int):
    """A report's file, for those who may read the grant."""
    stored = _report_file(_readable_report(report_id), file_id)
    return download_response(open_file(stored), filename=stored.filename, content_type=stored.content_type)


@bp.post("/reports/<int:report_id>/files")
@login_required
def upload(report_id: int):
    report = _readable_report(report_id)
    form = ReportFileForm()
    back = url_for("grant_reports.report", report_id=report_id, _anchor="files")
    if not form.validate_on_submit():
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors)
              or _("The file was not received. Please try again."), "error")
        return redirect(back)
    try:
        stored = reports.attach_file(report, current_user, form.file.data)
    except (UserInputError, UploadTooLarge, Conflict) as refused:
        db.session.rollback()
        message = (refused.fields.get("file") or [str(refused.message or refused.default_message)])[0]
        flash(_("The file was not added: %(reason)s", reason=message), "error")
    else:
        db.session.commit()
        flash(_("The file %(name)s has been added to the report.", name=stored.filename), "success")
    return redirect(back)


@bp.post("/reports/<int:report_id>/files/<int:file_id>/remove")
@login_required
def remove(report_id: int, file_id: int):
    report = _readable_report(report_id)
    stored = _report_file(report, file_id)
    back = url_for("grant_reports.report", report_id=report_id, _anchor="files")
    if not RemoveFileForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return redirect(back)
    try:
        remove_file(stored, report.application, current_user)
    except Conflict as refused:
        db.session.rollback()
        flash(str(refused.message or refused.default_message), "error")
    else:
        db.session.commit()
        flash(_("The file %(name)s has been removed from the report.", name=stored.filename), "success")
    return redirect(back)
