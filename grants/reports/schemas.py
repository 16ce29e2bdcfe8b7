"""What the funder report API reads and returns (grants.api.reports): counts as integers, money as
decimal strings in EUR with two places, indicator values as numbers."""

from __future__ import annotations

import marshmallow as ma

from grants.core.codes import FundSource


def _money(**kwargs) -> ma.fields.Decimal:
    return ma.fields.Decimal(as_string=True, places=2,
                             metadata={"description": 'EUR as a decimal string, e.g. "12500.00"',
                                       **kwargs.pop("metadata", {})}, **kwargs)


def _count(description: str = "") -> ma.fields.Integer:
    return ma.fields.Integer(metadata={"description": description} if description else {})


class PeriodArgs(ma.Schema):
    """The period, read as typed; the service checks it and names the field that is wrong (422)."""

    #: An empty value is no limit, as a page's empty field sends it (the API's document: ``allowEmptyValue``).
    EMPTY_IS_ANY = True

    start = ma.fields.String(data_key="from", load_default=None, metadata={
        "format": "date", "description": "First day of the period (YYYY-MM-DD, in Riga), included."})
    end = ma.fields.String(data_key="to", load_default=None, metadata={
        "format": "date", "description": "Last day of the period (YYYY-MM-DD, in Riga), included."})


class ProgrammeReportArgs(PeriodArgs):
    fund = ma.fields.String(load_default=None, metadata={
        "enum": [source.value for source in FundSource],
        "description": "A fund source code; another than the programme's gives an empty report."})


class ScopeSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    title = ma.fields.String()
    fund_source = ma.fields.String()


class CallScopeSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    title = ma.fields.String()


class FiltersSchema(ma.Schema):
    fund = ma.fields.String(allow_none=True)
    start = ma.fields.Date(allow_none=True, data_key="from", attribute="from")
    end = ma.fields.Date(allow_none=True, data_key="to", attribute="to")


class FunnelSchema(ma.Schema):
    received = _count("Submitted at least once.")
    eligible = _count("Declared eligible.")
    ineligible = _count("Declared ineligible (not since declared eligible, no upheld appeal pending).")
    undecided = _count("Received and neither: in screening, or withdrawn before the eligibility decision.")
    evaluated = _count("With a final score of the selection.")
    funded = _count("Approved (in the period: by the decision date).")


class MoneySchema(ma.Schema):
    requested = _money(metadata={"description": "Requested by the applications received."})
    awarded = _money(metadata={"description": "The agreements' amounts, else the amounts decided."})
    paid = _money(metadata={"description": "Payments made (in the period: by the payment date)."})


class _BreakdownValues(ma.Schema):
    label = ma.fields.String()
    received = _count()
    requested = _money()
    funded = _count()
    awarded = _money()
    paid = _money()


class StageRowSchema(_BreakdownValues):
    si_stage = ma.fields.String()


class RegionRowSchema(_BreakdownValues):
    region = ma.fields.String(metadata={"description": 'A planning region code; "" for none stated.'})


class LegalFormRowSchema(_BreakdownValues):
    legal_form = ma.fields.String()


class TargetGroupRowSchema(_BreakdownValues):
    target_group = ma.fields.String(metadata={"description": 'As the initiatives name it; "" for none stated.'})


class ReasonRowSchema(ma.Schema):
    rule_code = ma.fields.String(metadata={"description": '"" for applications declared ineligible without a '
                                                          "failed rule."})
    title = ma.fields.String()
    applications = _count()


class IndicatorRowSchema(ma.Schema):
    code = ma.fields.String()
    title = ma.fields.String()
    unit = ma.fields.String()
    is_common = ma.fields.Boolean(metadata={"description": "An ESF+ common indicator."})
    target = ma.fields.Float(allow_none=True)
    actual = ma.fields.Float(metadata={"description": "Sum of the values of the accepted reports."})
    percent = ma.fields.Integer(allow_none=True)


class ParticipantRowSchema(ma.Schema):
    gender = ma.fields.String()
    age_group = ma.fields.String()
    target = ma.fields.Float(allow_none=True)
    actual = ma.fields.Float()


class SelectionSchema(ma.Schema):
    reviews_submitted = _count()
    discrepancies = _count("Totals apart by more than the call's share.")
    third_evaluators = _count("Third evaluators assigned after a discrepancy.")
    recusals = _count("Evaluators who declared a conflict of interest.")
    appeals_lodged = _count()
    appeals_upheld = _count()
    appeals_dismissed = _count()
    appeals_pending = _count()
    decisions = _count()
    decisions_departing = _count("Decisions other than the ranking recommended (justified).")


class DecisionRowSchema(ma.Schema):
    outcome = ma.fields.String()
    label = ma.fields.String()
    count = _count()
    departing = _count()


class IrregularityRowSchema(ma.Schema):
    state = ma.fields.String()
    label = ma.fields.String()
    count = _count()
    amount = _money()
    orders = _count()
    ordered = _money()
    recovered = _money()


class RecoveriesSchema(ma.Schema):
    orders = _count()
    ordered = _money()
    recovered = _money()
    outstanding = _money()


class AuditHeadSchema(ma.Schema):
    hash = ma.fields.String(metadata={"description": "The audit chain's head hash when the report was made."})
    events = _count("Events in the audit chain then.")


class ReportSchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": ["programme", "call"]})
    programme = ma.fields.Nested(ScopeSchema)
    call = ma.fields.Nested(CallScopeSchema, allow_none=True)
    filters = ma.fields.Nested(FiltersSchema)
    fund_matches = ma.fields.Boolean(metadata={"description": "False: the fund filter is not the programme's."})
    funnel = ma.fields.Nested(FunnelSchema)
    money = ma.fields.Nested(MoneySchema)
    by_stage = ma.fields.List(ma.fields.Nested(StageRowSchema))
    by_region = ma.fields.List(ma.fields.Nested(RegionRowSchema))
    by_legal_form = ma.fields.List(ma.fields.Nested(LegalFormRowSchema))
    by_target_group = ma.fields.List(ma.fields.Nested(TargetGroupRowSchema))
    ineligible_reasons = ma.fields.List(ma.fields.Nested(ReasonRowSchema))
    indicators = ma.fields.List(ma.fields.Nested(IndicatorRowSchema))
    participants = ma.fields.List(ma.fields.Nested(ParticipantRowSchema), metadata={
        "description": "ESF+ participants by gender and age group (ESF+ programmes)."})
    selection = ma.fields.Nested(SelectionSchema)
    decisions = ma.fields.List(ma.fields.Nested(DecisionRowSchema))
    irregularities = ma.fields.List(ma.fields.Nested(IrregularityRowSchema))
    recoveries = ma.fields.Nested(RecoveriesSchema)
    audit_head = ma.fields.Nested(AuditHeadSchema)
    generated_at = ma.fields.DateTime()
