"""Accessibility checks with axe-core (WCAG 2.1 A and AA) on a Playwright page.

axe-core comes inside axe-playwright-python (``axe.min.js``) and is injected from disk: nothing is fetched.
``check(page)`` fails on any violation of impact "serious" or "critical", naming the rule, its impact, the
offending elements' selectors and axe's help text; lesser findings ("moderate", "minor") are left to review.
"""

from __future__ import annotations

from axe_playwright_python.base import AXE_FILE_PATH

#: The WCAG levels checked: 2.0 and 2.1, A and AA.
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
#: Impacts that fail the check.
FAILING = frozenset({"serious", "critical"})

_AXE_SCRIPT = AXE_FILE_PATH.read_text(encoding="utf-8")


def violations(page, *, tags=TAGS) -> list[dict]:
    """axe's violations on the page as it is now (every impact)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
    return page.evaluate("options => axe.run(document, options).then(results => results.violations)", options)


def report(found: list[dict]) -> str:
    lines = []
    for violation in found:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


def check(page, *, tags=TAGS) -> None:
    """Fail (AssertionError) on any serious or critical WCAG 2.1 A/AA violation on the page."""
    failing = [violation for violation in violations(page, tags=tags) if violation["impact"] in FAILING]
    assert not failing, f"accessibility violations on {page.url}:\n{report(failing)}"
