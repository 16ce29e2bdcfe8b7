"""What an audited action and the role it was taken in are called on the audit pages.

The trail names its own actions (sign-ins, exports, two-step sign-in…: grants.audit.views). The others are
named by whoever records them, through :func:`register_describer`: the workflow engine names a transition by
its label in the definition the event names, and the actions the domains registered (grants.workflows.history).
An action nobody names is shown by its id (the id is always shown beside the name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _

from grants.core.roles import ROLE_LABELS, RoleCode

#: Each takes an audit event and returns its action's name in the reader's language, or None.
Describer = Callable[[Any], str | None]
_DESCRIBERS: list[Describer] = []


def register_describer(describe: Describer) -> None:
    if describe not in _DESCRIBERS:
        _DESCRIBERS.append(describe)


def action_label(event, own: Mapping[str, Any]) -> str:
    """``event``'s action in words: ``own`` (the trail's labels), then whoever registered, else its id."""
    if event.action in own:
        return str(own[event.action])
    for describe in _DESCRIBERS:
        label = describe(event)
        if label:
            return label
    return event.action


def role_label(role: str | None) -> str:
    """The role an action was taken in, in words (``system`` for the system; — for none)."""
    if not role:
        return "—"
    if role == "system":
        return _("System")
    try:
        return str(ROLE_LABELS[RoleCode(role)])
    except (KeyError, ValueError):
        return role
