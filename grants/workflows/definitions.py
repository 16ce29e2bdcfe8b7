"""Workflow definitions: versioned YAML files loaded, checked and compiled once.

``definitions/<name>_v<version>.yaml`` holds the states (tag, label, applicant-facing
status), the terminal states and the transitions (trigger, label, source(s), dest, roles,
guards, effects, ``auto``). ``state_field`` names the attribute of the object holding the
state (``state`` unless said otherwise). Anything unknown (a state, guard, effect, role or
tag) stops loading with a message naming the file and the entry.

An ``auto`` transition is fired by the engine itself, as the actor ``system``, as soon as its
source state is entered and its guards allow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from transitions import Machine

from grants.core.roles import RoleCode
from grants.workflows import guards as _guards  # noqa: F401  (registers the engine's own, domain-free guards)
from grants.workflows.registry import EFFECTS, GUARDS

DEFINITIONS_DIR = Path(__file__).parent / "definitions"
SYSTEM = "system"
ROLES = frozenset({role.value for role in RoleCode} | {SYSTEM})
#: Phases of an application (DESIGN §4); `stage` marks the SI stages of an initiative machine.
TAGS = frozenset({"draft", "screening", "review", "decision", "grant", "closed_positive", "closed_negative",
                  "stage"})


class DefinitionError(ValueError):
    """A workflow definition cannot be used; the message says where and why."""


@dataclass(frozen=True)
class StateDef:
    name: str
    tag: str
    label: str
    status: str


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    label: str
    sources: tuple[str, ...]
    dest: str
    roles: frozenset[str]
    guards: tuple[str, ...]
    effects: tuple[str, ...]
    auto: bool = False


@dataclass
class WorkflowDefinition:
    name: str
    version: int
    title: str
    initial: str
    states: dict[str, StateDef]
    terminal: frozenset[str]
    transitions: tuple[TransitionDef, ...]
    source_file: str
    state_field: str = "state"
    machine: Machine | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.name, self.version

    def transitions_from(self, state: str) -> list[TransitionDef]:
        return [t for t in self.transitions if state in t.sources]

    def triggers(self) -> list[str]:
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def roles_for(self, trigger: str) -> frozenset[str]:
        """Every role that may fire ``trigger`` from some state."""
        return frozenset().union(*(t.roles for t in self.transitions if t.trigger == trigger))

    def trigger_label(self, trigger: str) -> str:
        return next((t.label for t in self.transitions if t.trigger == trigger), trigger)

    def reachable_states(self) -> set[str]:
        seen, todo = {self.initial}, [self.initial]
        while todo:
            for transition in self.transitions_from(todo.pop()):
                if transition.dest not in seen:
                    seen.add(transition.dest)
                    todo.append(transition.dest)
        return seen


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def parse_definition(data: dict, source_file: str = "<memory>") -> WorkflowDefinition:
    """Check ``data`` and turn it into a definition with its compiled machine."""

    def fail(message: str):
        raise DefinitionError(f"{source_file}: {message}")

    if not isinstance(data, dict):
        fail("a workflow definition must be a mapping")
    for key in ("name", "version", "initial", "states", "transitions"):
        if key not in data:
            fail(f"missing {key!r}")
    unknown_keys = set(data) - {"name", "version", "title", "initial", "states", "terminal", "transitions",
                                "state_field"}
    if unknown_keys:
        fail(f"unknown keys {sorted(unknown_keys)}")
    states: dict[str, StateDef] = {}
    for name, spec in (data["states"] or {}).items():
        spec = spec or {}
        tag = spec.get("tag")
        if tag not in TAGS:
            fail(f"state {name!r} has tag {tag!r}; choose one of {sorted(TAGS)}")
        states[name] = StateDef(name=name, tag=tag, label=spec.get("label") or name,
                                status=spec.get("status") or spec.get("label") or name)
    if data["initial"] not in states:
        fail(f"initial state {data['initial']!r} is not a state")
    terminal = frozenset(_as_tuple(data.get("terminal")))
    for name in terminal - set(states):
        fail(f"terminal state {name!r} is not a state")

    transitions = []
    for index, spec in enumerate(data["transitions"] or []):
        where = f"transition {index + 1} ({spec.get('trigger', '?')})"
        unknown_keys = set(spec) - {"trigger", "label", "source", "dest", "roles", "guards", "effects", "auto"}
        if unknown_keys:
            fail(f"{where} has unknown keys {sorted(unknown_keys)}")
        sources = _as_tuple(spec.get("source"))
        if not spec.get("trigger") or not sources or not spec.get("dest"):
            fail(f"{where} needs trigger, source and dest")
        for state in (*sources, spec["dest"]):
            if state not in states:
                fail(f"{where} names unknown state {state!r}")
        roles = frozenset(_as_tuple(spec.get("roles")))
        if not roles:
            fail(f"{where} names no roles allowed to fire it")
        if roles - ROLES:
            fail(f"{where} names unknown roles {sorted(roles - ROLES)}")
        guard_names, effect_names = _as_tuple(spec.get("guards")), _as_tuple(spec.get("effects"))
        for name in guard_names:
            if name not in GUARDS:
                fail(f"{where} names unknown guard {name!r} (no domain registered it)")
        for name in effect_names:
            if name not in EFFECTS:
                fail(f"{where} names unknown effect {name!r} (no domain registered it)")
        auto = bool(spec.get("auto", False))
        if auto and SYSTEM not in roles:
            fail(f"{where} is automatic, so {SYSTEM!r} must be among its roles")
        transitions.append(TransitionDef(trigger=spec["trigger"], label=spec.get("label") or spec["trigger"],
                                         sources=sources, dest=spec["dest"], roles=roles,
                                         guards=guard_names, effects=effect_names, auto=auto))

    definition = WorkflowDefinition(name=data["name"], version=int(data["version"]), title=data.get("title") or "",
                                    initial=data["initial"], states=states, terminal=terminal,
                                    transitions=tuple(transitions), source_file=source_file,
                                    state_field=data.get("state_field") or "state")
    for name in terminal:
        if definition.transitions_from(name):
            fail(f"terminal state {name!r} has exits")
    unreachable = set(states) - definition.reachable_states()
    if unreachable:
        fail(f"states {sorted(unreachable)} cannot be reached from {definition.initial!r}")
    definition.machine = _compile(definition)
    return definition


def _compile(definition: WorkflowDefinition) -> Machine:
    """One ``transitions`` machine per definition, shared by every object that uses it.

    ``model=None``: ORM rows are never attached (``add_model`` would reset their state).
    Each transition's condition is its guards, so the machine alone never moves an object a
    guard refuses. The engine runs the guards first to choose the transition (and to give every
    reason when none may be taken); the condition then only confirms that choice, so no guard
    runs twice. ``before_save`` effects run once the state is set, before anything is written;
    the engine runs ``after_save`` effects itself once the audit event is recorded.
    """

    def condition(transition: TransitionDef):
        def allowed(event) -> bool:
            context = event.kwargs["context"]
            if context.chosen is not None:
                return context.chosen is transition
            return all(GUARDS[name](event.model, context) is None for name in transition.guards)
        return allowed

    def action(name: str):
        return lambda event: EFFECTS[name](event.model, event.kwargs["context"])

    machine = Machine(model=None, states=list(definition.states), initial=definition.initial,
                      auto_transitions=False, send_event=True, ignore_invalid_triggers=False,
                      model_attribute=definition.state_field)
    for transition in definition.transitions:
        machine.add_transition(transition.trigger, list(transition.sources), transition.dest,
                               conditions=[condition(transition)],
                               after=[action(n) for n in transition.effects
                                      if EFFECTS[n].phase == "before_save"])
    return machine


def load_file(path: Path) -> WorkflowDefinition:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise DefinitionError(f"{path.name}: not valid YAML: {error}") from None
    definition = parse_definition(data, path.name)
    expected = f"{definition.name}_v{definition.version}.yaml"
    if path.name != expected:
        raise DefinitionError(f"{path.name}: a definition of {definition.name} v{definition.version} "
                              f"must be named {expected}")
    return definition


def load_all(directory: Path = DEFINITIONS_DIR) -> dict[tuple[str, int], WorkflowDefinition]:
    definitions = {}
    for path in sorted(directory.glob("*.yaml")):
        definition = load_file(path)
        definitions[definition.key] = definition
    return definitions
