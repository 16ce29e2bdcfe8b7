"""The history of a workflow object, told from its audit events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.audit.labels import register_describer
from grants.audit.models import AuditEvent
from grants.core.db import db
from grants.core.roles import ROLE_LABELS, STAFF_ROLES, RoleCode
from grants.workflows.definitions import SYSTEM
from grants.workflows.engine import definition_for, definitions


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    occurred_at: datetime
    action: str
    trigger: str | None
    from_state: str | None
    to_state: str | None
    from_label: str | None
    to_label: str | None
    actor: str
    role: str | None
    comment: str | None
    #: What happened, in words, for an audited action that is not a transition (None: a transition).
    summary: str | None = None


#: Labels (lazy msgids) of audited actions that are not transitions — a file attached, an agreement
#: drafted — by action code. Each domain registers its own beside its effects; the engine knows none.
ACTION_LABELS: dict[str, Any] = {}


def register_action_labels(labels: dict[str, Any]) -> None:
    clash = set(labels) & set(ACTION_LABELS)
    if clash:
        raise ValueError(f"action labels registered twice: {sorted(clash)}")
    ACTION_LABELS.update(labels)


def _role_label(role: str | None) -> str:
    if role == SYSTEM:
        return _("System")
    try:
        return str(ROLE_LABELS[RoleCode(role)])
    except (KeyError, ValueError):
        return role or ""


def history(obj, viewer) -> list[HistoryEntry]:
    """The audit events of a workflow object, oldest first, as ``viewer`` may see them.

    Applicants see every step and its comment (questions, reasons, feedback) but not the
    names of the staff who took it, only their role. One query whatever the length.
    """
    events = db.session.scalars(
        sa.select(AuditEvent).outerjoin(AuditEvent.actor)
        .options(sa.orm.contains_eager(AuditEvent.actor).lazyload("*"))  # the account, not its roles
        .where(AuditEvent.object_type == type(obj).__name__.lower(), AuditEvent.object_id == str(obj.id))
        .order_by(AuditEvent.id)).unique().all()
    definition = definition_for(obj)
    sees_names = viewer.has_any_role(*STAFF_ROLES)

    def label(state: str | None) -> str | None:
        found = definition.states.get(state) if state else None
        return _(found.label) if found else state

    entries = []
    for event in events:
        name = event.actor.name if event.actor is not None else None
        payload = event.payload or {}
        if event.role == SYSTEM:
            actor = _("System")
        elif sees_names or event.role == RoleCode.APPLICANT:
            actor = name or event.actor_label
        else:
            actor = _role_label(event.role)
        entries.append(HistoryEntry(
            id=event.id, occurred_at=event.occurred_at, action=event.action, trigger=payload.get("trigger"),
            from_state=payload.get("from"), to_state=payload.get("to"), from_label=label(payload.get("from")),
            to_label=label(payload.get("to")), actor=actor, role=event.role, comment=event.comment,
            summary=str(ACTION_LABELS[event.action]) if event.action in ACTION_LABELS else None))
    return entries


def describe(event) -> str | None:
    """An audit event's action in words, for the audit pages: what a domain registered for it, else, for a
    transition, its label in the workflow definition the event names (``payload.workflow``, e.g.
    ``application_v5``)."""
    if event.action in ACTION_LABELS:
        return str(ACTION_LABELS[event.action])
    payload = event.payload or {}
    workflow, trigger = str(payload.get("workflow") or ""), payload.get("trigger")
    name, _sep, version = workflow.rpartition("_v")
    definition = definitions().get((name, int(version))) if trigger and version.isdigit() else None
    if definition is None or trigger not in definition.triggers():
        return None
    return _(definition.trigger_label(trigger))


register_describer(describe)
