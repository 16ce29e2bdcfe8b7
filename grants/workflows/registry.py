"""The allow-list of guards and effects a workflow definition may name.

YAML names a guard or an effect; only functions registered here can run. A guard returns
``None`` when the transition may go ahead, or a :class:`Reason` saying why not.

The engine knows no domain: each domain registers its guards and effects beside its own logic
(``grants/<domain>/guards.py`` and ``effects.py``), and the app factory imports them before
the definitions are loaded, so a definition naming a name nobody registered stops start-up.

An effect runs in one of two phases. ``before_save`` effects change the object in memory as
the state changes, so the new state and its data are written in one UPDATE. ``after_save``
effects run once the transition and its audit event are recorded; they may fire follow-up
transitions on other objects (through the engine, never around it). Neither commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reason:
    """Why a guard refused: a stable code and a message already in the user's language."""

    code: str
    message: str
    #: The eligibility rule that failed, for reasons given by the eligibility guards.
    rule: str | None = None
    #: What is wrong, by the field it is about (as the API names fields, e.g. ``answers.<question code>``):
    #: the refusal's ``fields`` gather those of all its reasons.
    fields: dict[str, list[str]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **({"rule": self.rule} if self.rule else {}),
                **({"fields": self.fields} if self.fields else {})}


@dataclass
class Context:
    """What guards and effects see besides the object: who fires, why, with what."""

    actor: Any
    roles: frozenset[str]
    comment: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    dest: str = ""
    trigger: str = ""
    #: The transition the engine chose after running its guards (the machine only confirms it).
    chosen: Any = None
    #: What a guard worked out that an effect of the same transition needs again (not audited).
    found: dict[str, Any] = field(default_factory=dict)


Guard = Callable[[Any, Context], Reason | list[Reason] | None]
Effect = Callable[[Any, Context], None]
PHASES = ("before_save", "after_save")


@dataclass(frozen=True)
class RegisteredEffect:
    func: Effect
    phase: str

    def __call__(self, obj, ctx: Context) -> None:
        self.func(obj, ctx)


GUARDS: dict[str, Guard] = {}
EFFECTS: dict[str, RegisteredEffect] = {}


def guard(name: str) -> Callable[[Guard], Guard]:
    def register(func: Guard) -> Guard:
        if name in GUARDS:
            raise ValueError(f"guard {name!r} registered twice")
        GUARDS[name] = func
        return func

    return register


def effect(name: str, phase: str = "before_save") -> Callable[[Effect], Effect]:
    if phase not in PHASES:
        raise ValueError(f"effect {name!r}: phase must be one of {PHASES}")

    def register(func: Effect) -> Effect:
        if name in EFFECTS:
            raise ValueError(f"effect {name!r} registered twice")
        EFFECTS[name] = RegisteredEffect(func, phase)
        return func

    return register
