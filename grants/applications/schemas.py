"""What the applications API reads and returns."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from grants.core.paging import PageArgs, valid_id
from grants.workflows.engine import state_label, status_label
from grants.workflows.schemas import FireSchema


class ApplicationSchema(ma.Schema):
    id = ma.fields.Integer()
    call_id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    initiative_id = ma.fields.Integer()
    si_stage = ma.fields.String()
    award_stage = ma.fields.String(metadata={"description": "The stage the award funds now (stage-gated calls)."})
    title = ma.fields.String()
    summary = ma.fields.String()
    requested_amount = ma.fields.Decimal(as_string=True, places=2)
    duration_months = ma.fields.Integer()
    answers = ma.fields.Dict()
    state = ma.fields.String(metadata={"description": "Workflow state code."})
    state_label = ma.fields.Function(lambda application: state_label(application))
    status = ma.fields.Function(lambda application: status_label(application),
                                metadata={"description": "What the applicant sees, in the request language."})
    workflow = ma.fields.Function(lambda application: {"name": application.workflow_name,
                                                       "version": application.workflow_version})
    version = ma.fields.Integer(metadata={"description": "Optimistic-lock version; send it back to change."})
    submitted_at = ma.fields.Function(
        lambda application: application.latest_submission.submitted_at.isoformat()
        if application.latest_submission else None,
        metadata={"description": "When the latest snapshot was submitted (null before the first submit)."})
    content_hash = ma.fields.Function(
        lambda application: application.latest_submission.content_hash if application.latest_submission else None,
        metadata={"description": "SHA-256 of the latest submitted snapshot (null before)."})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


def _whole_cents(value) -> None:
    if value.as_tuple().exponent < -2:
        raise ma.ValidationError(str(_l("Use at most two decimal places (euro cents).")))


def _money(**kwargs) -> ma.fields.Decimal:
    """EUR: a decimal string or number, not negative, at most two decimals (never rounded silently)."""
    return ma.fields.Decimal(as_string=True, validate=[ma.validate.Range(min=0, max=100_000_000), _whole_cents],
                             metadata={"description": 'EUR as a decimal string, e.g. "12500.00"'}, **kwargs)


class _ApplicationFieldsSchema(ma.Schema):
    title = ma.fields.String(validate=[ma.validate.Length(min=1, max=300)])
    summary = ma.fields.String(validate=ma.validate.Length(max=5000))
    requested_amount = _money()
    duration_months = ma.fields.Integer(validate=ma.validate.Range(min=1, max=120))
    answers = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(max=60)),
                             metadata={"description": "Answers to the call's form, by question code."})

    @ma.post_load
    def strip(self, data, **kwargs):
        for field in ("title", "summary"):
            if isinstance(data.get(field), str):
                data[field] = data[field].strip()
        if data.get("title") == "":
            raise ma.ValidationError({"title": [ma.fields.Field.default_error_messages["required"]]})
        return data


class ApplicationCreateSchema(_ApplicationFieldsSchema):
    call_id = ma.fields.Integer(required=True, validate=valid_id)
    organisation_id = ma.fields.Integer(required=True, validate=valid_id)
    initiative_id = ma.fields.Integer(load_default=None, allow_none=True, validate=valid_id,
                                      metadata={"description": "An initiative of the organisation; new when absent."})
    si_stage = ma.fields.String(required=True, validate=ma.validate.Length(max=40))
    title = ma.fields.String(required=True, validate=[ma.validate.Length(min=1, max=300)])
    requested_amount = _money(required=True)
    duration_months = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=120))


class ApplicationPatchSchema(_ApplicationFieldsSchema):
    version = ma.fields.Integer(required=True, metadata={"description": "The version you last read."})


class ApplicationListArgs(PageArgs):
    call_id = ma.fields.Integer(load_default=None, validate=valid_id)
    state = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    si_stage = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200), metadata={
        "description": "Search: every word in the title, the organisation's name or the initiative's title "
                       "(case and diacritics ignored, the last word as a prefix)."})


class ApplicationFireSchema(FireSchema):
    reopen = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=60)), load_default=None, allow_none=True,
        validate=ma.validate.Length(max=500),
        metadata={"description": "With `request_clarification` only: what the applicant may change "
                                 "(`title`, `summary`, `requested_amount`, `duration_months`, question codes of "
                                 "the call's form, `attachments`). Absent or empty: the whole application."})
