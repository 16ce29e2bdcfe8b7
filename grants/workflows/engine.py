"""The one way any workflow object changes state: :func:`fire`.

``fire`` checks the actor's roles for the object, runs the named guards (collecting every
reason a transition is refused), moves the object through its compiled machine, bumps its
optimistic-lock version and writes the audit event, all in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from grants.core.db import db, utcnow
from grants.core.errors import Conflict, PermissionDenied, TransitionNotAllowed
from grants.workflows.definitions import SYSTEM, TransitionDef, WorkflowDefinition, load_all
from grants.workflows.registry import GUARDS, Context, Reason

_DEFINITIONS: dict[tuple[str, int], WorkflowDefinition] = {}


def init_app(app: Flask) -> None:
    """Load and compile every definition once per process; a broken one stops start-up."""
    if not _DEFINITIONS:
        _DEFINITIONS.update(load_all())
    app.extensions["workflows"] = _DEFINITIONS


def definitions() -> dict[tuple[str, int], WorkflowDefinition]:
    if not _DEFINITIONS:
        _DEFINITIONS.update(load_all())
    return _DEFINITIONS


def get_definition(name: str, version: int) -> WorkflowDefinition:
    try:
        return definitions()[(name, version)]
    except KeyError:
        raise LookupError(f"no workflow definition {name} v{version}") from None


def definition_for(obj) -> WorkflowDefinition:
    return get_definition(obj.workflow_name, obj.workflow_version)


def actor_roles(obj, actor) -> frozenset[str]:
    """The roles ``actor`` holds *for this object*: ``applicant`` only for members of the
    object's organisation; ``system`` when there is no person."""
    if actor is None:
        return frozenset({SYSTEM})
    roles = set(actor.role_codes)
    organisation_id = getattr(obj, "organisation_id", None)
    if "applicant" in roles and (organisation_id is None or not actor.is_member_of(organisation_id)):
        roles.discard("applicant")
    return frozenset(roles)


def available_triggers(obj, actor) -> list[dict[str, str]]:
    """Triggers ``actor`` may fire from the object's current state, with their labels."""
    roles = actor_roles(obj, actor)
    seen: dict[str, dict[str, str]] = {}
    for transition in definition_for(obj).transitions_from(obj.state):
        if transition.roles & roles and transition.trigger not in seen:
            seen[transition.trigger] = {"trigger": transition.trigger, "label": _(transition.label)}
    return list(seen.values())


def _refuse(code: str, message: str):
    raise TransitionNotAllowed(message, reasons=[{"code": code, "message": message}])


def _choose(obj, candidates: list[TransitionDef], ctx: Context) -> TransitionDef:
    reasons: list[Reason] = []
    for transition in candidates:
        failed = [reason for name in transition.guards if (reason := GUARDS[name](obj, ctx)) is not None]
        if not failed:
            return transition
        reasons.extend(r for r in failed if r not in reasons)
    raise TransitionNotAllowed(_("This action is not possible now: %(reasons)s",
                                 reasons="; ".join(r.message for r in reasons)),
                               reasons=[r.as_dict() for r in reasons])


def fire(obj, trigger: str, actor, comment: str | None = None, **payload: Any):
    """Fire ``trigger`` on ``obj`` as ``actor`` (``None`` is the system) and audit it.

    Raises :class:`PermissionDenied` when none of the actor's roles may fire the trigger,
    :class:`TransitionNotAllowed` (with ``reasons``) when it is not valid from the current
    state or a guard refuses, :class:`Conflict` when someone else changed the object first.
    Flushes; the caller commits.
    """
    from grants.audit.services import record_event

    definition = definition_for(obj)
    if trigger not in definition.triggers():
        _refuse("unknown_trigger", _("There is no such action."))
    candidates = [t for t in definition.transitions_from(obj.state) if t.trigger == trigger]
    if not candidates:
        _refuse("invalid_from_state", _("This action is not possible in the current state."))
    roles = actor_roles(obj, actor)
    permitted = [t for t in candidates if t.roles & roles]
    if not permitted:
        raise PermissionDenied()
    context = Context(actor=actor, roles=roles, comment=comment, payload=payload, source=obj.state)
    chosen = _choose(obj, permitted, context)
    context.dest = chosen.dest

    before = obj.state
    moved = definition.machine.events[trigger].trigger(obj, context=context)
    if not moved or obj.state != chosen.dest:  # the machine and the engine must agree
        raise RuntimeError(f"workflow {definition.name} v{definition.version}: {trigger} from {before} "
                           f"did not reach {chosen.dest}")
    obj.updated_at = utcnow()
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict() from None  # the request's transaction is rolled back
    role = SYSTEM if actor is None else sorted(chosen.roles & roles)[0]
    record_event(action=f"{type(obj).__name__.lower()}.{trigger}", object_type=type(obj).__name__.lower(),
                 object_id=obj.id, actor=actor, role=role, comment=comment,
                 payload={"from": before, "to": obj.state, "trigger": trigger,
                          "workflow": f"{definition.name}_v{definition.version}", **payload})
    return obj
