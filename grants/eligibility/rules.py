"""An eligibility rule as data, and its check when an officer saves a ruleset.

A ruleset is a list of rules, stored as plain JSON on the call (``Call.eligibility_rules``) and
frozen with it at publication::

    rule = {code, title_lv, title_en, message_lv, message_en, severity,
            expression}                 a rule-engine expression over CONTEXT (below), or
            check, params?}             a built-in check (grants.eligibility.checks) and its parameters

``severity`` is ``blocking`` (cannot submit; ineligible unless an officer overrides it with a
justification), ``manual`` (an officer must confirm when it does not pass) or ``warning``
(shown, never stops anything). Messages are what the applicant reads when the rule does not
pass; those of a built-in check may name its inputs in braces, e.g. ``{requested}``.

The context an expression sees is flat and documented: ``application.*``, ``organisation.*``,
``initiative.*``, ``call.*`` and ``stage.*`` (the call's stage the application asks money for),
each attribute typed. Unknown names, wrong types and bad parameters are refused when the ruleset
is saved (:func:`validate_ruleset` raises :class:`RulesetError` naming ``<index>.<field>``),
never found at run time.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
import rule_engine
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rule_engine import DataType

from grants.calls.parts import register_part
from grants.core.errors import UserInputError
from grants.core.validation_messages import translate_validation_message
from grants.eligibility.checks import CHECKS
from grants.eligibility.models import Severity

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
MAX_RULES = 100


def _item(value: Any, name: str) -> Any:
    return value[name]


#: The documented context of an expression: object -> attribute -> (type, description).
CONTEXT: dict[str, dict[str, tuple[Any, Any]]] = {
    "application": {
        "title": (DataType.STRING, _l("Title of the application")),
        "summary": (DataType.STRING, _l("Summary of the application")),
        "requested_amount": (DataType.FLOAT, _l("Requested amount, EUR")),
        "duration_months": (DataType.FLOAT, _l("Duration in months")),
        "si_stage": (DataType.STRING, _l("SI stage code the application asks money for")),
        "budget_total": (DataType.FLOAT, _l("Total of the budget table, EUR (0 without one)")),
        "co_financing": (DataType.FLOAT, _l("Co-financing in the budget table, EUR")),
        "co_financing_share": (DataType.FLOAT, _l("Co-financing share of the budget total, 0 to 1")),
        "answers": (DataType.MAPPING(DataType.STRING),
                    _l("Answers by question code, e.g. application.answers['mp_new_service']")),
    },
    "organisation": {
        "name": (DataType.STRING, _l("Name of the organisation")),
        "registration_number": (DataType.STRING, _l("Registration number")),
        "legal_form": (DataType.STRING, _l("Legal form code, e.g. association, foundation, social_enterprise")),
        "country": (DataType.STRING, _l("Country of registration, ISO code, e.g. LV")),
        "region": (DataType.STRING, _l("Planning region code (empty when not given)")),
    },
    "initiative": {
        "title": (DataType.STRING, _l("Title of the initiative")),
        "current_stage": (DataType.STRING, _l("SI stage the initiative stands at")),
        "theme": (DataType.STRING, _l("Theme")),
        "region": (DataType.STRING, _l("Planning region code (empty when not given)")),
        "target_groups": (DataType.ARRAY(DataType.STRING), _l("Target groups")),
        "proven_stages": (DataType.ARRAY(DataType.STRING), _l("SI stages whose results were accepted")),
    },
    "call": {
        "code": (DataType.STRING, _l("Code of the call")),
        "programme": (DataType.STRING, _l("Code of the programme")),
        "stages": (DataType.ARRAY(DataType.STRING), _l("SI stage codes the call funds")),
    },
    "stage": {
        "code": (DataType.STRING, _l("SI stage code")),
        "min_grant": (DataType.FLOAT, _l("Smallest grant for the stage, EUR")),
        "max_grant": (DataType.FLOAT, _l("Largest grant for the stage, EUR")),
        "envelope": (DataType.FLOAT, _l("Budget envelope of the stage, EUR")),
    },
}

_TYPES = {name: DataType.OBJECT(name, {attribute: spec[0] for attribute, spec in attributes.items()},
                                accessor=_item)
          for name, attributes in CONTEXT.items()}
RULE_CONTEXT = rule_engine.Context(type_resolver=rule_engine.type_resolver_from_dict(_TYPES),
                                   default_timezone="UTC")


def compile_expression(text: str) -> rule_engine.Rule:
    """The compiled rule, or :class:`ValueError` with the reason in the user's language."""
    try:
        return rule_engine.Rule(text, context=RULE_CONTEXT)
    except rule_engine.errors.ObjectAttributeError as error:
        raise ValueError(_("Unknown field: %(name)s.", name=error.attribute_name)) from None
    except rule_engine.errors.SymbolResolutionError as error:
        raise ValueError(_("Unknown name: %(name)s. Use application, organisation, initiative, call or stage.",
                           name=error.symbol_name)) from None
    except rule_engine.errors.RuleSyntaxError as error:
        raise ValueError(_("The expression cannot be read: %(reason)s", reason=error.message)) from None
    except (rule_engine.errors.EvaluationError, rule_engine.errors.EngineError) as error:
        raise ValueError(_("The expression does not fit the types of its fields: %(reason)s",
                           reason=getattr(error, "message", str(error)))) from None


class RulesetError(UserInputError):
    default_message = _l("The eligibility rules have errors; nothing was saved.")


class _RuleSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Regexp(
        CODE_PATTERN, error=_l("Use lowercase letters, digits and underscores, starting with a letter.")))
    title_lv = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    title_en = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    message_lv = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))
    message_en = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000))
    severity = ma.fields.String(required=True, validate=ma.validate.OneOf([s.value for s in Severity]))
    expression = ma.fields.String(validate=ma.validate.Length(min=1, max=2000))
    check = ma.fields.String(validate=ma.validate.Length(min=1, max=60))
    params = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)

    class Meta:
        unknown = ma.RAISE


def _placeholders(text: str) -> set[str]:
    try:
        return {name for _literal, name, _spec, _conv in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"{"}


def validate_ruleset(rules: Any) -> list[dict[str, Any]]:
    """The ruleset as it will be stored (parameters completed with their defaults), or
    :class:`RulesetError` with every problem by path (``<index>.<field>``)."""
    if not isinstance(rules, list):
        raise RulesetError(fields={"rules": [_("The rules must be a list.")]})
    if len(rules) > MAX_RULES:
        raise RulesetError(fields={"rules": [_("At most %(max)d rules.", max=MAX_RULES)]})
    errors: dict[str, list[str]] = {}
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(rules):
        if not isinstance(raw, Mapping):
            errors[str(index)] = [_("A rule must be an object.")]
            continue
        try:
            rule = _RuleSchema().load(raw)
        except ma.ValidationError as error:
            for field, messages in error.normalized_messages().items():
                errors[f"{index}.{field}"] = [translate_validation_message(str(m)) for m in _flat(messages)]
            continue
        if rule["code"] in seen:
            errors[f"{index}.code"] = [_("Another rule already uses this code.")]
        seen.add(rule["code"])
        provides: set[str] = set()
        if ("expression" in rule) == ("check" in rule):
            errors[f"{index}.expression"] = [_("Give either an expression or a built-in check, not both.")]
            continue
        if "expression" in rule:
            if rule["params"]:
                errors[f"{index}.params"] = [_("Parameters belong to built-in checks.")]
            try:
                compile_expression(rule["expression"])
            except ValueError as error:
                errors[f"{index}.expression"] = [str(error)]
            rule.pop("params", None)
        else:
            check = CHECKS.get(rule["check"])
            if check is None:
                errors[f"{index}.check"] = [_("There is no built-in check %(name)s.", name=rule["check"])]
                continue
            try:
                rule["params"] = check.load_params(rule["params"])
            except ma.ValidationError as error:
                messages = error.normalized_messages()
                for field, field_messages in (messages.items() if isinstance(messages, dict) else [("", messages)]):
                    key = f"{index}.params.{field}" if field and field != "_schema" else f"{index}.params"
                    errors[key] = [translate_validation_message(str(m)) for m in _flat(field_messages)]
                continue
            provides = set(check.provides)
        for language in ("lv", "en"):
            unknown = _placeholders(rule[f"message_{language}"]) - provides
            if unknown:
                errors[f"{index}.message_{language}"] = [
                    _("The message may name only these inputs in braces: %(names)s.",
                      names=", ".join(sorted(provides)) or "—")]
        clean.append(rule)
    if errors:
        raise RulesetError(fields=errors)
    return clean


def _flat(messages: Any) -> list[Any]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flat(value)]
    if isinstance(messages, list | tuple):
        return [m for value in messages for m in _flat(value)]
    return [messages]


def context_reference(language: str) -> list[dict[str, Any]]:
    """The documented context, for the ruleset editor and the API."""
    return [{"object": name, "attributes": [{"name": f"{name}.{attribute}", "type": spec[0].name,
                                             "description": str(spec[1])}
                                            for attribute, spec in attributes.items()]}
            for name, attributes in CONTEXT.items()]


# A call carries its ruleset and checks it when saved (grants.calls.parts); the language is ours.
register_part("eligibility_rules", check=validate_ruleset)
