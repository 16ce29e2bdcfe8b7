"""Funder reports (API.md, "Reporting, exports and the registry"): the statistics of a programme
(filterable by fund source and period) and of a call, with the audit chain's head at the time."""

from __future__ import annotations

from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.calls.models import Call, Programme
from grants.core.db import db
from grants.core.errors import NotFound
from grants.reports import statistics
from grants.reports.schemas import PeriodArgs, ProgrammeReportArgs, ReportSchema

blp = Blueprint("api_reports", __name__, description="Funder reports per programme and per call (DESIGN §9)")

_BAD_FILTER = "A filter is wrong (named in `fields`: `fund`, `from` or `to`): an unknown fund source code, a date " \
              "not written YYYY-MM-DD, or a period ending before it starts."


@blp.route("/reports/programmes/<int:programme_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*statistics.READERS)
@blp.arguments(ProgrammeReportArgs, location="query")
@blp.response(200, ReportSchema)
@blp.alt_response(404, description="No such programme.")
@blp.alt_response(422, description=_BAD_FILTER)
def programme_report(args, programme_id: int):
    """A programme's statistics: applications received, eligible, ineligible (with the reasons by rule),
    evaluated and funded; by SI stage, planning region, legal form and target group; requested, awarded
    and paid; indicators against the targets (ESF+ participants by gender and age group); selection
    statistics; irregularities and recoveries; and the audit chain's head (`audit_head: {hash, events}`)
    when the report was made. The period (`from`, `to`) applies to the date an application was first
    submitted, the decision date for awards, the payment date for payments."""
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound()
    filters = statistics.parse_filters(args["fund"], args["start"], args["end"])
    report = statistics.programme_report(programme, filters)
    return report.as_dict()


@blp.route("/reports/calls/<int:call_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*statistics.READERS)
@blp.arguments(PeriodArgs, location="query")
@blp.response(200, ReportSchema)
@blp.alt_response(404, description="No such call.")
@blp.alt_response(422, description=_BAD_FILTER)
def call_report(args, call_id: int):
    """A call's statistics, as for a programme (the call's indicator targets), optionally for a period."""
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    report = statistics.call_report(call, statistics.parse_filters(None, args["start"], args["end"]))
    return report.as_dict()
