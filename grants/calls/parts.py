"""Parts of a call written in another domain's language: its eligibility rules
(grants.eligibility) and its rubric (grants.evaluations).

The call carries them, checks them when a draft or a corrigendum is saved and freezes them at
publication; but those domains sit above calls in the layers (they need the applications), so
they register here how their part is checked and what a new call starts with, when the app
factory imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CallPart:
    #: The value as it will be stored; raises :class:`~grants.core.errors.UserInputError` with
    #: the problems by path (``2.code``) under ``fields``.
    check: Callable[[Any], Any] | None = None
    #: What a new call starts with.
    default: Callable[[], Any] | None = None


PARTS: dict[str, CallPart] = {}


def register_part(name: str, *, check: Callable[[Any], Any] | None = None,
                  default: Callable[[], Any] | None = None) -> None:
    if name in PARTS:
        raise ValueError(f"call part {name!r} registered twice")
    PARTS[name] = CallPart(check=check, default=default)


def _part(name: str) -> CallPart:
    try:
        return PARTS[name]
    except KeyError:
        raise RuntimeError(f"no domain registered the call part {name!r}; create the app first") from None


def check_part(name: str, value: Any) -> Any:
    check = _part(name).check
    return check(value) if check is not None else value


def default_part(name: str) -> Any:
    default = _part(name).default
    return default() if default is not None else None
