"""Eligibility rulesets of calls: read, replace (draft calls), preview against an application; the
catalogue of built-in checks and the documented expression context."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.calls.models import CALL_EDITORS, Call
from grants.calls.services import get_visible_call, rules_hash, update_call_rules
from grants.core.db import db
from grants.core.errors import NotFound
from grants.core.i18n import current_language
from grants.core.paging import valid_id
from grants.core.roles import STAFF_ROLES
from grants.eligibility.checks import check_catalogue
from grants.eligibility.preview import preview_application, preview_rules
from grants.eligibility.rules import context_reference

blp = Blueprint("api_rulesets", __name__, description="Eligibility rules of calls")



class RuleSchema(ma.Schema):
    code = ma.fields.String()
    severity = ma.fields.String(metadata={"description": "blocking, manual or warning"})
    title_lv = ma.fields.String()
    title_en = ma.fields.String()
    message_lv = ma.fields.String()
    message_en = ma.fields.String()
    expression = ma.fields.String(metadata={"description": "A rule-engine expression (or `check`)"})
    check = ma.fields.String(metadata={"description": "A built-in check (or `expression`)"})
    params = ma.fields.Dict(metadata={"description": "The check's parameters"})


class RulesetSchema(ma.Schema):
    call_id = ma.fields.Integer()
    status = ma.fields.String()
    rules_hash = ma.fields.String(metadata={"description": "Post it back with PUT to notice a stale edit"})
    rules = ma.fields.List(ma.fields.Nested(RuleSchema))


class RulesetInputSchema(ma.Schema):
    rules = ma.fields.List(ma.fields.Dict(), required=True)
    rules_hash = ma.fields.String(load_default=None, allow_none=True,
                                  metadata={"description": "The hash read with the rules; when given and "
                                            "the rules changed since, 409"})


class PreviewInputSchema(ma.Schema):
    application_id = ma.fields.Integer(required=True, validate=valid_id)
    rules = ma.fields.List(ma.fields.Dict(), load_default=None,
                           metadata={"description": "Rules to try; the call's stored rules when left out"})


class PreviewResultSchema(ma.Schema):
    code = ma.fields.String()
    title = ma.fields.String()
    severity = ma.fields.String()
    outcome = ma.fields.String(metadata={"description": "pass, fail or manual"})
    message = ma.fields.String()


class CheckParamSchema(ma.Schema):
    name = ma.fields.String()
    type = ma.fields.String()
    required = ma.fields.Boolean()
    default = ma.fields.Raw(allow_none=True)


class CheckSchema(ma.Schema):
    name = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    parameters = ma.fields.List(ma.fields.Nested(CheckParamSchema))
    defaults = ma.fields.Dict()
    provides = ma.fields.List(ma.fields.String())


class ContextAttributeSchema(ma.Schema):
    name = ma.fields.String()
    type = ma.fields.String()
    description = ma.fields.String()


class ContextObjectSchema(ma.Schema):
    object = ma.fields.String()
    attributes = ma.fields.List(ma.fields.Nested(ContextAttributeSchema))


class CatalogueSchema(ma.Schema):
    checks = ma.fields.List(ma.fields.Nested(CheckSchema))
    context = ma.fields.List(ma.fields.Nested(ContextObjectSchema))


def _staff() -> bool:
    return current_user.is_authenticated and current_user.is_staff


def _call(call_id: int, *, include_drafts: bool) -> Call:
    call = get_visible_call(call_id, include_drafts=include_drafts)
    if call is None:
        raise NotFound()
    return call


def _ruleset(call: Call) -> dict:
    return {"call_id": call.id, "status": call.public_status().value, "rules_hash": rules_hash(call),
            "rules": call.eligibility_rules or []}


@blp.route("/calls/<int:call_id>/eligibility-rules", methods=["GET"])
@blp.response(200, RulesetSchema)
def read_rules(call_id: int):
    """The call's whole eligibility rules with their hash (anyone for published calls, staff for drafts)."""
    return _ruleset(_call(call_id, include_drafts=_staff()))


@blp.route("/calls/<int:call_id>/eligibility-rules", methods=["PUT"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.arguments(RulesetInputSchema)
@blp.response(200, RulesetSchema)
@blp.alt_response(409, description="The call is published (its rules change only by a corrigendum), or the rules "
                                   "changed since `rules_hash`.")
def replace_rules(data, call_id: int):
    """Replace a draft call's rules (422 naming `eligibility_rules.<index>.<field>`); a published call
    answers 409: its rules are changed only by a corrigendum."""
    call = _call(call_id, include_drafts=True)
    expected = data["rules_hash"] if data.get("rules_hash") is not None else rules_hash(call)
    update_call_rules(call, current_user, data["rules"], expected)
    db.session.commit()
    return _ruleset(call)


@blp.route("/calls/<int:call_id>/eligibility-rules/preview", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*STAFF_ROLES)
@blp.arguments(PreviewInputSchema)
@blp.response(200, PreviewResultSchema(many=True))
def preview(data, call_id: int):
    """Each rule's outcome for an application (of this call, or any when the call has none), under the
    stored rules or those given; nothing is stored."""
    call = _call(call_id, include_drafts=True)
    application = preview_application(call, data["application_id"])
    outcomes = preview_rules(application, call, data["rules"])
    language = current_language()
    return [{"code": o.code, "title": o.title(language), "severity": o.severity.value, "outcome": o.outcome.value,
             "message": o.message(language)} for o in outcomes]


@blp.route("/eligibility/checks", methods=["GET"])
@blp.response(200, CatalogueSchema)
def checks():
    """The built-in checks (title, description, parameters with defaults, inputs a message may name) and
    the fields an expression may use, in the request's language."""
    language = current_language()
    return {"checks": check_catalogue(), "context": context_reference(language)}
