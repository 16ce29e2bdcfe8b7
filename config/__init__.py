"""Configuration classes, chosen by the ``GRANTS_CONFIG`` environment variable.

Settings come from the class, then from ``GRANTS_<KEY>`` environment variables, then from the
keyword overrides given to :func:`grants.create_app` (tests). A ``GRANTS_`` variable or an
override that names no known setting, or a required setting left empty, stops start-up with a
message that says which one.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message names the setting."""


class BaseConfig:
    #: ``GRANTS_CONFIG`` names of this class; filled in below.
    NAME = "base"

    SECRET_KEY: str | None = None
    #: SQLAlchemy URL; empty means a SQLite file in the instance folder.
    DATABASE_URL: str = ""
    SQLALCHEMY_ECHO = False
    SQLALCHEMY_RECORD_QUERIES = False

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    BABEL_DEFAULT_LOCALE = "lv"
    BABEL_DEFAULT_TIMEZONE = "Europe/Riga"
    LANGUAGES = ("lv", "en")

    #: Flask-Limiter storage; ``redis://127.0.0.1:6379/0`` when several app nodes share limits.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    #: Limit on login attempts (HTML form and API tokens) per client address.
    LOGIN_RATE_LIMIT = "10 per minute"
    #: Consecutive failed logins after which an account is locked for LOGIN_LOCKOUT_MINUTES.
    LOGIN_MAX_FAILURES = 10
    LOGIN_LOCKOUT_MINUTES = 15

    #: Lifetime of API tokens issued by POST /api/v1/auth/tokens.
    API_TOKEN_DAYS = 30

    #: Two-step sign-in (TOTP, RFC 6238) is required of programme staff (admin, officer, committee, finance,
    #: auditor): one who has not set it up is sent to do so right after the password and can do nothing else.
    REQUIRE_STAFF_2FA = False
    #: The name authenticator apps show next to the account.
    TWO_FACTOR_ISSUER = "SI Grants"
    #: Key that encrypts the stored TOTP secrets (any long random string). Empty: derived from SECRET_KEY, so
    #: changing SECRET_KEY then makes every enrolment unreadable (people sign in with a recovery code and set
    #: two-step sign-in up again). Set it separately to rotate SECRET_KEY freely.
    TWO_FACTOR_KEY = ""

    #: Security headers on every response (grants.core.headers); downloads set a stricter policy of their own.
    CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
    #: Browser features no page uses, switched off for the pages and anything they might embed.
    PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()"
    REFERRER_POLICY = "strict-origin-when-cross-origin"
    #: ``Strict-Transport-Security``; empty sends none (the production configuration sends it).
    STRICT_TRANSPORT_SECURITY = ""

    API_TITLE = "SI Grants API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    #: Where uploaded files are kept (outside the web root); empty means instance/uploads.
    UPLOAD_DIR: str = ""
    MAX_UPLOAD_MB = 20
    #: Days an applicant has to appeal an ineligibility or funding decision.
    APPEAL_DAYS = 14

    #: Argon2 cost parameters (RFC 9106 second recommended option by default).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    DEMO_PASSWORD = "demo-demo-demo"

    #: A ``Server-Timing`` header on every response (the request's time, its SQL time and statement count),
    #: read by the page benchmark (bench/pages.py). Off in every configuration unless set.
    BENCH_TIMING = False

    #: Address of the service as people reach it; links in e-mail are built on it (also outside requests).
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"

    #: Outgoing mail: the outbox is sent by `flask --app grants outbox send` through this SMTP server.
    SMTP_HOST = "127.0.0.1"
    SMTP_PORT = 25
    SMTP_USERNAME = ""
    SMTP_PASSWORD = ""
    #: Upgrade the connection with STARTTLS before logging in (needed for a login on a remote server).
    SMTP_STARTTLS = False
    #: Seconds any one network wait on the SMTP server may take.
    SMTP_TIMEOUT = 30
    MAIL_FROM = "SI Grants <noreply@sigrants.lv>"
    #: Attempts after which a message is given up (marked failed, kept for officers to see).
    OUTBOX_MAX_ATTEMPTS = 8
    #: Retries back off 1, 2, 4… minutes, never more than this.
    OUTBOX_MAX_BACKOFF_MINUTES = 60

    #: Redis for background work (exports, audit verification): ``redis://127.0.0.1:6379/0``. Empty: the
    #: work runs inline, in the request that asks for it. Workers: `make run-worker`.
    REDIS_URL = ""
    #: Name of the RQ queue the workers listen on.
    RQ_QUEUE = "grants"
    #: An export whose worker has not reported for this long is started again (its worker died).
    EXPORT_STALE_SECONDS = 120
    #: Who runs the programmes (the funding organisation in 360Giving data, the list of operations) and its
    #: identifier in an org-id.guide scheme (``LV-RE-`` + the Latvian Register of Enterprises number). The
    #: defaults name the demo's operator; a deployment sets its own.
    OPERATOR_NAME = "SI Grants demo programme operator"
    OPERATOR_ORG_ID = "LV-RE-90000000001"
    #: The prefix of grant identifiers in 360Giving data (registered with 360Giving by the publisher).
    GRANT_ID_PREFIX = "360G-sigrants"
    #: The intervention field (Regulation (EU) 2021/1060, Annex I, Table 1) the operations fall under, for the
    #: list of operations: 138 is support for the social economy and social enterprises.
    OPERATIONS_INTERVENTION_FIELD = "138"
    #: The licence of the public registry's open data.
    OPEN_DATA_LICENCE = "CC-BY-4.0"

    #: Settings that must not be empty once everything is loaded.
    REQUIRED: tuple[str, ...] = ("SECRET_KEY",)


class DevelopmentConfig(BaseConfig):
    NAME = "development"
    SECRET_KEY = "development-only-not-secret"


class TestingConfig(BaseConfig):
    NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-not-secret"
    # Fast hashes keep the suite quick; production keeps the defaults above.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    SERVER_NAME = "localhost"


class ProductionConfig(BaseConfig):
    NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    REQUIRE_STAFF_2FA = True
    STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"
    REQUIRED = ("SECRET_KEY", "DATABASE_URL")


CONFIGS: dict[str, type[BaseConfig]] = {
    cls.NAME: cls for cls in (DevelopmentConfig, TestingConfig, ProductionConfig)
}

ENV_PREFIX = "GRANTS_"
#: Environment variables with the prefix that are not settings.
_NOT_SETTINGS = {"GRANTS_CONFIG", "GRANTS_TEST_DATABASE_URL"}


def _known_keys(cls: type[BaseConfig]) -> set[str]:
    return {key for key in dir(cls) if key.isupper()}


def _coerce(key: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigurationError(f"{ENV_PREFIX}{key} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigurationError(f"{ENV_PREFIX}{key} must be a whole number, not {raw!r}") from None
    return raw


def load(config_name: str | None = None, overrides: dict[str, Any] | None = None,
         environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the settings as a dict, or raise :class:`ConfigurationError`."""
    environ = os.environ if environ is None else environ
    name = config_name or environ.get("GRANTS_CONFIG") or "development"
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ConfigurationError(
            f"Unknown configuration {name!r}; choose one of: {', '.join(sorted(CONFIGS))}"
        ) from None
    known = _known_keys(cls)
    settings = {key: getattr(cls, key) for key in known}

    for var, raw in environ.items():
        if not var.startswith(ENV_PREFIX) or var in _NOT_SETTINGS:
            continue
        key = var[len(ENV_PREFIX):]
        if key not in known:
            raise ConfigurationError(f"Unknown setting {var}; known settings: {', '.join(sorted(known))}")
        settings[key] = _coerce(key, raw, settings[key])

    for key, value in (overrides or {}).items():
        if key not in known and not key.startswith(("SQLALCHEMY_", "RATELIMIT_", "WTF_", "SESSION_")):
            raise ConfigurationError(f"Unknown setting {key!r} passed to create_app")
        settings[key] = value

    missing = [key for key in settings["REQUIRED"] if not settings.get(key)]
    if missing:
        raise ConfigurationError(
            "Missing required settings for the "
            f"{name!r} configuration: {', '.join(ENV_PREFIX + key for key in missing)}"
        )
    return settings
