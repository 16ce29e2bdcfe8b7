"""Language selection and helpers for bilingual data."""

from __future__ import annotations

from flask import current_app, request, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    """API: Accept-Language (default lv). Pages: ?lang=, the session, the account, then lv."""
    languages = current_app.config["LANGUAGES"]
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(languages) or languages[0]
    requested = request.args.get("lang")
    if requested in languages:
        return requested
    if session.get("lang") in languages:
        return session["lang"]
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale else "lv"


def localized(obj, field: str) -> str:
    """``obj.<field>_<lang>`` in the current language, falling back to the other one."""
    lang = current_language()
    other = "en" if lang == "lv" else "lv"
    return getattr(obj, f"{field}_{lang}") or getattr(obj, f"{field}_{other}") or ""
