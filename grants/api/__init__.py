"""The HTTP API under /api/v1 (flask-smorest), one thin blueprint per domain."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from grants.api import (
    applications,
    audit,
    auth,
    calls,
    de_minimis,
    decisions,
    eligibility,
    evaluation_admin,
    evaluations,
    exports,
    forms,
    grants,
    initiatives,
    notices,
    organisations,
    outbox,
    programmes,
    registry,
    reports,
    rulesets,
    users,
    workflows,
)
from grants.api.openapi import ErrorResponses, ErrorSchema, decimal_strings, empty_query_values
from grants.core.errors import http_error_response
from grants.core.extensions import csrf


class GrantsApi(Api):
    #: The document describes the errors the API sends (grants.core.errors), not flask-smorest's own shape,
    #: and, instead of a catch-all ``default`` response, the statuses each operation can give (ErrorResponses).
    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


api = GrantsApi()

#: The blueprints in the order the OpenAPI document lists them.
MODULES = (auth, notices, programmes, calls, forms, organisations, applications, initiatives, audit, workflows,
           eligibility, outbox, de_minimis, rulesets, evaluations, evaluation_admin, decisions, grants, reports,
           exports, registry, users)


def init_api(app: Flask) -> None:
    api.init_app(app, spec_kwargs={"info": {"description": "SI Grants public API (v1). See API.md."},
                                   "extra_plugins": [ErrorResponses()]})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.ma_plugin.converter.add_attribute_function(decimal_strings)
    api.ma_plugin.converter.add_parameter_attribute_function(empty_query_values)
    # Errors keep the contract's shape {error, message, fields}, not flask-smorest's own.
    api.handle_http_exception = http_error_response  # type: ignore[method-assign]
    for module in MODULES:
        csrf.exempt(module.blp)  # bearer tokens only under /api: no cookies, no CSRF
        api.register_blueprint(module.blp, url_prefix="/api/v1")
