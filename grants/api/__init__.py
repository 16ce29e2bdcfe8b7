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
    organisations,
    outbox,
    registry,
    reports,
    rulesets,
    workflows,
)
from grants.core.errors import http_error_response
from grants.core.extensions import csrf

api = Api()

#: The blueprints in the order the OpenAPI document lists them.
MODULES = (auth, calls, forms, organisations, applications, initiatives, audit, workflows, eligibility, outbox,
           de_minimis, rulesets, evaluations, evaluation_admin, decisions, grants, reports, exports, registry)


def init_api(app: Flask) -> None:
    api.init_app(app, spec_kwargs={"info": {"description": "SI Grants public API (v1). See API.md."}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    # Errors keep the contract's shape {error, message, fields}, not flask-smorest's own.
    api.handle_http_exception = http_error_response  # type: ignore[method-assign]
    for module in MODULES:
        csrf.exempt(module.blp)  # bearer tokens only under /api: no cookies, no CSRF
        api.register_blueprint(module.blp, url_prefix="/api/v1")
