from __future__ import annotations

from datetime import UTC

import marshmallow as ma

from grants.calls.models import PublicCallStatus
from grants.core.i18n import current_language
from grants.forms.validation import form_for_api


class CallListArgs(ma.Schema):
    status = ma.fields.Enum(PublicCallStatus, by_value=True, load_default=None)
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


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
    #: The call's scoring criteria in the request's language (API.md); stage rubrics and the
    #: evaluation settings are under ``evaluation``, the whole rubric at /calls/{id}/rubric.
    rubric = ma.fields.Function(lambda call: rubric_for_api(call.rubric))
    evaluation = ma.fields.Function(lambda call: evaluation_for_api(call.rubric), metadata={
        "description": "Pass threshold, evaluators per application, discrepancy percentage, days to review, "
                       "tie-break rule, and the criteria of SI stages that have their own rubric."})
    #: The rules' codes, titles in the request's language and severities (API.md); the whole
    #: rules are at /calls/{id}/eligibility-rules.
    eligibility_rules = ma.fields.Function(lambda call: rules_for_api(call.eligibility_rules or [],
                                                                      current_language()))
    #: The form's questions flattened across sections, labels in the request's language (API.md).
    form = ma.fields.Function(lambda call: form_for_api(call.form or [], current_language()))


def rubric_for_api(rubric: dict | None, si_stage: str | None = None) -> list[dict]:
    """The criteria that apply at ``si_stage`` (the call's own without one), titles in the request's language."""
    from grants.evaluations.rubrics import plain_number, rubric_of

    return [{"code": c.code, "title": c.title, "guidance": c.guidance, "max_points": plain_number(c.max_points),
             "weight": plain_number(c.weight), "min_points": plain_number(c.min_points)}
            for c in rubric_of(rubric, si_stage).criteria]


def evaluation_for_api(rubric: dict | None) -> dict:
    from grants.evaluations.rubrics import rubric_of

    settings = rubric_of(rubric)
    return {"threshold": float(settings.threshold), "evaluators_required": settings.evaluators_required,
            "discrepancy_percent": float(settings.discrepancy_percent), "review_days": settings.review_days,
            "tie_break": settings.tie_break,
            "stages": {code: {"threshold": float(rubric_of(rubric, code).threshold),
                              "criteria": rubric_for_api(rubric, code)}
                       for code in ((rubric or {}).get("stages") or {})}}


def rules_for_api(rules: list[dict], language: str) -> list[dict]:
    return [{"code": rule["code"], "title": rule.get(f"title_{language}") or rule.get("title_lv", ""),
             "severity": rule["severity"]} for rule in rules]


class CallStageInputSchema(ma.Schema):
    si_stage = ma.fields.String(required=True)
    envelope = ma.fields.Decimal(required=True, places=2, as_string=True)
    min_grant = ma.fields.Decimal(required=True, places=2, as_string=True)
    max_grant = ma.fields.Decimal(required=True, places=2, as_string=True)


class CallCreateSchema(ma.Schema):
    programme_id = ma.fields.Integer(required=True)
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
