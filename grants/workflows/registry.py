"""The allow-list of guards and effects a workflow definition may name.

YAML names a guard or an effect; only functions registered here can run. A guard returns
``None`` when the transition may go ahead, or a :class:`Reason` saying why not. An effect
changes the object in memory (never commits, never sends).
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

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass
class Context:
    """What guards and effects see besides the object: who fires, why, with what."""

    actor: Any
    roles: frozenset[str]
    comment: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    dest: str = ""


Guard = Callable[[Any, Context], Reason | None]
Effect = Callable[[Any, Context], None]

GUARDS: dict[str, Guard] = {}
EFFECTS: dict[str, Effect] = {}


def guard(name: str) -> Callable[[Guard], Guard]:
    def register(func: Guard) -> Guard:
        if name in GUARDS:
            raise ValueError(f"guard {name!r} registered twice")
        GUARDS[name] = func
        return func

    return register


def effect(name: str) -> Callable[[Effect], Effect]:
    def register(func: Effect) -> Effect:
        if name in EFFECTS:
            raise ValueError(f"effect {name!r} registered twice")
        EFFECTS[name] = func
        return func

    return register
