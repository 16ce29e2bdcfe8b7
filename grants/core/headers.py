"""Security headers on every response (DESIGN §10).

The Content-Security-Policy allows scripts and styles only from the service's own static files:
no inline ``<script>``, no ``on…=`` handlers, no ``style="…"`` attributes or ``<style>`` elements
(tests/test_security_headers.py checks the templates). A response that already carries a header
keeps it: downloads send a stricter policy of their own (grants.core.uploads.download_response).

The one exception is a page that draws a diagram with the vendored Mermaid, which writes
``<style>`` into the SVG it makes: its view is marked with :func:`allow_inline_styles`, which adds
``'unsafe-inline'`` to ``style-src`` for that response only (scripts stay strict).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import Flask, current_app, g

F = TypeVar("F", bound=Callable)


def allow_inline_styles(view: F) -> F:
    """View decorator: this page's policy allows inline styles (for a library that writes them)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.csp_inline_styles = True
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _with_inline_styles(policy: str) -> str:
    directives = [part.strip() for part in policy.split(";") if part.strip()]
    changed = [f"{part} 'unsafe-inline'" if part.split()[0] == "style-src" else part for part in directives]
    return "; ".join(changed)


def content_security_policy() -> str:
    policy = current_app.config["CONTENT_SECURITY_POLICY"]
    return _with_inline_styles(policy) if g.get("csp_inline_styles") else policy


def set_security_headers(response):
    config = current_app.config
    headers = response.headers
    if config["CONTENT_SECURITY_POLICY"]:
        headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", config["REFERRER_POLICY"])
    if config["PERMISSIONS_POLICY"]:
        headers.setdefault("Permissions-Policy", config["PERMISSIONS_POLICY"])
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if config["STRICT_TRANSPORT_SECURITY"]:
        headers.setdefault("Strict-Transport-Security", config["STRICT_TRANSPORT_SECURITY"])
    return response


def register_security_headers(app: Flask) -> None:
    app.after_request(set_security_headers)
