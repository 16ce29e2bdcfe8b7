"""SI Grants: re-granting programmes for social innovation.

The app factory sits on top of the layers (README.md, "The layers"). Importing this package
imports every domain, and with them what the lower layers look up but cannot import: each
domain's workflow guards and effects (grants.workflows.registry), the readers of applications,
the parts of a call, the applications of an initiative and the receivers of call signals. The
engine then loads the workflow definitions, and one naming a guard or an effect that no
domain registered stops start-up.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

import config as config_module
from grants import models  # noqa: F401  (every table registered before migrations look)
from grants.api import init_api
from grants.applications import effects as application_effects
from grants.applications import guards as application_guards
from grants.applications import initiatives as application_initiatives
from grants.applications import notices as application_notices
from grants.applications.views import bp as applications_bp
from grants.audit.views import bp as audit_bp
from grants.calls.form_views import bp as call_forms_bp
from grants.calls.views import bp as calls_bp
from grants.calls.views import home_bp
from grants.cli import register_cli
from grants.core import auth
from grants.core.db import canonical_json, db
from grants.core.errors import register_error_handlers
from grants.core.extensions import babel, csrf, limiter, login_manager, migrate
from grants.core.headers import register_security_headers
from grants.core.i18n import select_locale
from grants.core.input_guard import register_id_converter, register_input_guard
from grants.core.request_id import register_request_id
from grants.core.templating import register_template_helpers
from grants.core.timing import register_timing
from grants.core.views import bp as core_bp
from grants.dashboard.programmes import bp as programmes_bp
from grants.dashboard.views import bp as dashboard_bp
from grants.dashboard.views import calls_bp as call_dashboard_bp
from grants.decisions import effects as decision_effects
from grants.decisions import guards as decision_guards
from grants.decisions.views import bp as decisions_bp
from grants.eligibility import effects as eligibility_effects
from grants.eligibility import guards as eligibility_guards
from grants.eligibility import rules as eligibility_rules
from grants.eligibility.de_minimis_views import bp as de_minimis_bp
from grants.eligibility.rules_views import bp as call_rules_bp
from grants.eligibility.views import bp as eligibility_bp
from grants.evaluations import effects as evaluation_effects
from grants.evaluations import guards as evaluation_guards
from grants.evaluations import permissions as evaluation_permissions
from grants.evaluations import rubrics as evaluation_rubrics
from grants.evaluations.officer_views import bp as call_evaluation_bp
from grants.evaluations.views import bp as evaluations_bp
from grants.exports.views import bp as exports_bp
from grants.grants_mgmt import awards as grant_awards
from grants.grants_mgmt import effects as grant_effects
from grants.grants_mgmt import gates as grant_gates
from grants.grants_mgmt import guards as grant_guards
from grants.grants_mgmt import listings as grant_listings
from grants.grants_mgmt import retention as grant_retention
from grants.grants_mgmt.indicator_views import bp as indicators_bp
from grants.grants_mgmt.irregularity_views import bp as irregularities_bp
from grants.grants_mgmt.report_views import bp as grant_reports_bp
from grants.grants_mgmt.views import bp as grants_bp
from grants.initiatives import guards as initiative_guards
from grants.initiatives.views import bp as initiatives_bp
from grants.notifications.views import bp as outbox_bp
from grants.organisations.views import bp as organisations_bp
from grants.privacy.views import bp as privacy_bp
from grants.registry.views import bp as registry_bp
from grants.reports.views import bp as reports_bp
from grants.users import notices as user_notices
from grants.users.auth import configure_login
from grants.users.notice_views import bp as notices_bp
from grants.users.views import bp as users_bp
from grants.workflows import engine as workflow_engine
from grants.workflows.views import bp as workflows_bp

#: Imported for what they register, lowest domain first: the in-app copy of each e-mail to a person; the
#: workflow guards and effects of each domain, and the answers a higher domain gives a lower one (an
#: evaluator's way into an application, the applications of an initiative, a call's rules and rubric, the
#: applicants told of a corrigendum, what a stage gate judges, the grantee record eligibility reads, what a
#: programme's awards take); and the retention hold on deleting a grant's records.
REGISTERING = (user_notices, initiative_guards, application_guards, application_effects, application_initiatives,
               application_notices, eligibility_rules, eligibility_guards, eligibility_effects, evaluation_rubrics,
               evaluation_guards, evaluation_effects, evaluation_permissions, decision_guards, decision_effects,
               grant_awards, grant_guards, grant_effects, grant_gates, grant_listings, grant_retention)

#: The page blueprints, registered in this order.
BLUEPRINTS = (core_bp, home_bp, users_bp, organisations_bp, calls_bp, call_forms_bp, call_rules_bp, dashboard_bp,
              applications_bp, eligibility_bp, initiatives_bp, audit_bp, workflows_bp, outbox_bp, de_minimis_bp,
              evaluations_bp, call_evaluation_bp, call_dashboard_bp, decisions_bp, grants_bp,
              grant_reports_bp, irregularities_bp, indicators_bp, reports_bp, registry_bp, exports_bp, privacy_bp,
              programmes_bp, notices_bp)


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
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True, "json_serializer": canonical_json})
    if not app.config["UPLOAD_DIR"]:
        app.config["UPLOAD_DIR"] = os.path.join(app.instance_path, "uploads")
    app.config["MAX_CONTENT_LENGTH"] = (app.config["MAX_UPLOAD_MB"] + 1) * 1024 * 1024

    register_id_converter(app)
    _init_extensions(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    register_cli(app)
    if app.config["BENCH_TIMING"]:
        register_timing(app)  # the page benchmark's Server-Timing header (off unless asked for)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)),
                                                      "migrations"))
    login_manager.init_app(app)
    app.session_interface = auth.PageSessionInterface()
    configure_login(login_manager)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(os.path.dirname(__file__), "translations"))
    limiter.init_app(app)
    workflow_engine.init_app(app)
    register_template_helpers(app)
    register_request_id(app)
    register_security_headers(app)
    register_input_guard(app)
    init_api(app)
