"""Security headers on every response (pages, the API, errors, static files), a policy that allows
no inline script, templates that need none, and downloads that keep their stricter policy."""

import io
import re
from pathlib import Path

import pytest

from grants import create_app
from grants.core.uploads import download_response
from tests.factories import login, make_user

TEMPLATES = Path(__file__).resolve().parents[1] / "grants" / "templates"


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part}


def assert_secure(response):
    headers = response.headers
    csp = _directives(headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no inline script, no eval, no other origin
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    return csp


@pytest.mark.parametrize("path", ["/", "/login", "/calls/", "/static/css/grants.css"])
def test_pages_carry_the_headers(client, path):
    response = client.get(path)
    response.close()  # a static file is sent as a stream
    assert response.status_code == 200
    csp = assert_secure(response)
    assert csp["style-src"] == ["'self'"]
    assert "Strict-Transport-Security" not in response.headers  # testing and development: plain HTTP


def test_api_responses_and_errors_carry_the_headers(client):
    assert_secure(client.get("/api/v1/calls"))
    missing = client.get("/api/v1/applications/999999")
    assert missing.status_code == 401 and missing.is_json
    assert_secure(missing)
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "text/html" in page.content_type
    assert_secure(page)


def test_a_signed_in_page_and_the_workflow_diagram(client, session):
    admin = make_user("admin", email="headers@example.lv")
    login(client, admin)
    assert_secure(client.get("/dashboard/"))
    diagram = client.get("/admin/workflows/application/4")
    assert diagram.status_code == 200
    csp = assert_secure(diagram)  # scripts stay strict there too
    # Mermaid writes a <style> into the SVG it draws: that page alone allows inline styles
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]


def test_downloads_keep_their_own_stricter_policy(app):
    with app.test_request_context("/download"):
        response = app.process_response(download_response(io.BytesIO(b"%PDF-1.4"), filename="a.pdf",
                                                          content_type="application/pdf"))
        response.close()
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_production_sends_strict_transport_security(tmp_path):
    app = create_app("production", SECRET_KEY="s" * 32, DATABASE_URL=f"sqlite:///{tmp_path}/p.sqlite3")
    response = app.test_client().get("/static/css/grants.css")
    response.close()
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert_secure(response)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


def test_no_template_has_inline_script_handlers_or_styles():
    """The policy would block them: script only from static files, styles only from grants.css."""
    found = []
    for path in _templates():
        text = path.read_text()
        name = path.relative_to(TEMPLATES)
        found += [f"{name}: inline <script>" for _ in INLINE_SCRIPT.findall(text)]
        found += [f"{name}: on…= handler" for _ in EVENT_HANDLER.findall(text)]
        found += [f"{name}: style attribute" for _ in STYLE_ATTRIBUTE.findall(text)]
        found += [f"{name}: <style> element" for _ in re.findall(r"<style[\s>]", text, re.IGNORECASE)]
        found += [f"{name}: javascript: URL" for _ in re.findall(r"javascript:", text, re.IGNORECASE)]
    assert found == []
    assert len(_templates()) > 50


def test_the_scan_finds_what_it_looks_for():
    assert INLINE_SCRIPT.search('<script>alert(1)</script>')
    assert not INLINE_SCRIPT.search('<script src="/static/js/print.js" defer></script>')
    assert EVENT_HANDLER.search('<button type="button" onclick="go()">')
    assert not EVENT_HANDLER.search('<button type="button" data-print>')
    assert STYLE_ATTRIBUTE.search('<th style="width: 30%">')


def test_sign_in_never_sends_the_browser_to_another_site(client, session):
    from tests.conftest import csrf_token_from

    make_user(email="redirect@example.lv")
    for target in ("//evil.example/", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "https://evil.example"):
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        response = client.post("/login", query_string={"next": target},
                               data={"email": "redirect@example.lv", "password": "correct-horse-battery",
                                     "csrf_token": token})
        assert response.headers["Location"].endswith("/dashboard/"), target
        client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/dashboard/").get_data(as_text=True))})
