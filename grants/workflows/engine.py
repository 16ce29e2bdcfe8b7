"""The one way any workflow object changes state: :func:`fire`.

``fire`` checks the actor's roles for the object, runs the named guards (collecting every
reason a transition is refused), moves the object through its compiled machine, bumps its
optimistic-lock version and writes the audit event, all in the caller's transaction.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_babel import gettext as _
from sqlalchemy.orm.base import NEVER_SET, NO_VALUE
from sqlalchemy.orm.exc import StaleDataError

from grants.audit.services import lock_chain, record_event
from grants.core.db import db, utcnow
from grants.core.errors import Conflict, PermissionDenied, TransitionNotAllowed
from grants.workflows.definitions import SYSTEM, TransitionDef, WorkflowDefinition, load_all
from grants.workflows.registry import EFFECTS, GUARDS, Context, Reason

_DEFINITIONS: dict[tuple[str, int], WorkflowDefinition] = {}
#: Set while the engine moves an object; a state attribute set at any other time is a bug.
_FIRING: ContextVar[bool] = ContextVar("workflow_firing", default=False)


def protect_state(attribute) -> None:
    """Make ``attribute`` (a mapped state column) refuse any change not made by :func:`fire`.

    New objects may be given their initial state; a stored object's state moves only
    through the engine, which checks roles and guards and writes the audit event.
    """

    @sa.event.listens_for(attribute, "set")
    def _only_through_fire(target, value, oldvalue, initiator):
        if _FIRING.get() or value == oldvalue or oldvalue in (NO_VALUE, NEVER_SET):
            return
        if sa.inspect(target).persistent:
            raise RuntimeError(f"{type(target).__name__}.{attribute.key} changes only through "
                               f"grants.workflows.engine.fire (tried {oldvalue!r} -> {value!r})")


def init_app(app: Flask) -> None:
    """Load and compile every definition once per process; a broken one, or one naming a guard or
    an effect no domain registered, stops start-up (the app factory imports the domains first).
    Pages get ``state_label`` and ``status_label``."""
    if not _DEFINITIONS:
        _DEFINITIONS.update(load_all())
    app.extensions["workflows"] = _DEFINITIONS
    app.jinja_env.globals["state_label"] = state_label
    app.jinja_env.globals["status_label"] = status_label


def definitions() -> dict[tuple[str, int], WorkflowDefinition]:
    if not _DEFINITIONS:
        _DEFINITIONS.update(load_all())
    return _DEFINITIONS


def get_definition(name: str, version: int) -> WorkflowDefinition:
    try:
        return definitions()[(name, version)]
    except KeyError:
        raise LookupError(f"no workflow definition {name} v{version}") from None


def newest_version(name: str) -> int:
    """The newest version of the workflow ``name``: what a new object of it (a new call, a new payment) pins
    unless told otherwise."""
    return max((version for (each, version) in definitions() if each == name), default=1)


def definition_for(obj) -> WorkflowDefinition:
    return get_definition(obj.workflow_name, obj.workflow_version)


def state_of(obj) -> str:
    return getattr(obj, definition_for(obj).state_field)


def state_def(obj):
    """The :class:`StateDef` (tag, label, status) of the object's current state."""
    definition = definition_for(obj)
    return definition.states.get(getattr(obj, definition.state_field))


def state_label(obj, state: str | None = None) -> str:
    """The translated label of ``state`` (the object's current state when not given) in the
    workflow ``obj`` pins; ``obj`` may be a call, which pins its applications' workflow."""
    definition = definition_for(obj)
    code = state if state is not None else getattr(obj, definition.state_field)
    found = definition.states.get(code)
    return _(found.label) if found else code


def status_label(obj) -> str:
    """What the applicant sees: the status of the state, in the request language."""
    state = state_def(obj)
    return _(state.status) if state else state_of(obj)


def actor_roles(obj, actor) -> frozenset[str]:
    """The roles ``actor`` holds *for this object*: ``applicant`` only for members of the
    object's organisation, ``evaluator`` only for the evaluator of an assignment; ``system``
    when there is no person."""
    if actor is None:
        return frozenset({SYSTEM})
    roles = set(actor.role_codes)
    organisation_id = getattr(obj, "organisation_id", None)
    if "applicant" in roles and (organisation_id is None or not actor.is_member_of(organisation_id)):
        roles.discard("applicant")
    evaluator_id = getattr(obj, "evaluator_id", None)
    if "evaluator" in roles and evaluator_id is not None and evaluator_id != actor.id:
        roles.discard("evaluator")
    return frozenset(roles)


def available_triggers(obj, actor) -> list[dict[str, str]]:
    """Triggers ``actor`` may fire from the object's current state, with their labels.

    Guards are not run here (they may need input such as a comment): a listed trigger can
    still be refused, with the reasons, when fired. Automatic transitions are not offered.
    """
    roles = actor_roles(obj, actor)
    seen: dict[str, dict[str, str]] = {}
    for transition in definition_for(obj).transitions_from(state_of(obj)):
        if transition.roles & roles and not transition.auto and transition.trigger not in seen:
            seen[transition.trigger] = {"trigger": transition.trigger, "label": _(transition.label)}
    return list(seen.values())


def _refuse(code: str, message: str):
    raise TransitionNotAllowed(message, reasons=[{"code": code, "message": message}])


def _choose(obj, candidates: list[TransitionDef], ctx: Context) -> TransitionDef:
    reasons: list[Reason] = []
    for transition in candidates:
        failed: list[Reason] = []
        for name in transition.guards:
            found = GUARDS[name](obj, ctx)  # None, a reason, or several (one per failing eligibility rule)
            failed.extend(found if isinstance(found, list) else [found] if found is not None else [])
        if not failed:
            return transition
        reasons.extend(r for r in failed if r not in reasons)
    fields: dict[str, list[str]] = {}  # what the reasons say about single fields, by field
    for reason in reasons:
        for field, messages in (reason.fields or {}).items():
            known = fields.setdefault(field, [])
            known.extend(message for message in messages if message not in known)
    raise TransitionNotAllowed(_("This action is not possible now: %(reasons)s",
                                 reasons="; ".join(r.message for r in reasons)),
                               reasons=[r.as_dict() for r in reasons], fields=fields)


#: A chain of automatic transitions longer than this is a definition error, not a workflow.
MAX_AUTOMATIC_STEPS = 10


def fire(obj, trigger: str, actor, comment: str | None = None, **payload: Any):
    """Fire ``trigger`` on ``obj`` as ``actor`` (``None`` is the system) and audit it.

    Raises :class:`PermissionDenied` when none of the actor's roles may fire the trigger at
    all, :class:`TransitionNotAllowed` (with ``reasons``) when it is not valid from the
    current state or a guard refuses, :class:`Conflict` when someone else changed the object
    first. Then fires, as the system, any automatic transition out of the state reached.
    Flushes; the caller commits.
    """
    definition = definition_for(obj)
    if trigger not in definition.triggers():
        _refuse("unknown_trigger", _("There is no such action."))
    roles = actor_roles(obj, actor)
    if not definition.roles_for(trigger) & roles:
        raise PermissionDenied()
    candidates = [t for t in definition.transitions_from(state_of(obj)) if t.trigger == trigger]
    if not candidates:
        _refuse("invalid_from_state", _("This action is not possible in the current state."))
    permitted = [t for t in candidates if t.roles & roles]
    if not permitted:
        raise PermissionDenied()
    lock_chain()  # before any row is written: one lock order for every writer (see lock_chain)
    _apply(obj, definition, trigger, permitted, actor, roles, comment, payload)
    for _step in range(MAX_AUTOMATIC_STEPS):
        automatic = [t for t in definition.transitions_from(state_of(obj)) if t.auto]
        if not automatic:
            break
        context = Context(actor=None, roles=frozenset({SYSTEM}), source=state_of(obj))
        ready = [t for t in automatic if all(GUARDS[name](obj, context) is None for name in t.guards)]
        if not ready:
            break
        _apply(obj, definition, ready[0].trigger, [ready[0]], None, frozenset({SYSTEM}), None, {})
    else:
        raise RuntimeError(f"workflow {definition.name} v{definition.version}: automatic transitions loop")
    return obj


def _apply(obj, definition: WorkflowDefinition, trigger: str, permitted: list[TransitionDef], actor,
           roles: frozenset[str], comment: str | None, payload: dict[str, Any]) -> None:
    """Run guards, move the object, write it and its audit event, then the after-save effects."""
    before = state_of(obj)
    context = Context(actor=actor, roles=roles, comment=comment, payload=payload, source=before, trigger=trigger)
    chosen = context.chosen = _choose(obj, permitted, context)
    context.dest = chosen.dest
    token = _FIRING.set(True)
    try:
        moved = definition.machine.events[trigger].trigger(obj, context=context)
    finally:
        _FIRING.reset(token)
    if not moved or state_of(obj) != chosen.dest:  # the machine and the engine must agree
        raise RuntimeError(f"workflow {definition.name} v{definition.version}: {trigger} from {before} "
                           f"did not reach {chosen.dest}")
    if hasattr(obj, "updated_at"):
        obj.updated_at = utcnow()
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict() from None  # the request's transaction is rolled back
    role = SYSTEM if actor is None else sorted(chosen.roles & roles)[0]
    object_type = type(obj).__name__.lower()
    record_event(action=f"{object_type}.{trigger}", object_type=object_type,
                 object_id=obj.id, actor=actor, role=role, comment=comment,
                 payload={"from": before, "to": state_of(obj), "trigger": trigger,
                          "workflow": f"{definition.name}_v{definition.version}", **payload})
    for name in chosen.effects:
        if EFFECTS[name].phase == "after_save":
            EFFECTS[name](obj, context)
