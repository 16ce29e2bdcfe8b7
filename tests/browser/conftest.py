"""Browser tests: the demo served for real by gunicorn on 127.0.0.1, driven by Debian's Chromium through
Playwright's sync API (no pytest-playwright plugin, no browser download).

Fixtures:

- ``site`` (session): a throw-away database of its own (SQLite or, with ``GRANTS_TEST_DATABASE_URL``, PostgreSQL),
  migrated, the demo loaded by the ``flask --app grants demo`` command itself, served by gunicorn (2 workers). The
  value is the base URL (a ``str``; ``site.url`` is the same, ``site.database_url`` the database).
- ``browser`` (session): Chromium, launched from /usr/bin/chromium. Missing, the tests FAIL (``make test`` installs
  it with ``make browser``); they never skip.
- ``page`` (per test): a factory, ``page(lang="lv", viewport="desktop")``, giving a new page in a context of its own
  (its own cookies: one person), opened on the home page in that language (English is chosen by its link in the
  header, as a person would) at that viewport (``"desktop"`` 1280×800, ``"mobile"`` 375×740, or a (width, height)).
  Every page records what would be a bug whatever the step (a response of 500 or more, a missing script or style
  sheet, a JavaScript error, a console error such as a Content-Security-Policy refusal):
  ``tests.browser.journey.problems(page)``. When the test fails, each of its pages leaves a screenshot as it was
  then: ``artifacts/screenshots/failed/<test>/<n>.png``.

The served app is the testing configuration with one change: sign-ins are throttled per address and every person of
every journey signs in from 127.0.0.1, so the limit is raised (``GRANTS_LOGIN_RATE_LIMIT``); nothing else differs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask_migrate import upgrade
from playwright.sync_api import Browser, Page, expect, sync_playwright

from grants import create_app
from grants.core.db import db
from tests import live_server
from tests.browser.journey import LANGUAGES, SCREENSHOTS, clean_folder, forget, screenshot, viewport_size, watch
from tests.conftest import throwaway_database

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: Without the background-networking flags Chromium keeps knocking at the closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Every journey signs its people in from 127.0.0.1: the per-address limit (10 a minute) is raised for the suite.
SERVER_ENV = {"GRANTS_LOGIN_RATE_LIMIT": "1000 per minute"}
#: Milliseconds Playwright waits for an element, a page or an expected text before failing the step (the machine
#: running the suite may be busy: generous, and a passing step never waits for it).
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


class Site(str):
    """The served demo's base URL (``http://127.0.0.1:<port>``), with the database it serves."""

    database_url: str

    def __new__(cls, url: str, database_url: str) -> Site:
        site = super().__new__(cls, url)
        site.database_url = database_url
        return site

    @property
    def url(self) -> str:
        return str(self)


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser-site")
    with throwaway_database(folder) as url:
        # Files the demo stores (signed agreements) go where the server will look for them.
        app = create_app("testing", DATABASE_URL=url, UPLOAD_DIR=str(folder / "uploads"))
        with app.app_context():
            upgrade()
            db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
            db.session.remove()
            demo = app.test_cli_runner().invoke(args=["demo"])  # `flask --app grants demo`
            assert demo.exit_code == 0, demo.output
            db.session.remove()
            db.engine.dispose()
        with live_server.serving(url, folder, workers=2, env=SERVER_ENV, name="browser-gunicorn") as server:
            yield Site(f"http://{live_server.HOST}:{server.port}", url)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `make browser` (Debian's chromium package); "
                    "the browser tests never download a browser and never skip.")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.browser_test_failed = True
    return report


def _leave_screenshots(request, pages: list[Page]) -> None:
    """A failed test's pages, as they were when it failed (the step's own screenshot may not have been taken)."""
    if not getattr(request.node, "browser_test_failed", False):
        return
    folder = clean_folder(SCREENSHOTS / "failed" / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name))
    for number, open_page in enumerate(pages, start=1):
        try:
            screenshot(open_page, folder / f"{number}.png")
        except Exception:  # a closed or crashed page has nothing to show; the failure itself is reported
            continue


@pytest.fixture
def page(request, browser: Browser, site: Site):
    """``page(lang="lv", viewport="desktop")``: a new person's page on the home page, in that language."""
    opened: list[Page] = []
    with ExitStack() as contexts:

        def open_page(lang: str = "lv", viewport: str | tuple[int, int] = "desktop") -> Page:
            assert lang in LANGUAGES, lang
            width, height = viewport_size(viewport)
            context = browser.new_context(viewport={"width": width, "height": height}, locale=lang,
                                          timezone_id="Europe/Riga")
            context.set_default_timeout(TIMEOUT_MS)
            contexts.callback(context.close)
            new = context.new_page()
            opened.append(new)
            contexts.callback(forget, new)
            watch(new)
            new.goto(site.url + "/")
            if new.locator("html").get_attribute("lang") != lang:
                new.locator(f"header .lang-switch a[hreflang={lang}]").click()
                new.wait_for_load_state()
            assert new.locator("html").get_attribute("lang") == lang
            return new

        yield open_page
        _leave_screenshots(request, opened)  # before the contexts close
