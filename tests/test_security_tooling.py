"""`make security` (part of `make lint`): pip-audit's report read right by tools/dependency_audit.py
(a vulnerability fails, an audit that could not run says so), and bandit configured to skip nothing."""

import importlib.util
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _audit_module():
    spec = importlib.util.spec_from_file_location("dependency_audit", ROOT / "tools" / "dependency_audit.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_known_vulnerability_fails():
    audit = _audit_module()
    report = {"dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "jinja2", "version": "2.10", "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["2.11.3"]}]},
        {"name": "si-grants", "skip_reason": "distribution marked as editable"},
    ]}
    outcome = audit.classify(report)
    assert outcome.verdict == "vulnerable"
    assert outcome.findings == ["jinja2 2.10: GHSA-xxxx (fixed in 2.11.3)"]


def test_an_audit_that_looked_nothing_up_did_not_run():
    audit = _audit_module()
    skipped = {"dependencies": [
        {"name": "flask", "skip_reason": "Dependency not found on PyPI and could not be audited: flask (3.1.3)"},
        {"name": "si-grants", "skip_reason": "distribution marked as editable"}]}
    assert audit.classify(skipped).verdict == "not_run"
    assert audit.classify(None, "ConnectionError: cannot resolve api.osv.dev\n").verdict == "not_run"
    clean = {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}]}
    assert audit.classify(clean).verdict == "clean"


def test_the_audit_fails_only_when_required_if_it_could_not_run(monkeypatch, capsys):
    audit = _audit_module()
    monkeypatch.setattr(audit, "run_pip_audit", lambda service: audit.Outcome("not_run", detail="offline"))
    monkeypatch.delenv("REQUIRE_DEPENDENCY_AUDIT", raising=False)
    assert audit.main() == 0
    assert "did NOT run" in capsys.readouterr().out
    monkeypatch.setenv("REQUIRE_DEPENDENCY_AUDIT", "1")
    assert audit.main() == 1
    monkeypatch.setattr(audit, "run_pip_audit",
                        lambda service: audit.Outcome("vulnerable", 1, 0, ["x 1.0: PYSEC-1"]))
    monkeypatch.delenv("REQUIRE_DEPENDENCY_AUDIT")
    assert audit.main() == 1


def test_bandit_skips_no_check_and_make_lint_runs_both():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["bandit"]["skips"] == []
    makefile = (ROOT / "Makefile").read_text()
    assert "bandit -c pyproject.toml -r grants" in makefile and "tools/dependency_audit.py" in makefile
    assert "$(MAKE) --no-print-directory security" in makefile.split("\nlint:")[1].split("\n\n")[0]
