"""What the OpenAPI document says beyond each endpoint's own decorators: the shape of every error, the
errors every operation can give by its shape, and decimals as the strings the API writes.

Integrators and the fuzz test (tests/test_fuzz_api.py) hold the API to this document: a status code it
does not list, or a body that does not match its schema, is a bug of the document or of the code.
"""

from __future__ import annotations

import http
from decimal import Decimal
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin


class ReasonSchema(ma.Schema):
    """Why a workflow action was refused: a stable code and a message in the request's language."""

    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    #: The eligibility rule that failed, for reasons given by the eligibility guards.
    rule = ma.fields.String()
    fields_ = ma.fields.Dict(data_key="fields", keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                             metadata={"description": "What the reason says about single fields "
                                                      "(`answers.<question code>`…), by field."})


class ErrorSchema(ma.Schema):
    """Every error under /api (API.md): ``{error, message, fields}``, plus ``reasons`` when a workflow action
    is refused (grants.core.errors)."""

    error = ma.fields.String(required=True, metadata={
        "description": "A stable code: `validation_error`, `not_found`, `transition_not_allowed`, `conflict`…"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, in the request's language."})
    # ``fields`` is also the name marshmallow gives a schema's own fields: the attribute is named apart.
    fields_ = ma.fields.Dict(data_key="fields", keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
                             required=True, metadata={"description": "Messages by the name of the field they are "
                                                                     "about."})
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema), metadata={
        "description": "Why a workflow action was refused (409 `transition_not_allowed`): one per guard."})


def file_download(description: str, content_types) -> dict:
    """``@blp.doc(responses=…)`` of an endpoint that answers with a file of one of ``content_types``."""
    media = {content_type.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
             for content_type in sorted(content_types)}
    return {"200": {"description": description, "content": media}}


#: A decimal as the API writes it: money "12500.00", a rate "0.85" (API.md).
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def decimal_strings(converter, field: ma.fields.Field, ret: dict, **kwargs: Any) -> dict:
    """marshmallow's ``Decimal``: with ``as_string`` a decimal string, not a number (apispec says ``number``);
    either way apispec writes the range as strings, which is not valid OpenAPI. A string's range stays, as
    ``x-`` attributes, for people to read. (An apispec attribute function, run after the built-in ones.)"""
    if not isinstance(field, ma.fields.Decimal):
        return {}
    if not field.as_string:
        return {name: _number(ret[name]) for name in ("minimum", "maximum") if name in ret}
    for name in ("minimum", "maximum"):
        if name in ret:
            ret[f"x-{name}"] = str(ret.pop(name))
    return {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}


def empty_query_values(converter, field: ma.fields.Field, ret: dict, **kwargs: Any) -> dict:
    """A query parameter of a schema that reads an empty value as "any" (``EMPTY_IS_ANY``, as a page's
    form sends every field) says so: ``allowEmptyValue``. (An apispec parameter attribute function.)"""
    if ret.get("in") == "query" and getattr(field.parent, "EMPTY_IS_ANY", False):
        return {"allowEmptyValue": True}
    return {}


def _number(value: Any) -> int | float:
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


class ErrorResponses(BasePlugin):
    """Documents, on every operation, the errors its shape implies, as the code gives them:

    - a bearer token (``security``): 401 without a valid one, 403 when the caller may not (a role, an
      object's owner, two-step sign-in still to set up);
    - an id in the path: 404 when nothing (visible to the caller) has it;
    - a JSON body: 400 when it is not JSON; parameters or a body: 422 naming the fields (flask-smorest
      documents that one for its arguments; the input guard sends it for a NUL character anywhere);
    - a multipart body: 413 over the upload limit.

    Anything else an operation can answer (409 for a refused action or a stale version, 202 for work done
    later…) its own ``@blp.response`` / ``@blp.alt_response`` says.
    """

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        self.spec = spec

    def _error_content(self) -> dict:
        marshmallow = next(plugin for plugin in self.spec.plugins if isinstance(plugin, MarshmallowPlugin))
        return {"application/json": {"schema": marshmallow.converter.resolve_nested_schema(ErrorSchema)}}

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                # An error its decorator describes in words only still has the body of every error.
                if isinstance(response, dict) and str(status).isdigit() and int(status) >= 400 \
                        and "content" not in response:
                    response["content"] = self._error_content()
            documented = {str(status) for status in responses}
            for status in self._implied(path or "", operation):
                if str(status) not in documented:
                    responses[status] = http.HTTPStatus(status).name  # flask-smorest's component response

    @staticmethod
    def _implied(path: str, operation: dict) -> list[int]:
        statuses = []
        if operation.get("security"):
            statuses += [401, 403]
        if "{" in path:
            statuses.append(404)
        content = (operation.get("requestBody") or {}).get("content") or {}
        if content or any(parameter.get("in") == "query" for parameter in operation.get("parameters") or []):
            statuses.append(422)
        if "application/json" in content:
            statuses.append(400)
        if "multipart/form-data" in content:
            statuses.append(413)
        return statuses
