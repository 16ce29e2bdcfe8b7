"""What pages and endpoints call to act on any workflow object."""

from __future__ import annotations

from grants.core.errors import Conflict
from grants.workflows.engine import fire


def act(obj, trigger: str, actor, comment: str | None = None, expected_version: int | None = None, **payload):
    """Fire ``trigger`` on ``obj`` as ``actor`` with a person's comment (and ``payload`` for
    the transition's audit event, already checked by the caller).

    ``expected_version`` is the version the actor saw: if someone changed the object since,
    the action is refused as a conflict rather than applied to something not seen. A blank
    comment counts as none.
    """
    if expected_version is not None and expected_version != obj.version:
        raise Conflict()
    comment = comment.strip() if comment else None
    return fire(obj, trigger, actor, comment=comment or None, **payload)
