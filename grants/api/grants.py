"""Grants after award (API.md, "Grants after award"): the grants, their agreements, payment schedules
and payments, reports, irregularities, stage gate decisions and indicators."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from grants.api.common import BEARER, authenticated
from grants.api.openapi import file_download
from grants.calls.models import Call, Programme
from grants.core.db import db, today
from grants.core.errors import NotFound
from grants.core.paging import page_schema
from grants.core.roles import RoleCode
from grants.core.uploads import ALLOWED_TYPES, download_response
from grants.grants_mgmt import agreements, gates, indicators, irregularities, payments, reports
from grants.grants_mgmt.awards import GRANT_STAFF, agreement_of
from grants.grants_mgmt.files import get_file, open_file, remove_file
from grants.grants_mgmt.listings import (
    grant_rows,
    grants_query,
    grants_total,
    irregularities_page,
    payment_page,
    payments_total,
)
from grants.grants_mgmt.permissions import get_readable, reads_all
from grants.grants_mgmt.retention import retention_of
from grants.grants_mgmt.schemas import (
    AgreementInSchema,
    AgreementSchema,
    GateDecisionInSchema,
    GateDecisionSchema,
    GrantFileSchema,
    GrantFireSchema,
    GrantItemSchema,
    GrantListArgs,
    GrantReportCreateSchema,
    GrantReportItemSchema,
    GrantReportPatchSchema,
    GrantReportSchema,
    IndicatorProgressSchema,
    IndicatorSchema,
    IndicatorsInSchema,
    IrregularityInSchema,
    IrregularityItemSchema,
    IrregularityListArgs,
    IrregularitySchema,
    PaymentFireSchema,
    PaymentInSchema,
    PaymentListArgs,
    PaymentQueueItemSchema,
    PaymentSchema,
    RecoveryOrderInSchema,
    RecoveryOrderSchema,
    RecoveryReceiptInSchema,
    UploadSchema,
)
from grants.workflows.engine import available_triggers
from grants.workflows.history import history
from grants.workflows.schemas import HistoryEntrySchema, TransitionSchema

blp = Blueprint("api_grants", __name__, description="Grants after award: agreements, payments, reports, "
                                                   "irregularities, stage gates, indicators")


@blp.ARGUMENTS_PARSER.location_loader("multipart")
def _load_multipart(req, schema):
    return MultiDictProxy(CombinedMultiDict([req.files, req.form]), schema)


blp.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}

#: Who reads the finance queues and the irregularities register.
REGISTER_READERS = GRANT_STAFF


def _page(rows, total: int, page: int) -> dict:
    return {"items": rows, "total": total, "page": page}


# --- grants ------------------------------------------------------------------------------------------------

@blp.route("/grants", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(GrantListArgs, location="query")
@blp.response(200, page_schema(GrantItemSchema))
def list_grants(args):
    """Awarded applications the caller may see (staff: all; grantees: their own), newest first, with the
    agreement number, what is awarded and paid, the next report due and the retention date."""
    filters = {"call_id": args["call_id"], "state": args["state"], "si_stage": args["si_stage"],
               "programme_id": args["programme_id"], "overdue": args["overdue"], "today": today(), "q": args["q"]}
    rows = grant_rows(grants_query(current_user, page=args["page"], per_page=args["per_page"], **filters),
                      today=today())
    return _page(rows, grants_total(current_user, **filters), args["page"])


# --- the agreement -------------------------------------------------------------------------------------

def _agreement(application) -> dict:
    agreement = agreement_of(application)
    if agreement is None:
        raise NotFound()
    retention = retention_of(application)
    return {**{key: getattr(agreement, key) for key in (
        "id", "application_id", "number", "start_date", "end_date", "awarded_amount", "co_financing_rate",
        "conditions", "tranches", "indicator_targets", "signed_file_id", "signed_at", "version")},
            "reports": agreements.dues_of(application),
            "keep_until": retention.keep_until if retention is not None else None,
            "editable": agreements.is_editable(application, agreement),
            "problems": [{"code": code, "message": message}
                         for code, message in agreements.problems(application)]
            if application.state == "approved" else []}


@blp.route("/applications/<int:application_id>/agreement", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, AgreementSchema)
@blp.alt_response(404, description="No such grant for the caller, or no agreement yet.")
def read_agreement(application_id: int):
    """The grant agreement: number, period, amount, co-financing, conditions, tranches, the reports it requires,
    the signed scan and, once signed, the retention date."""
    return _agreement(get_readable(current_user, application_id))


@blp.route("/applications/<int:application_id>/agreement", methods=["PUT"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.OFFICER)
@blp.arguments(AgreementInSchema)
@blp.response(200, AgreementSchema)
@blp.alt_response(409, description="Not an approved application, already signed, or a stale `version`.")
@blp.alt_response(422, description="A field is wrong (named in `fields`), e.g. an amount above the decision or a "
                                   "schedule that does not add up to the award.")
def put_agreement(data, application_id: int):
    """Create or update the agreement while it is unsigned (officers). The number is generated per programme."""
    application = get_readable(current_user, application_id)
    version = data.pop("version")
    agreements.save_agreement(application, current_user, data, today=today(), expected_version=version)
    db.session.commit()
    return _agreement(application)


@blp.route("/applications/<int:application_id>/agreement/file", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.OFFICER)
@blp.arguments(UploadSchema, location="multipart")
@blp.response(201, GrantFileSchema)
@blp.alt_response(409, description="The agreement is signed: its scan is part of the grant's record.")
@blp.alt_response(413, description="Over the size limit.")
def upload_agreement(data, application_id: int):
    """Upload the scan of the signed agreement (PDF, DOCX, ODT, PNG or JPEG checked by content)."""
    application = get_readable(current_user, application_id)
    stored = agreements.attach_signed_file(application, current_user, data["file"])
    db.session.commit()
    return stored


@blp.route("/applications/<int:application_id>/agreement/file", methods=["GET"])
@blp.doc(security=BEARER, responses=file_download("The signed agreement, as a download.", ALLOWED_TYPES))
@authenticated()
def download_agreement(application_id: int):
    application = get_readable(current_user, application_id)
    agreement = agreement_of(application)
    if agreement is None or agreement.signed_file is None:
        raise NotFound()
    stored = agreement.signed_file
    return download_response(open_file(stored), filename=stored.filename, content_type=stored.content_type)


# --- payments -------------------------------------------------------------------------------------------

@blp.route("/applications/<int:application_id>/payments", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, PaymentSchema(many=True))
def list_payments(application_id: int):
    """The grant's payment schedule and payments, by due date."""
    return payments.payments_of(get_readable(current_user, application_id))


@blp.route("/applications/<int:application_id>/payments", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.OFFICER)
@blp.arguments(PaymentInSchema)
@blp.response(201, PaymentSchema)
@blp.alt_response(422, description="A wrong kind, amount or date, or a schedule that would exceed the award.")
def plan_payment(data, application_id: int):
    """Plan an instalment (advance, interim or final)."""
    application = get_readable(current_user, application_id)
    payment = payments.plan_payment(application, current_user, data)
    db.session.commit()
    return payment


def _readable_payment(payment_id: int):
    payment = payments.get_payment(payment_id)
    get_readable(current_user, payment.application_id)
    return payment


@blp.route("/payments", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*REGISTER_READERS)
@blp.arguments(PaymentListArgs, location="query")
@blp.response(200, page_schema(PaymentQueueItemSchema))
def payment_queue(args):
    """Payments of every grant, by due date: `state=requested` is what finance verifies, `state=verified`
    what it pays."""
    filters = {"state": args["state"], "call_id": args["call_id"]}
    return _page(payment_page(args["page"], args["per_page"], **filters), payments_total(**filters), args["page"])


@blp.route("/payments/<int:payment_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, PaymentSchema)
def read_payment(payment_id: int):
    return _readable_payment(payment_id)


@blp.route("/payments/<int:payment_id>/transitions", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, TransitionSchema(many=True))
def payment_transitions(payment_id: int):
    return available_triggers(_readable_payment(payment_id), current_user)


@blp.route("/payments/<int:payment_id>/transitions", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(PaymentFireSchema)
@blp.response(200, PaymentSchema)
@blp.alt_response(403, description="The caller's role may not take this action.")
@blp.alt_response(409, description="A guard refused (`reasons`): the same person verifying and paying, someone who "
                                   "evaluated or decided the application, no accepted report for the period, a "
                                   "confirmed irregularity, more than the award.")
def fire_payment(data, payment_id: int):
    """`request` (officer or finance), `verify`, `pay` (finance: another person than who verified), `reject`."""
    payment = _readable_payment(payment_id)
    payments.act_on_payment(payment, data["trigger"], current_user, comment=data["comment"],
                            expected_version=data["version"], paid_on=data["paid_on"], reference=data["reference"],
                            today=today())
    db.session.commit()
    return payment


@blp.route("/payments/<int:payment_id>/history", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, HistoryEntrySchema(many=True))
def payment_history(payment_id: int):
    return history(_readable_payment(payment_id), current_user)


# --- reports --------------------------------------------------------------------------------------------

def _readable_report(report_id: int):
    report = reports.get_report(report_id)
    get_readable(current_user, report.application_id)
    return report


@blp.route("/applications/<int:application_id>/grant-reports", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, GrantReportItemSchema(many=True))
def list_reports(application_id: int):
    """The grant's progress and final reports, by due date."""
    return reports.reports_of(get_readable(current_user, application_id))


@blp.route("/applications/<int:application_id>/grant-reports", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(GrantReportCreateSchema)
@blp.response(201, GrantReportSchema)
@blp.alt_response(409, description="The grant is not running, or the period already has a report.")
@blp.alt_response(422, description="No such period in the agreement, or a wrong value (named in `fields`).")
def create_report(data, application_id: int):
    """Draft the report for a period the agreement requires (the grantee's members)."""
    application = get_readable(current_user, application_id)
    report = reports.create_report(application, current_user, data)
    db.session.commit()
    return report


@blp.route("/grant-reports/<int:report_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, GrantReportSchema)
def read_report(report_id: int):
    return _readable_report(report_id)


@blp.route("/grant-reports/<int:report_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(GrantReportPatchSchema)
@blp.response(200, GrantReportSchema)
@blp.alt_response(409, description="A stale `version`, or the report is submitted or accepted.")
def update_report(data, report_id: int):
    """Change a draft or returned report; send the `version` you read."""
    report = _readable_report(report_id)
    version = data.pop("version")
    reports.update_report(report, current_user, data, version)
    db.session.commit()
    return report


@blp.route("/grant-reports/<int:report_id>/transitions", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, TransitionSchema(many=True))
def report_transitions(report_id: int):
    return available_triggers(_readable_report(report_id), current_user)


@blp.route("/grant-reports/<int:report_id>/transitions", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(GrantFireSchema)
@blp.response(200, GrantReportSchema)
@blp.alt_response(409, description="Refused by a guard (`reasons`): an incomplete report, the grant not taking it.")
def fire_report(data, report_id: int):
    """`submit` (the grantee), `accept` or `request_changes` with a comment (officers)."""
    report = _readable_report(report_id)
    reports.act_on_report(report, data["trigger"], current_user, comment=data["comment"],
                          expected_version=data["version"])
    db.session.commit()
    return report


@blp.route("/grant-reports/<int:report_id>/history", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, HistoryEntrySchema(many=True))
def report_history(report_id: int):
    return history(_readable_report(report_id), current_user)


@blp.route("/grant-reports/<int:report_id>/files", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, GrantFileSchema(many=True))
def report_files(report_id: int):
    return reports.files_of(_readable_report(report_id))


@blp.route("/grant-reports/<int:report_id>/files", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(UploadSchema, location="multipart")
@blp.response(201, GrantFileSchema)
@blp.alt_response(409, description="The report is submitted or accepted: not editable.")
@blp.alt_response(413, description="Over the size limit.")
def upload_report_file(data, report_id: int):
    """Add evidence to a draft or returned report (the grantee's members)."""
    report = _readable_report(report_id)
    stored = reports.attach_file(report, current_user, data["file"])
    db.session.commit()
    return stored


@blp.route("/grant-files/<int:file_id>", methods=["GET"])
@blp.doc(security=BEARER, responses=file_download("The file, as a download.", ALLOWED_TYPES))
@authenticated()
def download_file(file_id: int):
    stored = get_file(file_id)
    get_readable(current_user, stored.application_id)
    return download_response(open_file(stored), filename=stored.filename, content_type=stored.content_type)


@blp.route("/grant-files/<int:file_id>", methods=["DELETE"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(204)
@blp.alt_response(409, description="`retention_period`: the file is part of a grant's record, kept until its "
                                   "retention date; or the report is no longer editable.")
def delete_file(file_id: int):
    """Take back a file of a draft report (or a replaced agreement scan); part of a record: refused."""
    stored = get_file(file_id)
    application = get_readable(current_user, stored.application_id)
    remove_file(stored, application, current_user)
    db.session.commit()


# --- irregularities ----------------------------------------------------------------------------------

def _readable_irregularity(irregularity_id: int):
    irregularity = irregularities.get_irregularity(irregularity_id)
    get_readable(current_user, irregularity.application_id)
    if not reads_all(current_user) and irregularity.state in ("suspected", "dismissed"):
        raise NotFound()  # the grantee sees what was confirmed, not what is being examined
    return irregularity


@blp.route("/applications/<int:application_id>/irregularities", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, IrregularitySchema(many=True))
def list_irregularities(application_id: int):
    application = get_readable(current_user, application_id)
    found = irregularities.irregularities_of(application)
    if not reads_all(current_user):
        found = [i for i in found if i.state not in ("suspected", "dismissed")]
    return found


@blp.route("/applications/<int:application_id>/irregularities", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.OFFICER)
@blp.arguments(IrregularityInSchema)
@blp.response(201, IrregularitySchema)
@blp.alt_response(409, description="The application has no award.")
def record_irregularity(data, application_id: int):
    """Enter a suspected irregularity (officers); it then moves by its transitions."""
    application = get_readable(current_user, application_id)
    irregularity = irregularities.record_irregularity(application, current_user, data, today=today())
    db.session.commit()
    return irregularity


@blp.route("/irregularities", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*REGISTER_READERS)
@blp.arguments(IrregularityListArgs, location="query")
@blp.response(200, page_schema(IrregularityItemSchema))
def irregularity_register(args):
    """The irregularities register, newest first."""
    rows, total = irregularities_page(state=args["state"], page=args["page"], per_page=args["per_page"])
    return _page(rows, total, args["page"])


@blp.route("/irregularities/<int:irregularity_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, IrregularitySchema)
def read_irregularity(irregularity_id: int):
    return _readable_irregularity(irregularity_id)


@blp.route("/irregularities/<int:irregularity_id>/transitions", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(GrantFireSchema)
@blp.response(200, IrregularitySchema)
@blp.alt_response(409, description="Refused (`reasons`), e.g. closing as recovered before it all came back.")
def fire_irregularity(data, irregularity_id: int):
    """`confirm` or `dismiss` with a reason, `recover` once recovered, `write_off` with a reason (officers)."""
    irregularity = _readable_irregularity(irregularity_id)
    irregularities.act_on_irregularity(irregularity, data["trigger"], current_user, comment=data["comment"],
                                       expected_version=data["version"])
    db.session.commit()
    return irregularity


@blp.route("/irregularities/<int:irregularity_id>/recovery-orders", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.OFFICER)
@blp.arguments(RecoveryOrderInSchema)
@blp.response(201, RecoveryOrderSchema)
@blp.alt_response(409, description="The irregularity is not confirmed.")
def issue_order(data, irregularity_id: int):
    """Order (part of) a confirmed irregularity's amount back."""
    irregularity = _readable_irregularity(irregularity_id)
    order = irregularities.issue_recovery_order(irregularity, current_user, data, today=today())
    db.session.commit()
    return order


@blp.route("/recovery-orders/<int:order_id>/receipts", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.OFFICER, RoleCode.FINANCE)
@blp.arguments(RecoveryReceiptInSchema)
@blp.response(200, RecoveryOrderSchema)
def record_receipt(data, order_id: int):
    """Record money that came back on a recovery order (at most what is outstanding on it)."""
    order = irregularities.get_order(order_id)
    get_readable(current_user, order.irregularity.application_id)
    irregularities.record_recovery(order, current_user, data, today=today())
    db.session.commit()
    return order


# --- stage gates ---------------------------------------------------------------------------------------

@blp.route("/applications/<int:application_id>/gate-decision", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.COMMITTEE)
@blp.arguments(GateDecisionInSchema)
@blp.response(200, GateDecisionSchema)
@blp.alt_response(409, description="Not at a reviewed stage gate, or refused (`reasons`, e.g. `separation_of_duties`).")
@blp.alt_response(422, description="No outcome or date, a future date, or no reason where one is needed.")
def gate_decision(data, application_id: int):
    """The committee's decision at a stage gate: `passed` (stage proven, initiative advanced, next tranche planned)
    or `failed` (the award closes at this stage; the grantee is told why)."""
    application = get_readable(current_user, application_id)
    gates.decide_gate(application, current_user, data, today=today())
    db.session.commit()
    return {"application_id": application.id, "state": application.state, "award_stage": application.award_stage}


# --- indicators -------------------------------------------------------------------------------------------

@blp.route("/applications/<int:application_id>/indicators", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.response(200, IndicatorProgressSchema(many=True))
def grant_indicators(application_id: int):
    """The grant's indicators: the agreement's target against the sum of its accepted reports."""
    application = get_readable(current_user, application_id)
    return [row.as_dict() for row in indicators.grant_progress(application, agreement_of(application))]


@blp.route("/calls/<int:call_id>/indicators", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*GRANT_STAFF)
@blp.response(200, IndicatorProgressSchema(many=True))
def call_indicators(call_id: int):
    """The call's targets against what its grants' accepted reports reached."""
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return [row.as_dict() for row in indicators.call_progress(call)]


@blp.route("/programmes/<int:programme_id>/indicators", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*GRANT_STAFF)
@blp.response(200, IndicatorSchema(many=True))
def programme_indicators(programme_id: int):
    """The programme's indicators (its own and, for ESF+, the common ones) with programme and call targets."""
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound()
    return indicators.catalogue_for_api(programme)


@blp.route("/programmes/<int:programme_id>/indicators", methods=["PUT"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.OFFICER, RoleCode.ADMIN)
@blp.arguments(IndicatorsInSchema)
@blp.response(200, IndicatorSchema(many=True))
@blp.alt_response(422, description="A field is wrong (named in `fields`).")
def put_programme_indicators(data, programme_id: int):
    """Replace the programme's own indicators and the targets of all its indicators."""
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound()
    indicators.save_indicators(programme, current_user, data["indicators"])
    db.session.commit()
    return indicators.catalogue_for_api(programme)


@blp.route("/programmes/<int:programme_id>/indicators/progress", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*GRANT_STAFF)
@blp.response(200, IndicatorProgressSchema(many=True))
def programme_progress(programme_id: int):
    """The programme's targets against what all its grants' accepted reports reached."""
    programme = db.session.get(Programme, programme_id)
    if programme is None:
        raise NotFound()
    total, _per_call = indicators.programme_progress(programme)
    return [row.as_dict() for row in total]

