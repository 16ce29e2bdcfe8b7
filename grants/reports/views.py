"""Funder report pages (DESIGN §9): the list of programmes and calls, and the report of a programme
(filterable by fund source and period, the filters kept in the URL) or of a call (by period), with
charts, tables and the audit chain's head. Officers, auditors and administrators read them; the API
(grants.api.reports) serves the same numbers from the same service.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import login_required

from grants.calls.models import Call, Programme
from grants.core.db import db
from grants.core.errors import NotFound, UserInputError
from grants.core.security import roles_required
from grants.grants_mgmt.indicators import AGE_GROUPS
from grants.reports import statistics
from grants.reports.charts import report_charts
from grants.reports.statistics import Filters, Report

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("/")
@login_required
@roles_required(*statistics.READERS)
def index():
    """Every programme with its calls, each linking to its report."""
    return render_template("reports/index.html", entries=statistics.catalogue())


@bp.get("/programmes/<int:programme_id>")
@login_required
@roles_required(*statistics.READERS)
def programme(programme_id: int):
    item = db.session.get(Programme, programme_id)
    if item is None:
        raise NotFound()
    filters, errors = _filters(with_fund=True)
    report = statistics.programme_report(item, filters)
    return _render(report, errors, calls=statistics.programme_calls(item))


@bp.get("/calls/<int:call_id>")
@login_required
@roles_required(*statistics.READERS)
def call(call_id: int):
    item = db.session.get(Call, call_id)
    if item is None:
        raise NotFound()
    filters, errors = _filters(with_fund=False)
    return _render(statistics.call_report(item, filters), errors)


def _filters(*, with_fund: bool) -> tuple[Filters, dict[str, list[str]]]:
    """The filters of the URL; when one is wrong, no filter at all and the messages to show."""
    typed = {"fund": request.args.get("fund", "") if with_fund else "", "from": request.args.get("from", ""),
             "to": request.args.get("to", "")}
    try:
        return statistics.parse_filters(typed["fund"], typed["from"], typed["to"]), {}
    except UserInputError as refused:
        return Filters(), refused.fields


def _labels() -> dict[str, str]:
    return {**{key: str(value) for key, value in statistics.FUNNEL_LABELS.items()},
            **{key: str(value) for key, value in statistics.MONEY_LABELS.items()},
            "funnel_title": _("From received to funded: applications at each step"),
            "stage_counts_title": _("Applications received and funded, by SI stage"),
            "stage_money_title": _("Requested, awarded and paid, by SI stage (EUR)"),
            "region_counts_title": _("Applications received and funded, by planning region"),
            "money_title": _("Requested, awarded and paid (EUR)"),
            "money_group": _("All applications")}


def _render(report: Report, errors: dict[str, list[str]], **extra: Any):
    typed = {"fund": request.args.get("fund", ""), "from": request.args.get("from", ""),
             "to": request.args.get("to", "")}
    labels = _labels()
    period_args = {key: value for key, value in report.filters.as_args().items() if key != "fund"}
    page = render_template("reports/report.html", report=report, charts=report_charts(report, labels), labels=labels,
                           errors=errors, typed={key: value[:40] for key, value in typed.items()},
                           funds=statistics.fund_choices(), ages=AGE_GROUPS, period_args=period_args, **extra)
    return page, 422 if errors else 200
