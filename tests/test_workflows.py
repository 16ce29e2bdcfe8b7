"""Workflow definitions load, are sound, and fire() is the only way states change."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.core.errors import Conflict, PermissionDenied, TransitionNotAllowed
from grants.initiatives.models import Initiative
from grants.workflows.definitions import DefinitionError, load_all, parse_definition
from grants.workflows.engine import available_triggers, fire
from tests.factories import make_call, make_organisation, make_user, sample_answers


def _audit_count(session):
    return session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()


def _events(session, obj):
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == type(obj).__name__.lower(),
                                                       AuditEvent.object_id == str(obj.id))
                           .order_by(AuditEvent.id)).all()


@pytest.fixture
def draft(session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    initiative = Initiative(organisation=organisation, title="Iniciatīva", current_stage="idea_generation")
    call = make_call()
    application = Application(call=call, organisation=organisation, initiative=initiative,
                              si_stage="idea_generation", title="Pieteikums", summary="",
                              answers=sample_answers(call.form),
                              requested_amount=Decimal("5000.00"), duration_months=6,
                              workflow_name="application", workflow_version=1)
    session.add(application)
    session.flush()
    return application, applicant


def test_every_definition_loads_reaches_every_state_and_ends_in_terminals():
    definitions = load_all()
    assert ("application", 1) in definitions
    for definition in definitions.values():
        assert definition.reachable_states() == set(definition.states)
        for state in definition.terminal:
            assert definition.transitions_from(state) == []


BASE = {"name": "t", "version": 1, "initial": "a", "states": {"a": {"tag": "draft"}, "b": {"tag": "review"}},
        "terminal": ["b"], "transitions": [{"trigger": "go", "source": "a", "dest": "b", "roles": ["officer"]}]}


@pytest.mark.parametrize("change, message", [
    ({"transitions": [{"trigger": "go", "source": "a", "dest": "zzz", "roles": ["officer"]}]}, "unknown state 'zzz'"),
    ({"transitions": [{"trigger": "go", "source": "a", "dest": "b", "roles": ["wizard"]}]}, "unknown roles"),
    ({"transitions": [{"trigger": "go", "source": "a", "dest": "b", "roles": ["officer"],
                       "guards": ["os.system"]}]}, "unknown guard 'os.system'"),
    ({"transitions": [{"trigger": "go", "source": "a", "dest": "b", "roles": ["officer"],
                       "effects": ["nope"]}]}, "unknown effect 'nope'"),
    ({"states": {"a": {"tag": "draft"}, "b": {"tag": "review"}, "c": {"tag": "review"}}}, "cannot be reached"),
    ({"terminal": ["a"]}, "terminal state 'a' has exits"),
    ({"states": {"a": {"tag": "party"}, "b": {"tag": "review"}}}, "tag 'party'"),
])
def test_broken_definitions_fail_at_load_with_a_clear_message(change, message):
    with pytest.raises(DefinitionError, match=message):
        parse_definition({**BASE, **change}, "t_v1.yaml")


def test_applicant_submits_own_draft_and_the_event_is_audited(app, session, draft):
    application, applicant = draft
    before = _audit_count(session)
    assert [t["trigger"] for t in available_triggers(application, applicant)] == ["submit", "withdraw"]
    fire(application, "submit", applicant)
    # submitted, then at once (automatic, as the system) into the eligibility review
    assert application.state == "eligibility_review" and application.version == 3
    assert _audit_count(session) == before + 2
    events = _events(session, application)
    assert [(e.action, e.role, e.payload["from"], e.payload["to"]) for e in events] == [
        ("application.submit", "applicant", "draft", "submitted"),
        ("application.start_eligibility_review", "system", "submitted", "eligibility_review")]
    assert events[0].actor_id == applicant.id and events[1].actor_id is None


def test_other_organisations_and_wrong_roles_may_not_fire(app, session, draft):
    application, _ = draft
    with pytest.raises(PermissionDenied):
        fire(application, "submit", make_user("applicant"))
    with pytest.raises(PermissionDenied):
        fire(application, "submit", make_user("officer"))
    assert application.state == "draft"


def test_failed_guard_changes_nothing(app, session, draft):
    application, applicant = draft
    fire(application, "submit", applicant)
    officer = make_user("officer")
    state, version, events = application.state, application.version, _audit_count(session)
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(application, "request_clarification", officer, comment="  ")
    assert refused.value.reasons == [{"code": "comment_required", "message": refused.value.reasons[0]["message"]}]
    session.flush()
    session.refresh(application)
    assert (application.state, application.version, _audit_count(session)) == (state, version, events)


def test_invalid_trigger_from_state_is_refused(app, session, draft):
    application, applicant = draft
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(application, "declare_eligible", make_user("officer"))
    assert refused.value.reasons[0]["code"] == "invalid_from_state"
    with pytest.raises(TransitionNotAllowed):
        fire(application, "teleport", applicant)


@pytest.mark.parametrize("decision, back_to", [("declare_ineligible", "eligibility_review"), ("reject", "evaluated")])
def test_upheld_appeal_returns_to_where_the_decision_came_from(app, session, draft, decision, back_to):
    application, applicant = draft
    officer, committee = make_user("officer"), make_user("committee")
    fire(application, "submit", applicant)
    if decision == "reject":
        fire(application, "declare_eligible", officer)
        fire(application, "complete_evaluation", None)
        fire(application, decision, committee)
    else:
        fire(application, decision, officer, comment="Nav atbilstoša juridiskā forma")
    fire(application, "appeal", applicant, comment="Lūdzam pārskatīt")
    assert application.state == "appealed"
    assert application.appealed_from == ("ineligible" if decision == "declare_ineligible" else "rejected")
    fire(application, "uphold_appeal", officer, comment="Apelācija pamatota")
    assert application.state == back_to


def test_stale_version_is_a_conflict(app, session, draft):
    application, applicant = draft
    session.execute(sa.update(Application).where(Application.id == application.id)
                    .values(version=Application.version + 1).execution_options(synchronize_session=False))
    with pytest.raises(Conflict):
        fire(application, "submit", applicant)


def test_there_is_no_back_door_to_a_state(app, session, draft):
    application, applicant = draft
    with pytest.raises(RuntimeError, match="only through"):
        application.state = "approved"
    initiative = application.initiative
    with pytest.raises(RuntimeError, match="only through"):
        initiative.current_stage = "scaling"
    fire(application, "submit", applicant)  # the engine itself may
    assert application.state == "eligibility_review"
