"""Random sequences of triggers fired by random people never take a workflow object anywhere its
definition does not allow, and every successful transition leaves exactly one audit event.

For every application workflow and for the initiative workflow, hypothesis draws up to 25 steps
of (trigger, person, comment) starting from a fresh object. A small model, written from the
definition's data and from what each guard and effect is documented to do (not from the engine's
code), predicts each step: refused as forbidden (PermissionDenied), refused as not possible
(TransitionNotAllowed, with the reason codes), or the transitions taken (the trigger's own, the
automatic ones after it, and the initiative's ``advance`` an accepted stage causes). The engine
must agree, a refusal must leave state, version and audit trail as they were, and the chain must
verify after every example. Each example runs in a savepoint rolled back at its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from grants.audit.models import AuditEvent
from grants.audit.services import verify_chain
from grants.core.errors import PermissionDenied, TransitionNotAllowed
from grants.initiatives.stages import OPEN_BOOK
from grants.workflows.definitions import SYSTEM, TransitionDef, WorkflowDefinition
from grants.workflows.engine import MAX_AUTOMATIC_STEPS, definitions, fire
from tests.factories import make_application, make_call, make_initiative, make_organisation, make_user

APPLICATION_WORKFLOWS = sorted(key for key in definitions() if key[0].startswith("application"))
INITIATIVE_WORKFLOW = ("initiative", 1)
#: The stages every call of these tests funds (a stage-gated award can pass two gates).
CALL_STAGES = ("idea_generation", "prototyping", "scaling")
UNKNOWN_TRIGGER = "teleport"
#: Who fires, and the workflow roles they hold for the object (a non-member's applicant role does not count).
PEOPLE = {
    "applicant-member": frozenset({"applicant"}),
    "applicant-non-member": frozenset(),
    "evaluator": frozenset({"evaluator"}),
    "officer": frozenset({"officer"}),
    "committee": frozenset({"committee"}),
    "finance": frozenset({"finance"}),
    "auditor": frozenset({"auditor"}),
    "admin": frozenset({"admin"}),
    "officer+committee": frozenset({"officer", "committee"}),
    "system": frozenset({SYSTEM}),
}
COMMENTS = (
    None,
    "",
    "   ",
    "Lūdzu precizēt budžetu",  # a reason, but too short to justify moving an initiative on
    "  " + "x" * 19 + "  ",  # 19 characters once stripped: one short of a justification
    "Pilots noslēgts ar pozitīvu izvērtējumu; ziņojums pievienots.",
)
MAX_STEPS = 25
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --- the model ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One transition as its audit event records it."""

    object_type: str
    trigger: str
    source: str
    dest: str
    role: str


@dataclass
class Refused:
    error: type[Exception]
    codes: frozenset[str] = frozenset()


@dataclass
class Sim:
    """What the engine should do with one object, from the definition and the guards' meaning."""

    definition: WorkflowDefinition
    object_type: str
    state: str
    award_stage: str | None = None
    appealed_from: str | None = None
    #: An application's accepted stages (its ``proven_stages``).
    proven: list[str] = field(default_factory=list)
    #: An initiative's evidence: every stage any of its applications has proven.
    evidence: set[str] = field(default_factory=set)
    #: An application's initiative.
    initiative: Sim | None = None

    def _next_award_stage(self) -> str | None:
        later = [code for code in CALL_STAGES if OPEN_BOOK.position(code) > OPEN_BOOK.position(self.award_stage)]
        return later[0] if later else None

    def reason(self, guard: str, roles: frozenset[str], comment: str | None) -> str | None:
        """The reason code a guard gives, or None when it lets the transition through."""
        if guard == "comment_given":
            return None if comment and comment.strip() else "comment_required"
        if guard == "appealed_from_ineligible":
            return None if self.appealed_from == "ineligible" else "appeal_origin"
        if guard == "appealed_from_rejected":
            return None if self.appealed_from == "rejected" else "appeal_origin"
        if guard == "has_next_award_stage":
            return None if self._next_award_stage() is not None else "last_stage"
        if guard == "is_last_award_stage":
            return None if self._next_award_stage() is None else "next_stage_pending"
        if guard == "stage_proven":
            return None if self.state in self.evidence else "stage_not_proven"
        if guard in ("before_deadline", "answers_complete"):  # calls close weeks later; answers are complete
            return None
        if guard in ("eligibility_passes", "eligibility_resolved", "before_appeal_deadline"):
            return None  # the walked calls have no eligibility rules; appeals follow decisions at once
        if guard == "evaluation_consolidated":
            return "evaluation_incomplete"  # the walked applications are never scored by evaluators
        if guard == "decision_dated":
            return "decision_date"  # a bare trigger carries no decision record (grants.decisions.services.decide)
        if guard in ("decider_not_evaluator", "departure_justified"):
            return None  # nobody is assigned to evaluate; unscored applications have no recommendation
        if guard == "evidence_justified":
            justified = "officer" in roles and comment and len(comment.strip()) >= 20
            return None if justified else "justification_required"
        raise AssertionError(f"guard {guard!r} is not modelled here: add what it means to Sim.reason")

    def fire(self, trigger: str, roles: frozenset[str], comment: str | None) -> Refused | list[Step]:
        """The engine's contract: unknown trigger, then role, then state, then guards."""
        definition = self.definition
        if trigger not in definition.triggers():
            return Refused(TransitionNotAllowed, frozenset({"unknown_trigger"}))
        if not any(t.roles & roles for t in definition.transitions if t.trigger == trigger):
            return Refused(PermissionDenied)
        candidates = [t for t in definition.transitions if t.trigger == trigger and self.state in t.sources]
        if not candidates:
            return Refused(TransitionNotAllowed, frozenset({"invalid_from_state"}))
        permitted = [t for t in candidates if t.roles & roles]
        if not permitted:
            return Refused(PermissionDenied)
        codes: set[str] = set()
        for transition in permitted:
            failed = {code for guard in transition.guards if (code := self.reason(guard, roles, comment))}
            if not failed:
                steps: list[Step] = []
                self._take(transition, roles, comment, steps)
                self._run_automatic(steps)
                return steps
            codes |= failed
        return Refused(TransitionNotAllowed, frozenset(codes))

    def _run_automatic(self, steps: list[Step]) -> None:
        for _ in range(MAX_AUTOMATIC_STEPS):
            ready = [t for t in self.definition.transitions if t.auto and self.state in t.sources
                     and not any(self.reason(g, frozenset({SYSTEM}), None) for g in t.guards)]
            if not ready:
                return
            self._take(ready[0], frozenset({SYSTEM}), None, steps)
        raise AssertionError("the definition loops through automatic transitions")

    def _take(self, transition: TransitionDef, roles: frozenset[str], comment: str | None,
              steps: list[Step]) -> None:
        source = self.state
        self.state = transition.dest
        role = SYSTEM if roles == {SYSTEM} else sorted(transition.roles & roles)[0]
        steps.append(Step(self.object_type, transition.trigger, source, transition.dest, role))
        advance_initiative = False
        for effect in transition.effects:
            if effect == "remember_appeal_origin":
                self.appealed_from = source
            elif effect == "record_stage_evidence":
                if self.award_stage not in self.proven:
                    self.proven.append(self.award_stage)
                self.initiative.evidence.add(self.award_stage)
            elif effect == "advance_award_stage":
                self.award_stage = self._next_award_stage()
            elif effect == "advance_initiative":
                advance_initiative = True
            elif effect in ("take_snapshot", "record_eligibility", "register_de_minimis_aid", "record_decision",
                            "withdraw_open_assignments") \
                    or effect.startswith("notify_"):
                pass  # a snapshot, stored results, a register row or a message: no workflow state changes
            else:
                raise AssertionError(f"effect {effect!r} is not modelled here: add what it does to Sim._take")
        if advance_initiative:  # after the application's own event: the initiative moves, as the system
            initiative = self.initiative
            offered = [t for t in initiative.definition.transitions
                       if t.trigger == "advance" and initiative.state in t.sources and SYSTEM in t.roles]
            if initiative.state in self.proven and offered:
                outcome = initiative.fire("advance", frozenset({SYSTEM}), None)
                assert isinstance(outcome, list), f"the model's initiative refused an earned advance: {outcome}"
                steps.extend(outcome)


# --- checking the engine against the model ----------------------------------------------------------

def _people() -> tuple[object, dict[str, object]]:
    member = make_user("applicant", name="Anna Member")
    outsider = make_user("applicant", name="Otto Outsider")
    make_organisation(outsider)
    users = {"applicant-member": member, "applicant-non-member": outsider, "system": None,
             "officer+committee": make_user("officer", "committee")}
    for role in ("evaluator", "officer", "committee", "finance", "auditor", "admin"):
        users[role] = make_user(role, name=f"{role.title()} Person")
    return make_organisation(member), users


def _new_events(session, after_id: int) -> list:
    """Events appended since ``after_id``, as rows (not ORM objects: ids come back after a rollback on SQLite)."""
    columns = AuditEvent.__table__.c
    return session.execute(sa.select(columns.object_type, columns.object_id, columns.action, columns.payload,
                                     columns.role, columns.actor_id, columns.comment)
                           .where(columns.id > after_id).order_by(columns.id)).all()


def _last_event_id(session) -> int:
    return session.execute(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0))).scalar_one()


def _stored(session, obj) -> tuple[str, int]:
    """State and version as the database has them (pending changes would be flushed first)."""
    model = type(obj)
    state_column = getattr(model, definitions()[(obj.workflow_name, obj.workflow_version)].state_field)
    row = session.execute(sa.select(state_column, model.version).where(model.id == obj.id)).one()
    return row[0], row[1]


def _draw_step(data, sim: Sim) -> tuple[str, str, str | None]:
    """Four steps in five try to move on: a trigger that leaves the current state (one into a
    terminal state less often, so walks get far), fired by someone holding a role it names. The
    fifth is anything: any trigger or an unknown one, by anyone. Any comment, blank or not."""
    definition = sim.definition
    leaving = [t for t in definition.transitions_from(sim.state) if not t.auto]
    if leaving and data.draw(st.integers(min_value=0, max_value=4), label="plausible") > 0:
        weighted = [t.trigger for t in leaving for _ in range(1 if t.dest in definition.terminal else 4)]
        trigger = data.draw(st.sampled_from(weighted), label="trigger")
        allowed = frozenset().union(*(t.roles for t in leaving if t.trigger == trigger))
        person = data.draw(st.sampled_from(sorted(name for name, roles in PEOPLE.items() if roles & allowed)),
                           label="person")
    else:
        trigger = data.draw(st.sampled_from([*definition.triggers(), UNKNOWN_TRIGGER]), label="trigger")
        person = data.draw(st.sampled_from(sorted(PEOPLE)), label="person")
    comment = data.draw(st.sampled_from(COMMENTS), label="comment")
    return trigger, person, comment


def _check_step(session, obj, sim: Sim, trigger: str, person: str, actor, comment: str | None,
                watched: dict[str, object]) -> None:
    """Fire one step on ``obj`` and check the engine did exactly what the model says."""
    definition = sim.definition
    before_id = _last_event_id(session)
    before = {kind: (_stored(session, o), getattr(o, definitions()[(o.workflow_name, o.workflow_version)].state_field))
              for kind, o in watched.items()}
    state_before = sim.state
    expected = sim.fire(trigger, PEOPLE[person], comment)
    try:
        fire(obj, trigger, actor, comment=comment)
    except (PermissionDenied, TransitionNotAllowed) as error:
        note(f"{state_before}: {trigger} by {person} ({comment!r}) -> {type(error).__name__} "
             f"{getattr(error, 'reasons', '')}")
        assert isinstance(expected, Refused), f"{trigger} by {person} from {state_before} was refused " \
                                              f"({type(error).__name__}: {error}); the model took {expected}"
        assert type(error) is expected.error
        if expected.error is TransitionNotAllowed:
            assert error.reasons, "a refused transition must say why"
            assert {r["code"] for r in error.reasons} == expected.codes
            assert all(r["message"] for r in error.reasons)
        for kind, o in watched.items():  # nothing moved, in memory or in the database
            stored, in_memory = before[kind]
            assert _stored(session, o) == stored
            assert in_memory == stored[0]
        assert _new_events(session, before_id) == []
        event(f"refused: {type(error).__name__}")
        return

    note(f"{state_before}: {trigger} by {person} ({comment!r}) -> {[(s.trigger, s.dest) for s in expected]}")
    assert not isinstance(expected, Refused), f"{trigger} by {person} from {state_before} ({comment!r}) " \
                                              f"succeeded; the model expected {expected}"
    events = _new_events(session, before_id)
    taken = [Step(e.object_type, e.payload["trigger"], e.payload["from"], e.payload["to"], e.role) for e in events]

    # Definition invariants, independent of the model: one event per transition, every event a
    # transition of the definition, the first one the trigger fired, the others automatic (or the
    # initiative's advance), and the events of each object chaining to its current state.
    own = [e for e in events if e.object_type == sim.object_type]
    assert own and own[0].payload["trigger"] == trigger
    for kind, o in watched.items():
        object_events = [e for e in events if e.object_type == kind]
        assert all(e.object_id == str(o.id) for e in object_events)
        object_definition = definitions()[(o.workflow_name, o.workflow_version)]
        state = before[kind][0][0]
        for n, row in enumerate(object_events):
            payload = row.payload
            assert payload["from"] == state, "events must chain from state to state"
            assert payload["to"] in object_definition.states
            assert payload["workflow"] == f"{object_definition.name}_v{object_definition.version}"
            assert row.action == f"{kind}.{payload['trigger']}"
            matching = [t for t in object_definition.transitions_from(state)
                        if t.trigger == payload["trigger"] and t.dest == payload["to"]]
            assert matching, f"{kind} moved {state} -> {payload['to']} by {payload['trigger']}: not in the definition"
            if kind == sim.object_type and n == 0:
                assert row.comment == comment
                assert row.actor_id == (actor.id if actor is not None else None)
                assert any(t.roles & PEOPLE[person] for t in matching)
            else:  # what the engine did on its own
                assert row.role == SYSTEM and row.actor_id is None and row.comment is None
                assert any(SYSTEM in t.roles for t in matching)
                if kind != sim.object_type:  # moved by an effect of the object's transition: it says which
                    assert payload["application_id"] == obj.id
            state = payload["to"]
        current = getattr(o, object_definition.state_field)
        assert state == current
        assert _stored(session, o) == (current, before[kind][0][1] + len(object_events))

    assert taken == expected
    assert sim.state == getattr(obj, definition.state_field)
    for step in taken:  # `pytest --hypothesis-show-statistics` shows how far the walks got
        event(f"reached {step.object_type} {step.dest}")


def _run(session, data, obj, sim: Sim, users, watched) -> None:
    for _ in range(data.draw(st.integers(min_value=1, max_value=MAX_STEPS), label="steps")):
        trigger, person, comment = _draw_step(data, sim)
        _check_step(session, obj, sim, trigger, person, users[person], comment, watched)
    result = verify_chain()
    assert result.valid, result


# --- the properties --------------------------------------------------------------------------------

@pytest.fixture
def world(session):
    """People, their organisation and, per workflow, a call funding three stages: made once per test
    (outside the examples' savepoints), shared by its hypothesis examples."""
    organisation, users = _people()
    calls: dict[tuple[str, int], object] = {}

    def call_for(workflow: tuple[str, int]):
        if workflow not in calls:
            calls[workflow] = make_call(workflow_name=workflow[0], workflow_version=workflow[1],
                                        stages=[(code, "100000.00", "1000.00", "30000.00") for code in CALL_STAGES])
        return calls[workflow]

    return organisation, users, call_for


@pytest.mark.parametrize("workflow", APPLICATION_WORKFLOWS, ids=lambda key: f"{key[0]}_v{key[1]}")
@PROPERTY_SETTINGS
@given(data=st.data())
def test_random_triggers_on_an_application_follow_its_definition(app, session, world, workflow, data):
    organisation, users, call_for = world
    call = call_for(workflow)
    si_stage = data.draw(st.sampled_from(CALL_STAGES), label="si_stage")
    savepoint = session.begin_nested()
    try:
        application = make_application(call, organisation, si_stage=si_stage)
        initiative = application.initiative
        assert (application.state, application.version, initiative.version) == ("draft", 1, 1)
        initiative_sim = Sim(definitions()[INITIATIVE_WORKFLOW], "initiative", state=si_stage)
        sim = Sim(definitions()[workflow], "application", state="draft", award_stage=si_stage,
                  initiative=initiative_sim)
        _run(session, data, application, sim, users, {"application": application, "initiative": initiative})
        assert application.proven_stages == sim.proven
        assert application.award_stage == sim.award_stage
        assert application.appealed_from == sim.appealed_from
    finally:
        savepoint.rollback()


@PROPERTY_SETTINGS
@given(data=st.data())
def test_random_triggers_on_an_initiative_follow_its_definition(app, session, world, data):
    organisation, users, call_for = world
    call = call_for(APPLICATION_WORKFLOWS[0])
    definition = definitions()[INITIATIVE_WORKFLOW]
    stage = data.draw(st.sampled_from(list(definition.states)), label="stage")
    proofs = data.draw(st.lists(st.lists(st.sampled_from(list(definition.states)), unique=True, max_size=3),
                                max_size=2), label="proven stages of its applications")
    savepoint = session.begin_nested()
    try:
        initiative = make_initiative(organisation, stage=stage)
        for proven in proofs:
            make_application(call, organisation, initiative=initiative, proven_stages=proven)
        assert initiative.version == 1
        sim = Sim(definition, "initiative", state=stage, evidence={code for proven in proofs for code in proven})
        _run(session, data, initiative, sim, users, {"initiative": initiative})
    finally:
        savepoint.rollback()
