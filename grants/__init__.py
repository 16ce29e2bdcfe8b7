"""SI Grants: re-granting programmes for social innovation."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

import config as config_module


def create_app(config_name: str | None = None, **overrides: Any) -> Flask:
    """Build the application. ``config_name`` or ``GRANTS_CONFIG`` picks the configuration
    class; ``overrides`` (for tests) replace single settings."""
    app = Flask(__name__, instance_relative_config=True)
    settings = config_module.load(config_name, overrides)
    app.config.from_mapping(settings)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "grants.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    from grants.core.db import canonical_json

    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True, "json_serializer": canonical_json})
    if not app.config["UPLOAD_DIR"]:
        app.config["UPLOAD_DIR"] = os.path.join(app.instance_path, "uploads")
    app.config["MAX_CONTENT_LENGTH"] = (app.config["MAX_UPLOAD_MB"] + 1) * 1024 * 1024

    from grants.core.input_guard import register_id_converter

    register_id_converter(app)
    _init_extensions(app)
    _register_blueprints(app)

    from grants.core.errors import register_error_handlers

    register_error_handlers(app)

    from grants.cli import register_cli

    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from grants import models  # noqa: F401  (every table registered before migrations look)
    from grants.core import auth
    from grants.core.db import db
    from grants.core.extensions import babel, csrf, limiter, login_manager, migrate
    from grants.core.i18n import select_locale
    from grants.core.request_id import register_request_id
    from grants.core.templating import register_template_helpers
    from grants.workflows import engine as workflow_engine

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                                      "migrations"))
    login_manager.init_app(app)
    app.session_interface = auth.PageSessionInterface()
    auth.configure_login(login_manager)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"))
    limiter.init_app(app)
    workflow_engine.init_app(app)
    register_template_helpers(app)
    register_request_id(app)
    from grants.core.input_guard import register_input_guard

    register_input_guard(app)

    from grants.api import init_api

    init_api(app)


def _register_blueprints(app: Flask) -> None:
    from grants.applications.views import bp as applications_bp
    from grants.audit.views import bp as audit_bp
    from grants.calls.form_views import bp as call_forms_bp
    from grants.calls.rules_views import bp as call_rules_bp
    from grants.calls.views import bp as calls_bp
    from grants.core.views import bp as core_bp
    from grants.dashboard.views import bp as dashboard_bp
    from grants.decisions.views import bp as decisions_bp
    from grants.eligibility.de_minimis_views import bp as de_minimis_bp
    from grants.eligibility.views import bp as eligibility_bp
    from grants.evaluations.officer_views import bp as call_evaluation_bp
    from grants.evaluations.views import bp as evaluations_bp
    from grants.initiatives.views import bp as initiatives_bp
    from grants.notifications.views import bp as outbox_bp
    from grants.organisations.views import bp as organisations_bp
    from grants.users.views import bp as users_bp
    from grants.workflows.views import bp as workflows_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(organisations_bp)
    app.register_blueprint(calls_bp)
    app.register_blueprint(call_forms_bp)
    app.register_blueprint(call_rules_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(applications_bp)
    app.register_blueprint(eligibility_bp)
    app.register_blueprint(initiatives_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(workflows_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(de_minimis_bp)
    app.register_blueprint(evaluations_bp)
    app.register_blueprint(call_evaluation_bp)
    app.register_blueprint(decisions_bp)
