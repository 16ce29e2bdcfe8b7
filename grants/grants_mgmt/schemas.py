"""What the grants API reads and returns (separate load and dump schemas)."""

from __future__ import annotations

import marshmallow as ma

from grants.core.paging import PageArgs, valid_id
from grants.workflows.engine import state_label, status_label
from grants.workflows.schemas import FireSchema


def _money(**kwargs) -> ma.fields.Decimal:
    return ma.fields.Decimal(as_string=True, places=2,
                             metadata={"description": 'EUR as a decimal string, e.g. "12500.00"',
                                       **kwargs.pop("metadata", {})}, **kwargs)


def _money_in(**kwargs) -> ma.fields.Raw:
    """Money as sent: a decimal string or a number; the service checks it and names the field."""
    return ma.fields.Raw(metadata={"description": 'EUR as a decimal string (or number), e.g. "12500.00"',
                                   "type": "string"}, **kwargs)


# --- grants ---------------------------------------------------------------------------------------------

class GrantListArgs(PageArgs):
    call_id = ma.fields.Integer(load_default=None, validate=valid_id)
    programme_id = ma.fields.Integer(load_default=None, validate=valid_id)
    state = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    si_stage = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    overdue = ma.fields.Boolean(load_default=False, metadata={"description": "Only grants with an overdue report."})
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200), metadata={
        "description": "Words of the title, the organisation's name or the initiative's title (the last as a "
                       "prefix), or a piece of the agreement number."})


class GrantItemSchema(ma.Schema):
    application_id = ma.fields.Integer()
    title = ma.fields.String()
    organisation = ma.fields.String()
    organisation_id = ma.fields.Integer()
    call_id = ma.fields.Integer()
    call_code = ma.fields.String()
    agreement_number = ma.fields.String(allow_none=True)
    state = ma.fields.String(metadata={"description": "The application's workflow state."})
    si_stage = ma.fields.String(metadata={"description": "The SI stage applied for."})
    award_stage = ma.fields.String(metadata={"description": "The stage the award funds now."})
    awarded_amount = _money(allow_none=True, attribute="amount",
                            metadata={"description": "The agreement's amount (the decided one before it)."})
    paid_amount = _money()
    next_report_due = ma.fields.Date(allow_none=True)
    overdue_reports = ma.fields.Integer()
    keep_until = ma.fields.Date(allow_none=True, metadata={
        "description": "Retention: 31 December of the last payment's year + 5 (+10 for de minimis aid); null "
                       "before the agreement is signed."})
    keep_until_provisional = ma.fields.Boolean(attribute="retention_provisional",
                                               metadata={"description": "The grant may still pay."})


# --- the agreement --------------------------------------------------------------------------------------

class TrancheSchema(ma.Schema):
    si_stage = ma.fields.String(required=True)
    amount = _money_in(required=True)


class ReportDueInSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "progress or final"})
    si_stage = ma.fields.String(load_default=None, allow_none=True)
    period_end = ma.fields.Raw(required=True, metadata={"description": "YYYY-MM-DD", "type": "string"})
    due_on = ma.fields.Raw(required=True, metadata={"description": "YYYY-MM-DD", "type": "string"})


class InstalmentInSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "advance, interim or final"})
    amount = _money_in(required=True)
    due_on = ma.fields.Raw(required=True, metadata={"description": "YYYY-MM-DD", "type": "string"})


class AgreementInSchema(ma.Schema):
    start_date = ma.fields.Raw(load_default=None, metadata={"description": "YYYY-MM-DD", "type": "string"})
    end_date = ma.fields.Raw(load_default=None, metadata={"description": "YYYY-MM-DD", "type": "string"})
    awarded_amount = _money_in(load_default=None)
    co_financing_rate = ma.fields.Raw(load_default=None, metadata={
        "description": "The grantee's contribution, per cent of the eligible cost (0–100, two decimals).",
        "type": "string"})
    conditions = ma.fields.String(load_default=None, allow_none=True)
    tranches = ma.fields.List(ma.fields.Dict(), load_default=None, allow_none=True, metadata={
        "description": "Stage-gated awards: [{si_stage, amount}] for each funded stage, adding up to the award."})
    indicator_targets = ma.fields.Dict(keys=ma.fields.String(), load_default=None, allow_none=True)
    reports = ma.fields.List(ma.fields.Dict(), load_default=None, allow_none=True, metadata={
        "description": "The reports required: [{kind: progress|final, si_stage?, period_end, due_on}]; a final "
                       "report for each funded stage. Proposed when the agreement is new."})
    schedule = ma.fields.List(ma.fields.Dict(), load_default=None, allow_none=True, metadata={
        "description": "The payment schedule: [{kind: advance|interim|final, amount, due_on}], replacing the "
                       "planned instalments; it must add up to the award (a stage-gated award: its first tranche), "
                       "else 422. Proposed when the agreement is new."})
    version = ma.fields.Integer(load_default=None, allow_none=True,
                                metadata={"description": "The agreement's version you read (a stale one: 409)."})


class ReportDueSchema(ma.Schema):
    kind = ma.fields.Function(lambda due: due.kind.value)
    si_stage = ma.fields.String()
    period_end = ma.fields.Date()
    due_on = ma.fields.Date()


class AgreementSchema(ma.Schema):
    id = ma.fields.Integer()
    application_id = ma.fields.Integer()
    number = ma.fields.String()
    start_date = ma.fields.Date()
    end_date = ma.fields.Date()
    awarded_amount = _money()
    co_financing_rate = ma.fields.Decimal(as_string=True, places=2)
    conditions = ma.fields.String()
    tranches = ma.fields.List(ma.fields.Dict(), metadata={"description": "[{si_stage, amount}]"})
    indicator_targets = ma.fields.Dict()
    signed_file_id = ma.fields.Integer(allow_none=True)
    signed_at = ma.fields.DateTime(allow_none=True)
    version = ma.fields.Integer()
    reports = ma.fields.List(ma.fields.Nested(ReportDueSchema), metadata={"description": "The reports it requires."})
    keep_until = ma.fields.Date(allow_none=True)
    editable = ma.fields.Boolean()
    problems = ma.fields.List(ma.fields.Dict(), metadata={"description": "What stops signing: [{code, message}]."})


class GrantFileSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    purpose = ma.fields.Function(lambda f: f.purpose.value)
    report_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()


class UploadSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


# --- payments -------------------------------------------------------------------------------------------

class PaymentInSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "advance, interim or final"})
    amount = _money_in(required=True)
    due_on = ma.fields.Raw(required=True, metadata={"description": "YYYY-MM-DD", "type": "string"})


class PaymentSchema(ma.Schema):
    id = ma.fields.Integer()
    application_id = ma.fields.Integer()
    kind = ma.fields.Function(lambda p: getattr(p.kind, "value", p.kind),
                              metadata={"description": "advance, interim, final or tranche"})
    si_stage = ma.fields.String()
    amount = _money()
    due_on = ma.fields.Date()
    state = ma.fields.String()
    status = ma.fields.Function(lambda p: status_label(p))
    requested_at = ma.fields.DateTime(allow_none=True)
    verified_at = ma.fields.DateTime(allow_none=True)
    paid_on = ma.fields.Date(allow_none=True)
    reference = ma.fields.String()
    version = ma.fields.Integer()


class PaymentQueueItemSchema(ma.Schema):
    id = ma.fields.Integer()
    application_id = ma.fields.Integer()
    title = ma.fields.String()
    organisation = ma.fields.String()
    agreement_number = ma.fields.String(allow_none=True)
    kind = ma.fields.String()
    si_stage = ma.fields.String()
    amount = _money()
    due_on = ma.fields.Date()
    state = ma.fields.String()
    paid_on = ma.fields.Date(allow_none=True)


class PaymentListArgs(PageArgs):
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(
        ["planned", "requested", "verified", "paid", "rejected"]))
    call_id = ma.fields.Integer(load_default=None, validate=valid_id)


class PaymentFireSchema(FireSchema):
    paid_on = ma.fields.Date(load_default=None, allow_none=True,
                             metadata={"description": "With `pay`: the value date (default today, not future)."})
    reference = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=120),
                                 metadata={"description": "With `pay`: the payment order's reference."})


# --- reports --------------------------------------------------------------------------------------------

class ExpenditureLineSchema(ma.Schema):
    category = ma.fields.String()
    amount = ma.fields.String()
    co_financing = ma.fields.String()


class GrantReportItemSchema(ma.Schema):
    id = ma.fields.Integer()
    application_id = ma.fields.Integer()
    kind = ma.fields.Function(lambda r: r.due.kind.value, metadata={"description": "progress or final"})
    si_stage = ma.fields.String()
    period_end = ma.fields.Date()
    due_on = ma.fields.Date()
    state = ma.fields.String()
    status = ma.fields.Function(lambda r: status_label(r))
    submitted_at = ma.fields.DateTime(allow_none=True)
    accepted_at = ma.fields.DateTime(allow_none=True)


class GrantReportSchema(GrantReportItemSchema):
    narrative = ma.fields.String()
    indicators = ma.fields.Dict(metadata={"description": "Indicator code → the value reached in the period."})
    expenditure = ma.fields.List(ma.fields.Nested(ExpenditureLineSchema))
    content_hash = ma.fields.String(allow_none=True, metadata={"description": "SHA-256 of what was submitted."})
    version = ma.fields.Integer()
    state_label = ma.fields.Function(lambda r: state_label(r))


class GrantReportCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "progress or final"})
    period_end = ma.fields.Raw(required=True, metadata={"description": "The end of a period the agreement "
                                                                        "requires a report for (YYYY-MM-DD).",
                                                         "type": "string"})
    narrative = ma.fields.String(load_default="", allow_none=True)
    indicators = ma.fields.Dict(load_default=dict, allow_none=True)
    expenditure = ma.fields.List(ma.fields.Raw(), load_default=list, allow_none=True, metadata={
        "description": "[{category, amount, co_financing}] by the application's budget categories."})


class GrantReportPatchSchema(ma.Schema):
    version = ma.fields.Integer(required=True)
    narrative = ma.fields.String(allow_none=True)
    indicators = ma.fields.Dict(allow_none=True)
    expenditure = ma.fields.List(ma.fields.Raw(), allow_none=True)


# --- irregularities -------------------------------------------------------------------------------------

class IrregularityInSchema(ma.Schema):
    amount = _money_in(required=True)
    description = ma.fields.String(required=True)
    detected_on = ma.fields.Raw(required=True, metadata={"description": "YYYY-MM-DD", "type": "string"})


class RecoveryOrderSchema(ma.Schema):
    id = ma.fields.Integer()
    amount = _money()
    issued_on = ma.fields.Date()
    due_on = ma.fields.Date()
    reference = ma.fields.String()
    recovered_amount = _money()
    recovered_on = ma.fields.Date(allow_none=True)
    outstanding = _money()


class IrregularitySchema(ma.Schema):
    id = ma.fields.Integer()
    application_id = ma.fields.Integer()
    amount = _money()
    description = ma.fields.String()
    detected_on = ma.fields.Date()
    state = ma.fields.String(metadata={"description": "suspected, confirmed, recovered, written_off or dismissed"})
    status = ma.fields.Function(lambda i: status_label(i))
    ordered = _money(metadata={"description": "Sum of its recovery orders."})
    recovered = _money()
    recovery_orders = ma.fields.List(ma.fields.Nested(RecoveryOrderSchema))
    version = ma.fields.Integer()


class IrregularityListArgs(PageArgs):
    state = ma.fields.String(load_default=None, validate=ma.validate.OneOf(
        ["suspected", "confirmed", "recovered", "written_off", "dismissed"]))


class IrregularityItemSchema(ma.Schema):
    id = ma.fields.Integer()
    application_id = ma.fields.Integer()
    title = ma.fields.String()
    organisation = ma.fields.String()
    call_code = ma.fields.String()
    amount = _money()
    detected_on = ma.fields.Date()
    state = ma.fields.String()
    description = ma.fields.String()


class RecoveryOrderInSchema(ma.Schema):
    amount = _money_in(required=True)
    issued_on = ma.fields.Raw(load_default=None, metadata={"description": "YYYY-MM-DD (default today)",
                                                           "type": "string"})
    due_on = ma.fields.Raw(required=True, metadata={"description": "YYYY-MM-DD", "type": "string"})
    reference = ma.fields.String(load_default="", allow_none=True)


class RecoveryReceiptInSchema(ma.Schema):
    amount = _money_in(required=True)
    received_on = ma.fields.Raw(load_default=None, metadata={"description": "YYYY-MM-DD (default today)",
                                                             "type": "string"})


# --- stage gates and indicators ----------------------------------------------------------------------

class GateDecisionInSchema(ma.Schema):
    outcome = ma.fields.String(required=True, metadata={"description": "passed or failed"})
    reason = ma.fields.String(load_default=None, allow_none=True, metadata={
        "description": "Required to fail, and to pass a gate the reviewers scored below the pass mark."})
    decided_on = ma.fields.Raw(load_default=None, metadata={"description": "Required: the date the committee "
                                                                           "decided, YYYY-MM-DD, not in the future.",
                                                            "type": "string"})


class GateDecisionSchema(ma.Schema):
    application_id = ma.fields.Integer()
    state = ma.fields.String(metadata={"description": "in_implementation after a pass, closed_at_gate after a fail"})
    award_stage = ma.fields.String(metadata={"description": "The stage the award funds now."})


class IndicatorProgressSchema(ma.Schema):
    code = ma.fields.String()
    title = ma.fields.String()
    unit = ma.fields.String()
    is_common = ma.fields.Boolean(metadata={"description": "An ESF+ common indicator."})
    target = ma.fields.Float(allow_none=True)
    actual = ma.fields.Float(metadata={"description": "Sum of the values in accepted reports."})


class IndicatorSchema(ma.Schema):
    code = ma.fields.String()
    title = ma.fields.String()
    unit = ma.fields.String()
    is_common = ma.fields.Boolean()
    integer = ma.fields.Boolean()
    title_lv = ma.fields.String()
    title_en = ma.fields.String()
    unit_lv = ma.fields.String()
    unit_en = ma.fields.String()
    target = ma.fields.Float(allow_none=True)
    call_targets = ma.fields.Dict(metadata={"description": "Call id → target."})


class IndicatorsInSchema(ma.Schema):
    indicators = ma.fields.List(ma.fields.Raw(), required=True, metadata={
        "description": "[{code, title_lv, title_en, unit_lv, unit_en, target, call_targets: {call_id: target}}]; an "
                       "ESF+ common indicator by its code with targets only."})


class GrantFireSchema(FireSchema):
    """Actions on a report or an irregularity."""
