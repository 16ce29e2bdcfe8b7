from __future__ import annotations

from datetime import UTC

import marshmallow as ma

from grants.calls.models import PublicCallStatus
from grants.core.i18n import current_language
from grants.core.paging import PageArgs, valid_id
from grants.forms.validation import form_for_api


class CallListArgs(PageArgs):
    status = ma.fields.Enum(PublicCallStatus, by_value=True, load_default=None)


class CallStageSchema(ma.Schema):
    si_stage = ma.fields.String()
    label = ma.fields.String()
    envelope = ma.fields.Decimal(places=2, as_string=True)
    min_grant = ma.fields.Decimal(places=2, as_string=True)
    max_grant = ma.fields.Decimal(places=2, as_string=True)


class ProgrammeRefSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    title = ma.fields.String()
    fund_source = ma.fields.String()
    currency = ma.fields.String()


class CallSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    title = ma.fields.String()
    title_lv = ma.fields.String()
    title_en = ma.fields.String()
    status = ma.fields.Function(lambda call: call.public_status().value)
    opens_at = ma.fields.DateTime()
    closes_at = ma.fields.DateTime()
    si_stages = ma.fields.List(ma.fields.String(), attribute="stage_codes")
    budget = ma.fields.Decimal(places=2, as_string=True)
    programme_id = ma.fields.Integer()


class CallDetailSchema(CallSchema):
    """A call with its stages, rules and form; the API adds the rubric (grants.api.calls)."""

    description = ma.fields.String()
    description_lv = ma.fields.String()
    description_en = ma.fields.String()
    programme = ma.fields.Nested(ProgrammeRefSchema)
    stages = ma.fields.List(ma.fields.Nested(CallStageSchema))
    workflow = ma.fields.Function(lambda call: {"name": call.workflow_name, "version": call.workflow_version})
    version = ma.fields.Integer()
    published_at = ma.fields.DateTime(allow_none=True)
    #: SHA-256 of the frozen current version; null while the call is a draft.
    content_hash = ma.fields.String(allow_none=True)
    #: The rules' codes, titles in the request's language and severities (API.md); the whole
    #: rules are at /calls/{id}/eligibility-rules.
    eligibility_rules = ma.fields.Function(lambda call: rules_for_api(call.eligibility_rules or [],
                                                                      current_language()))
    #: The form's questions flattened across sections, labels in the request's language (API.md).
    form = ma.fields.Function(lambda call: form_for_api(call.form or [], current_language()))


def rules_for_api(rules: list[dict], language: str) -> list[dict]:
    return [{"code": rule["code"], "title": rule.get(f"title_{language}") or rule.get("title_lv", ""),
             "severity": rule["severity"]} for rule in rules]


class CallStageInputSchema(ma.Schema):
    si_stage = ma.fields.String(required=True)
    envelope = ma.fields.Decimal(required=True, places=2, as_string=True)
    min_grant = ma.fields.Decimal(required=True, places=2, as_string=True)
    max_grant = ma.fields.Decimal(required=True, places=2, as_string=True)


class CallCreateSchema(ma.Schema):
    programme_id = ma.fields.Integer(required=True, validate=valid_id)
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    title_lv = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    title_en = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    description_lv = ma.fields.String(load_default="")
    description_en = ma.fields.String(load_default="")
    opens_at = ma.fields.AwareDateTime(required=True, default_timezone=UTC)
    closes_at = ma.fields.AwareDateTime(required=True, default_timezone=UTC)
    workflow_name = ma.fields.String(load_default="application")
    workflow_version = ma.fields.Integer(load_default=None, allow_none=True,
                                        metadata={"description": "Default: the newest version of the workflow."})
    stages = ma.fields.List(ma.fields.Nested(CallStageInputSchema), required=True)
    #: The application form definition (grants.forms); the built-in default form when left out.
    form = ma.fields.List(ma.fields.Dict(), load_default=None)
    #: The eligibility rules (grants.eligibility.rules), whole; none when left out.
    eligibility_rules = ma.fields.List(ma.fields.Dict(), load_default=None,
                                       metadata={"description": "Rule objects as in "
                                                 "GET /calls/{id}/eligibility-rules."})


class CallPatchSchema(CallCreateSchema):
    """PATCH: any subset of the draft's fields (use with ``partial=True``)."""


class CorrigendumSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=5000))
    closes_at = ma.fields.AwareDateTime(default_timezone=UTC, load_default=None)
    description_lv = ma.fields.String(load_default=None)
    description_en = ma.fields.String(load_default=None)
    form = ma.fields.List(ma.fields.Dict(), load_default=None)
    eligibility_rules = ma.fields.List(ma.fields.Dict(), load_default=None)
    stages = ma.fields.List(ma.fields.Nested(CallStageInputSchema), load_default=None)


class CallVersionSchema(ma.Schema):
    version = ma.fields.Integer()
    content_hash = ma.fields.String()
    reason = ma.fields.String()
    created_at = ma.fields.DateTime()
    snapshot = ma.fields.Dict()


class PublishedSchema(ma.Schema):
    id = ma.fields.Integer()
    version = ma.fields.Integer()
    content_hash = ma.fields.String()
    status = ma.fields.Function(lambda call: call.public_status().value)
