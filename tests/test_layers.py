"""The house: the layers of grants/ (README.md, "The layers"; the contracts in pyproject.toml).

``make lint`` runs import-linter over the same graph; these tests say what the layering
promises in the terms a reader checks it by, so ``pytest`` alone catches a break too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

from grants.workflows.definitions import load_all
from grants.workflows.registry import EFFECTS, GUARDS

PACKAGE = Path(__file__).resolve().parent.parent / "grants"
#: Top-level packages of grants/ that are domains (everything the engine must not know).
DOMAINS = ("users", "organisations", "initiatives", "forms", "calls", "applications", "eligibility", "evaluations",
           "decisions", "grants_mgmt", "reports", "registry", "exports", "notifications", "dashboard", "api")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    """Every import of grants/: module level, inside functions and under TYPE_CHECKING alike."""
    return grimp.build_graph("grants", cache_dir=None)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _package_edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = _package(module), _package(imported)
            if source != target and source != "grants":  # the app factory imports everything
                edges.setdefault(source, set()).add(target)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the packages along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for following in sorted(edges.get(node, ())):
            if state.get(following) == 1:
                return path[path.index(following):] + [following]
            if following not in state and (found := visit(following)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_cycle_between_the_packages_of_grants(graph):
    assert _cycle(_package_edges(graph)) is None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_the_workflow_engine_imports_no_domain(graph):
    imported = {_package(target) for module in graph.find_descendants("grants.workflows") | {"grants.workflows"}
                for target in graph.find_modules_directly_imported_by(module)}
    assert not imported & {f"grants.{domain}" for domain in DOMAINS}
    assert imported - {"grants.workflows"} <= {"grants.core", "grants.audit"}


def test_each_domain_registers_its_own_guards_and_effects():
    """Only the domain-free ``comment_given`` is the engine's; every other guard and effect is
    registered from ``grants/<domain>/guards.py`` or ``effects.py``."""
    places = {name: func.__module__ for name, func in GUARDS.items()}
    places |= {name: registered.func.__module__ for name, registered in EFFECTS.items()}
    engine_own = {name for name, module in places.items() if module.startswith("grants.workflows")}
    assert engine_own == {"comment_given"}
    for name, module in places.items():
        if name not in engine_own:
            parts = module.split(".")
            assert len(parts) == 3 and parts[1] in DOMAINS and parts[2] in ("guards", "effects"), (name, module)


def test_every_name_a_definition_uses_is_registered():
    for definition in load_all().values():
        for transition in definition.transitions:
            assert set(transition.guards) <= set(GUARDS), (definition.name, transition.trigger)
            assert set(transition.effects) <= set(EFFECTS), (definition.name, transition.trigger)


def _nested_grants_imports(path: Path) -> list[tuple[int, str]]:
    """Imports of grants modules that are not at the top of ``path``, with their lines."""
    source = path.read_text()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module):
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ImportFrom) and (child.module or "").startswith("grants"):
                found.append((child.lineno, ast.get_source_segment(source, child) or ""))
    return found


def test_an_import_inside_a_function_says_why(tmp_path):
    """An import below the top of a module is kept only with a comment on its line or the line
    above saying why; none exists just to dodge a cycle any more."""
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text().splitlines()
        for lineno, _text in _nested_grants_imports(path):
            here, above = lines[lineno - 1], lines[lineno - 2] if lineno > 1 else ""
            if "#" not in here and not above.strip().startswith("#"):
                unexplained.append(f"{path.relative_to(PACKAGE.parent)}:{lineno}")
    assert unexplained == []
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from grants.core.db import db\n    return db\n")
    assert [lineno for lineno, _text in _nested_grants_imports(sample)] == [2]
