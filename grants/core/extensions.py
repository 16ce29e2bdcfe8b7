"""Flask extensions, created here and initialised in :func:`grants.create_app` in this order:
database, migrations, login, CSRF, translations, rate limits, API."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from grants.core.search import include_name

#: The SQLite full-text tables are no models: autogenerate leaves them out (``grants.core.search``).
migrate = Migrate(include_name=include_name)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def login_rate_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


def only_post() -> bool:
    """Throttle only the attempts, not showing the form."""
    return request.method != "POST"
