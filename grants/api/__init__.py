"""The HTTP API under /api/v1 (flask-smorest), one thin blueprint per domain."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from grants.core.errors import http_error_response

api = Api()


def init_api(app: Flask) -> None:
    from grants.api import applications, audit, auth, calls, forms, initiatives, organisations, workflows
    from grants.core.extensions import csrf

    api.init_app(app, spec_kwargs={"info": {"description": "SI Grants public API (v1). See API.md."}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    # Errors keep the contract's shape {error, message, fields}, not flask-smorest's own.
    api.handle_http_exception = http_error_response  # type: ignore[method-assign]
    for module in (auth, calls, forms, organisations, applications, initiatives, audit, workflows):
        csrf.exempt(module.blp)  # bearer tokens only under /api: no cookies, no CSRF
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    from grants.api import eligibility as eligibility_api

    csrf.exempt(eligibility_api.blp)
    api.register_blueprint(eligibility_api.blp, url_prefix="/api/v1")
    from grants.api import outbox as outbox_api

    csrf.exempt(outbox_api.blp)
    api.register_blueprint(outbox_api.blp, url_prefix="/api/v1")
    from grants.api import de_minimis as de_minimis_api

    csrf.exempt(de_minimis_api.blp)
    api.register_blueprint(de_minimis_api.blp, url_prefix="/api/v1")
    from grants.api import rulesets as rulesets_api

    csrf.exempt(rulesets_api.blp)
    api.register_blueprint(rulesets_api.blp, url_prefix="/api/v1")
    from grants.api import decisions as decisions_api
    from grants.api import evaluation_admin as evaluation_admin_api
    from grants.api import evaluations as evaluations_api

    for module in (evaluations_api, evaluation_admin_api, decisions_api):
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix="/api/v1")
