"""Accessibility (WCAG 2.1 AA) in a real browser: the demo served by gunicorn, read by Chromium.

- Every page a person of each demo role reaches passes axe-core (``tests/browser/a11y.check``: no serious or
  critical violation of WCAG 2.0/2.1 A and AA), in Latvian and in English, the applicant's pages also at 375 px;
  every input on them has a label.
- Form errors are tied to their fields: the field is ``aria-invalid`` and ``aria-describedby`` names the message.
- Sign-in and the application's edit form work with the keyboard alone (Tab, typing, Enter), and whatever has
  the focus shows it (an outline or a box-shadow, read from the computed style).

The demo runs on a throw-away database of this module's own (the tests change it: a declaration, a saved draft;
the journeys' ``site`` stays as the demo made it), migrated and loaded with ``grants.demo.load_demo``, served by
gunicorn; Chromium is the ``browser`` of tests/browser/conftest.py. Each account signs in once per module. A page
that fails leaves a screenshot in ``artifacts/screenshots/test_accessibility/<lang>-<width>/``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from grants import create_app
from grants.applications.models import Application
from grants.calls.models import Call
from grants.core.db import db
from grants.demo import CLOSED_CALL_CODE, load_demo
from grants.evaluations.models import Assignment
from grants.evaluations.services import declare
from grants.users.models import User
from tests import live_server
from tests.browser.a11y import check
from tests.conftest import throwaway_database

#: Every person signs in from 127.0.0.1: the per-address limit on sign-ins (10 a minute) is raised.
SERVER_ENV = {"GRANTS_LOGIN_RATE_LIMIT": "1000 per minute"}
PASSWORD = "demo-demo-demo"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "test_accessibility"
LANGUAGES = ("lv", "en")


@dataclass(frozen=True)
class Site:
    base: str
    ids: dict[str, int]


def _demo_ids() -> dict[str, int]:
    """The demo objects the pages below open, found by what they are rather than by number."""
    def application(state: str) -> Application:
        return db.session.scalars(sa.select(Application).where(Application.state == state)
                                  .order_by(Application.id)).first()

    def user(email: str) -> User:
        return db.session.scalars(sa.select(User).where(User.email == email)).one()

    def open_assignment(email: str) -> Assignment:
        return db.session.scalars(sa.select(Assignment).where(Assignment.evaluator_id == user(email).id,
                                                              Assignment.state == "assigned")
                                  .order_by(Assignment.id)).first()

    draft = db.session.scalars(sa.select(Application).where(Application.state == "draft",
                                                            Application.created_by_id == user("applicant@demo.lv").id)
                               .order_by(Application.id)).first()
    reviewing = open_assignment("evaluator2@demo.lv")
    # evaluator2 has declared no conflict already, so the review form is open; evaluator1 still has to declare.
    declare(reviewing, user("evaluator2@demo.lv"), has_conflict=False, statement=None)
    return {
        "closed_call": db.session.scalars(sa.select(Call.id).where(Call.code == CLOSED_CALL_CODE)).one(),
        "draft": draft.id,
        "in_eligibility": application("eligibility_review").id,
        "evaluated": application("evaluated").id,
        "declaration": open_assignment("evaluator1@demo.lv").id,
        "review": reviewing.id,
    }


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """The demo on gunicorn (127.0.0.1, a free port; one worker, as one browser asks one thing at a time) over a
    database of this module's own: the journeys' ``site`` is shared, and these tests change the demo."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # what an earlier run left
    folder = tmp_path_factory.mktemp("a11y")
    with throwaway_database(folder) as url:
        app = create_app("testing", DATABASE_URL=url, UPLOAD_DIR=str(folder / "uploads"))
        with app.app_context():
            upgrade()
            db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
            db.session.remove()
        with app.test_request_context():
            load_demo()
            ids = _demo_ids()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        with live_server.serving(url, folder, workers=1, env=SERVER_ENV, name="a11y-gunicorn") as server:
            yield Site(f"http://{live_server.HOST}:{server.port}", ids)


@pytest.fixture(scope="module")
def sessions(browser, demo_site):
    """``sessions(email)``: the cookies of that demo account signed in (once per module: sign-ins are throttled)."""
    signed_in = {}

    def session_of(email: str) -> dict:
        if email not in signed_in:
            context = browser.new_context()
            try:
                page = context.new_page()
                page.goto(f"{demo_site.base}/login")
                page.fill("#email", email)
                page.fill("#password", PASSWORD)
                with page.expect_navigation():
                    page.click("main form button[type=submit]")
                assert "/login" not in page.url, f"{email} could not sign in"
                signed_in[email] = context.storage_state()
            finally:
                context.close()
        return signed_in[email]

    return session_of


@pytest.fixture
def new_page(browser, demo_site, sessions):
    """``new_page(account=None, language="lv", viewport=DESKTOP)``: a page in a context of its own, signed in as
    the account (or nobody), the language chosen; closed after the test."""
    contexts = []

    def make(account: str | None = None, language: str = "lv", viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, storage_state=sessions(account) if account else None)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{demo_site.base}/language/{language}?next=/")
        return page

    yield make
    for context in contexts:
        context.close()


# --- helpers ---------------------------------------------------------------------------------------------------------

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => !['hidden', 'submit', 'button', 'reset', 'image'].includes(e.type))
  .filter(e => {
    const named = id => { const t = document.getElementById(id); return t && t.textContent.trim(); };
    if ((e.getAttribute('aria-label') || '').trim()) return false;
    if ((e.getAttribute('aria-labelledby') || '').split(/\\s+/).some(named)) return false;
    return !Array.from(e.labels || []).some(l => l.textContent.trim());
  })
  .map(e => e.outerHTML.slice(0, 120))"""


def problems_on(page, site: Site, path: str, language: str) -> list[str]:
    """What is wrong with the page at ``path``: its answer, its language, axe's findings, unlabelled inputs."""
    response = page.goto(site.base + path)
    if response is None or response.status != 200:
        return [f"answered {response.status if response else 'nothing'}"]
    problems = []
    if page.evaluate("document.documentElement.lang") != language:
        problems.append(f'<html lang> is not "{language}"')
    try:
        check(page)
    except AssertionError as violations:
        problems.append(str(violations))
    problems += [f"input without a label: {html}" for html in page.evaluate(UNLABELLED)]
    return problems


def screenshot(page, language: str, width: int, step: str) -> None:
    folder = SCREENSHOTS / f"{language}-{width}"
    folder.mkdir(parents=True, exist_ok=True)
    number = len(list(folder.glob("*.png"))) + 1
    page.screenshot(path=str(folder / f"{number:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"),
                    full_page=True)


def sweep(page, site: Site, steps: list[tuple[str, str]], language: str, failures: list[str]) -> None:
    width = page.viewport_size["width"]
    for step, path in steps:
        found = problems_on(page, site, path, language)
        if found:
            screenshot(page, language, width, step)
            failures.append(f"{step} ({path}, {language}, {width} px):\n" + "\n".join(found))


# --- every page of every role ----------------------------------------------------------------------------------------

#: role -> [(account or None, [(step, path)])]; paths name the demo objects by key of Site.ids.
ROLE_PAGES = {
    "anonymous": [(None, [("home", "/"), ("sign-in", "/login"), ("registration", "/register"),
                          ("registry", "/registry/")])],
    "applicant": [("applicant@demo.lv", [
        ("dashboard", "/dashboard/"), ("applications", "/applications/"), ("application", "/applications/{draft}"),
        ("edit form", "/applications/{draft}/edit"), ("organisation", "/organisations/"),
        ("initiatives", "/initiatives/"), ("account", "/account")])],
    "officer": [("officer@demo.lv", [
        ("dashboard", "/dashboard/"), ("calls", "/calls/"), ("call", "/calls/{closed_call}"),
        ("eligibility queue", "/eligibility/"), ("eligibility", "/eligibility/applications/{in_eligibility}"),
        ("assignments", "/calls/{closed_call}/assignments"), ("ranking", "/calls/{closed_call}/ranking"),
        ("grants", "/grants/"), ("payments", "/grants/payments"),
        ("reports", "/reports/"), ("programme report", "/reports/programmes/1")])],
    "evaluator": [("evaluator1@demo.lv", [("dashboard", "/dashboard/"), ("evaluations", "/evaluations/"),
                                          ("declaration", "/evaluations/assignments/{declaration}")]),
                  ("evaluator2@demo.lv", [("review form", "/evaluations/assignments/{review}")])],
    "committee": [("committee@demo.lv", [("ranking", "/calls/{closed_call}/ranking"),
                                         ("decision form", "/applications/{evaluated}/decision")])],
    "finance": [("finance@demo.lv", [("payments", "/grants/payments")])],
    "auditor": [("auditor@demo.lv", [("audit trail", "/audit/")])],
    "admin": [("admin@demo.lv", [("people", "/admin/people/"), ("outbox", "/admin/outbox/"),
                                 ("workflows", "/admin/workflows/")])],
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_every_page_of_a_role_passes_axe(demo_site, new_page, role, language):
    failures: list[str] = []
    for account, steps in ROLE_PAGES[role]:
        page = new_page(account, language)
        steps = [(f"{role} {step}", path.format(**demo_site.ids)) for step, path in steps]
        sweep(page, demo_site, steps, language, failures)
        if role == "applicant":  # and on a phone
            page.set_viewport_size(MOBILE)
            sweep(page, demo_site, steps, language, failures)
    assert not failures, "\n\n".join(failures)


# --- form errors -----------------------------------------------------------------------------------------------------

TIED = """() => {
  const problems = [], invalid = [];
  const shown = e => e.getClientRects().length > 0;
  const messages = Array.from(document.querySelectorAll('main form .error')).filter(shown);
  if (!messages.length) problems.push('no error message is shown');
  for (const message of messages) {
    if (!message.id) { problems.push('a message without an id: ' + message.textContent.trim()); continue; }
    const fields = Array.from(document.querySelectorAll('[aria-describedby]'))
      .filter(f => f.getAttribute('aria-describedby').split(/\\s+/).includes(message.id));
    if (!fields.length) problems.push('no field names #' + message.id + ' in aria-describedby');
    for (const f of fields)
      if (f.matches('input, select, textarea') && f.getAttribute('aria-invalid') !== 'true')
        problems.push('#' + f.id + ' names #' + message.id + ' but is not aria-invalid');
  }
  for (const f of document.querySelectorAll('main [aria-invalid=true]')) {
    invalid.push(f.id);
    const named = (f.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean)
      .map(id => document.getElementById(id));
    if (!named.some(m => m && m.classList.contains('error') && m.textContent.trim()))
      problems.push('#' + f.id + ' is aria-invalid but names no error message');
  }
  return {problems, invalid};
}"""


def assert_errors_tied(page, *fields: str) -> None:
    found = page.evaluate(TIED)
    assert not found["problems"], f"{page.url}: {found['problems']}"
    missing = set(fields) - set(found["invalid"])
    assert not missing, f"{page.url}: not marked invalid: {sorted(missing)} (invalid: {found['invalid']})"
    check(page)


def send(page, button: str = "main form button[type=submit]") -> None:
    with page.expect_navigation():
        page.click(button)


def test_form_errors_are_tied_to_their_fields(demo_site, new_page):
    ids = demo_site.ids
    page = new_page()
    page.goto(f"{demo_site.base}/login")
    send(page)
    assert_errors_tied(page, "email", "password")
    page.goto(f"{demo_site.base}/register")
    send(page)
    assert_errors_tied(page, "name", "email", "password", "password_again")

    page = new_page("applicant@demo.lv")
    page.goto(f"{demo_site.base}/applications/{ids['draft']}/edit")
    page.fill("#title", "")
    page.fill("#requested_amount", "-5")
    send(page)
    assert_errors_tied(page, "title", "requested_amount")

    page = new_page("evaluator1@demo.lv")
    page.goto(f"{demo_site.base}/evaluations/assignments/{ids['declaration']}")
    send(page, "#declaration button[type=submit]")
    assert_errors_tied(page, "has_conflict-0", "has_conflict-1")

    page = new_page("evaluator2@demo.lv")
    page.goto(f"{demo_site.base}/evaluations/assignments/{ids['review']}")
    score = page.locator("#review input[id^=score]").first
    score_id = score.get_attribute("id")
    score.fill("9999")
    send(page, "#review button[value=save]")
    assert_errors_tied(page, score_id)

    page = new_page("committee@demo.lv")
    page.goto(f"{demo_site.base}/applications/{ids['evaluated']}/decision")
    page.fill("#decided_on", "")
    send(page)
    assert_errors_tied(page, "decided_on")


# --- the keyboard alone ----------------------------------------------------------------------------------------------

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const style = getComputedStyle(e), box = e.getBoundingClientRect();
  return {id: e.id, cls: String(e.className), tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '',
          text: (e.innerText || e.value || '').trim().slice(0, 40), inMain: !!e.closest('main'),
          outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1,
          shadow: style.boxShadow !== 'none',
          onScreen: box.width > 0 && box.height > 0 && box.right > 0 && box.left < window.innerWidth};
}"""


def tab(page) -> dict:
    """Press Tab; what has the focus now, which must show it."""
    page.keyboard.press("Tab")
    focused = page.evaluate(FOCUSED)
    assert focused, f"{page.url}: Tab left the focus nowhere"
    assert focused["outline"] or focused["shadow"], f"{page.url}: the focus is not visible on {focused}"
    assert focused["onScreen"], f"{page.url}: the focused element is off screen: {focused}"
    return focused


def tab_to(page, wanted, limit: int | None = None) -> dict:
    """Tab until ``wanted(focused)`` holds, checking every stop on the way."""
    limit = limit or page.evaluate("document.querySelectorAll('a[href], button, input, select, textarea').length") + 5
    stops = []
    for _ in range(limit):
        focused = tab(page)
        if wanted(focused):
            return focused
        stops.append(focused["id"] or focused["text"] or focused["tag"])
    raise AssertionError(f"{page.url}: Tab never reached it; stops: {stops}")


def type_over(page, text: str) -> None:
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def test_sign_in_with_the_keyboard_alone(demo_site, new_page):
    page = new_page()
    page.goto(f"{demo_site.base}/login")
    skip = tab(page)
    assert "skip-link" in skip["cls"], skip
    page.keyboard.press("Enter")  # skip to the main content: the next Tab lands on its first field
    assert tab(page)["id"] == "email"
    page.keyboard.type("applicant@demo.lv")
    assert tab(page)["id"] == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == "/dashboard/", page.url
    assert page.locator("header .who").inner_text().strip()


def test_application_edit_form_with_the_keyboard_alone(demo_site, new_page):
    page = new_page("applicant@demo.lv", "en")
    edit = f"{demo_site.base}/applications/{demo_site.ids['draft']}/edit"
    page.goto(edit)
    tab_to(page, lambda focused: focused["id"] == "title")
    type_over(page, "Digital skills for seniors, typed")
    assert tab(page)["id"] == "summary"
    type_over(page, "Neighbours teach neighbours to use e-services.")
    assert tab(page)["id"] == "requested_amount"
    type_over(page, "23000")
    assert tab(page)["id"] == "duration_months"
    type_over(page, "10")
    question = tab_to(page, lambda focused: focused["tag"] == "textarea" and focused["id"].startswith("q-"))
    type_over(page, "Typed with the keyboard alone.")
    tab_to(page, lambda focused: focused["tag"] == "button" and focused["inMain"] and focused["type"] == "submit")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == urlsplit(edit).path, page.url
    assert page.locator(".flash-success").count() == 1
    values = page.evaluate(f"""() => ['title', 'summary', 'requested_amount', 'duration_months', '{question["id"]}']
                                      .map(id => document.getElementById(id).value)""")
    assert values[0] == "Digital skills for seniors, typed"
    assert values[1] == "Neighbours teach neighbours to use e-services."
    assert float(values[2]) == 23000 and values[3] == "10"
    assert values[4] == "Typed with the keyboard alone."
