"""What every step of a journey does once the person has acted and the page is there: the checks that hold on any
page, a screenshot, and the accessibility check.

``Journey.step(page, "name")`` is the one place each step passes through:

1. the page is in the journey's language (``<html lang>``);
2. nothing went wrong on it (``problems``, recorded since the page opened: no 5xx, no missing script or style
   sheet, no JavaScript or console error such as a Content-Security-Policy refusal);
3. nothing is wider than the screen (no sideways scrolling of the page at 375 px or at 1280 px);
4. a full-page screenshot: ``artifacts/screenshots/<test>/<lang>-<width>/<NN>-<name>.png``;
5. the axe-core accessibility check, ``tests/browser/a11y.py``'s ``check(page)``, when that module is there.

The assertions on what the person sees are the test's, before it calls ``step``.
"""

from __future__ import annotations

import base64
import importlib
import re
import shutil
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.browser.texts import texts

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
VIEWPORTS = {"desktop": (1280, 800), "mobile": (375, 740)}
LANGUAGES = ("lv", "en")


def _accessibility_check():
    """``tests/browser/a11y.py``'s ``check(page)``, or None while that module (or the function) is not there."""
    try:
        module = importlib.import_module("tests.browser.a11y")
    except ModuleNotFoundError as missing:
        if missing.name != "tests.browser.a11y":
            raise
        return None
    return getattr(module, "check", None)


ACCESSIBILITY_CHECK = _accessibility_check()

#: The widest the page may be, beyond the viewport, in CSS pixels (rounding).
OVERFLOW_TOLERANCE = 1


_PROBLEMS: dict[int, list[str]] = {}


def problems(page: Page) -> list[str]:
    """What went wrong on ``page`` since it was opened or last checked (the list itself)."""
    return _PROBLEMS.setdefault(id(page), [])


def watch(page: Page) -> None:
    found = problems(page)

    def response(answer) -> None:
        request = answer.request
        if answer.status >= 500:
            found.append(f"{answer.status} from {request.method} {answer.url}")
        elif answer.status >= 400 and request.resource_type != "document":
            found.append(f"{answer.status} for the {request.resource_type} {answer.url}")

    def console(message) -> None:
        # A document answering 4xx on purpose (a refused form) is logged as "Failed to load resource":
        # statuses are judged above, from the responses themselves.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            found.append(f"console error: {message.text}")

    page.on("response", response)
    page.on("console", console)
    page.on("pageerror", lambda error: found.append(f"JavaScript error: {error}"))


def viewport_size(viewport: str | tuple[int, int]) -> tuple[int, int]:
    return VIEWPORTS[viewport] if isinstance(viewport, str) else viewport


def forget(page: Page) -> None:
    _PROBLEMS.pop(id(page), None)


def screenshot(page: Page, path: Path) -> None:
    """The whole page as PNG, through Chromium's DevTools protocol with its fast encoder: about half the time of
    ``page.screenshot(full_page=True)``, which counts when every step of four journeys takes one."""
    width, height = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    session = page.context.new_cdp_session(page)
    try:
        shot = session.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "optimizeForSpeed": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    finally:
        session.detach()
    path.write_bytes(base64.b64decode(shot["data"]))


def clean_folder(folder: Path) -> Path:
    """An empty ``folder`` (a test's screenshots from an earlier run are removed first)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class Journey:
    """One walk through the service in one language at one viewport; its screenshots go to one folder."""

    def __init__(self, test_name: str, lang: str, viewport: str | tuple[int, int]):
        self.lang = lang
        self.viewport = viewport
        self.width, _height = viewport_size(viewport)
        self.t = texts(lang)
        self.folder = clean_folder(SCREENSHOTS / test_name / f"{lang}-{self.width}")
        self.count = 0

    def step(self, page: Page, name: str) -> Path:
        """Take ``page``'s screenshot as it is now (first: a failing step leaves it too), check it and run the
        accessibility check; returns the screenshot's file."""
        assert re.fullmatch(r"[a-z0-9-]+", name), name
        page.wait_for_load_state()
        self.count += 1
        shot = self.folder / f"{self.count:02d}-{name}.png"
        screenshot(page, shot)
        where = f"step {self.count:02d} {name} ({page.url})"
        assert page.locator("html").get_attribute("lang") == self.lang, f"{where}: the page is not in {self.lang}"
        found = problems(page)
        assert not found, f"{where}: " + "; ".join(found)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= self.width + OVERFLOW_TOLERANCE, \
            f"{where}: the page is {width} px wide on a {self.width} px screen: it scrolls sideways"
        # -- The accessibility check of every journey step: the one place it is called. --
        if ACCESSIBILITY_CHECK is not None:
            ACCESSIBILITY_CHECK(page)
        return shot


# -- What people do on any page ----------------------------------------------------------------------------------

def header_link(page: Page, name: str) -> Locator:
    return page.locator("header").get_by_role("link", name=name, exact=True)


def go(page: Page, link: Locator) -> None:
    """Follow a link (or press a button that loads another page) and wait for that page."""
    link.click()
    page.wait_for_load_state()


def sign_in(page: Page, t: dict[str, str], email: str, password: str) -> None:
    """From any page: the header's sign-in link, the e-mail and the password, then the button."""
    go(page, header_link(page, t["sign_in"]))
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    go(page, page.locator("main form").get_by_role("button", name=t["sign_in"], exact=True))


def flash(page: Page) -> Locator:
    return page.locator(".flashes")


def expect_flash(page: Page, text: str) -> None:
    expect(flash(page)).to_contain_text(text)


def heading(page: Page) -> Locator:
    return page.locator("main h1")
