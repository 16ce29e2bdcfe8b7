"""Jinja filters and globals: dates in Europe/Riga, money, labels."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app, request, url_for
from flask_babel import format_date, format_datetime, format_time, get_locale
from flask_babel import format_decimal as babel_format_decimal

from grants.core.i18n import current_language


def format_money(amount: Decimal | None, currency: str = "EUR") -> str:
    if amount is None:
        return ""
    return f"{babel_format_decimal(amount, format='#,##0.00')} {'€' if currency == 'EUR' else currency}"


def format_points(value) -> str:
    """Scores and points in the user's language, without trailing zeros (82,5 in Latvian, 82.5 in English)."""
    if value is None or value == "":
        return ""
    return babel_format_decimal(Decimal(str(value)), format="#,##0.##")


def format_kilobytes(size: int | None) -> str:
    """A file's size in kilobytes with one decimal, in the user's language (0,6 KB in Latvian, 0.6 KB in English)."""
    return f"{babel_format_decimal(Decimal(size or 0) / 1024, format='#,##0.0')} KB"


def format_day(value) -> str:
    """A calendar date in the user's language (1. decembris 2026 / 1 December 2026)."""
    return format_date(value, "long") if value is not None else ""


def format_when(value: datetime | None, fmt: str = "medium") -> str:
    """A UTC datetime shown in the configured timezone (Europe/Riga) and the user's language."""
    if value is None:
        return ""
    if fmt == "medium":  # date in words, time without seconds
        return f"{format_date(value, 'medium')} {format_time(value, 'short')}"
    return format_datetime(value, fmt)


def safe_next(target: str | None, default: str) -> str:
    """Only local paths are followed after login or a language switch (no open redirects).

    Browsers drop tabs and line breaks from a URL before reading it, so ``/<tab>/evil.example`` would be
    ``//evil.example``: a target with any control character or space is refused too."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in target)):
        return target
    return default


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["when"] = format_when
    app.jinja_env.filters["points"] = format_points
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["kilobytes"] = format_kilobytes

    @app.context_processor
    def inject_globals():
        return {
            "current_language": current_language(),
            "languages": current_app.config["LANGUAGES"],
            "locale": get_locale(),
        }

    def language_url(code: str) -> str:
        return url_for("core.set_language", code=code, next=request.full_path.rstrip("?"))

    app.jinja_env.globals["language_url"] = language_url
