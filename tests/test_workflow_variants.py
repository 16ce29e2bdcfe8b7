"""The two-round and stage-gate call workflows and the initiative's SI-stage machine."""

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.core.errors import PermissionDenied, TransitionNotAllowed
from grants.initiatives.stages import OPEN_BOOK
from grants.workflows.engine import available_triggers, definitions, fire, state_label, status_label
from tests.factories import make_application, make_call, make_initiative, make_organisation, make_user

STAGES = (("idea_generation", "100000.00", "1000.00", "10000.00"),
          ("prototyping", "100000.00", "1000.00", "20000.00"),
          ("scaling", "100000.00", "1000.00", "30000.00"))


def _actions(session, obj):
    return [(e.action, e.payload["from"], e.payload["to"]) for e in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == type(obj).__name__.lower(),
                                    AuditEvent.object_id == str(obj.id)).order_by(AuditEvent.id))]


@pytest.fixture
def people(session):
    return {"officer": make_user("officer"), "committee": make_user("committee")}


def _to_implementation(application, applicant, people):
    officer, committee = people["officer"], people["committee"]
    fire(application, "submit", applicant)
    fire(application, "declare_eligible", officer)
    fire(application, "complete_evaluation", None)
    fire(application, "approve", committee)
    fire(application, "sign_contract", officer)
    fire(application, "start_implementation", officer)


def test_initiative_machine_has_the_stages_of_the_stage_model():
    definition = definitions()[("initiative", 1)]
    assert tuple(definition.states) == OPEN_BOOK.codes
    assert definition.state_field == "current_stage"


def test_two_round_call_invites_after_the_concept_note(app, session, people):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    call = make_call(workflow_name="application_two_round", workflow_version=1)
    application = make_application(call, organisation)
    fire(application, "submit", applicant)
    assert application.state == "concept_review"  # the review starts by itself
    assert status_label(application) == "Koncepcija tiek vērtēta"
    with pytest.raises(PermissionDenied):
        fire(application, "invite", applicant)
    fire(application, "invite", people["committee"])
    assert [t["trigger"] for t in available_triggers(application, applicant)] == ["submit", "withdraw"]
    fire(application, "submit", applicant)
    assert application.state == "eligibility_review"
    assert _actions(session, application) == [
        ("application.submit", "draft", "concept_submitted"),
        ("application.start_concept_review", "concept_submitted", "concept_review"),
        ("application.invite", "concept_review", "invited"),
        ("application.submit", "invited", "submitted"),
        ("application.start_eligibility_review", "submitted", "eligibility_review")]


def test_declining_a_concept_needs_a_reason_and_ends_the_application(app, session, people):
    applicant = make_user("applicant")
    call = make_call(workflow_name="application_two_round", workflow_version=1)
    application = make_application(call, make_organisation(applicant))
    fire(application, "submit", applicant)
    with pytest.raises(TransitionNotAllowed):
        fire(application, "decline_concept", people["officer"])
    fire(application, "decline_concept", people["officer"], comment="Neatbilst konkursa mērķim")
    assert application.state == "concept_declined"
    assert available_triggers(application, applicant) == []


def test_accepted_final_report_proves_the_stage_and_advances_the_initiative(app, session, people):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    application = make_application(make_call(), organisation, si_stage="idea_generation")
    initiative = application.initiative
    _to_implementation(application, applicant, people)
    fire(application, "submit_final_report", applicant)
    fire(application, "accept_final_report", people["officer"])
    assert application.state == "completed" and application.proven_stages == ["idea_generation"]
    assert initiative.current_stage == "prototyping"
    assert _actions(session, initiative) == [("initiative.advance", "idea_generation", "prototyping")]
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "initiative")).one()
    assert event.role == "system" and event.payload["application_id"] == application.id


def test_stage_gated_award_moves_through_gates_with_the_initiative(app, session, people):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    call = make_call(workflow_name="application_stage_gate", workflow_version=1, stages=STAGES)
    application = make_application(call, organisation, si_stage="idea_generation")
    initiative = application.initiative
    officer, committee = people["officer"], people["committee"]
    _to_implementation(application, applicant, people)

    fire(application, "submit_final_report", applicant)
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(application, "accept_final_report", officer)  # a further stage is funded: gate first
    assert refused.value.reasons[0]["code"] == "next_stage_pending"
    fire(application, "start_gate_review", officer)
    fire(application, "pass_gate", committee)
    assert (application.state, application.award_stage) == ("in_implementation", "prototyping")
    assert initiative.current_stage == "prototyping"

    fire(application, "submit_final_report", applicant)
    fire(application, "start_gate_review", officer)
    fire(application, "pass_gate", committee)
    assert application.award_stage == "scaling" and initiative.current_stage == "sustaining"
    assert application.proven_stages == ["idea_generation", "prototyping"]

    fire(application, "submit_final_report", applicant)
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(application, "start_gate_review", officer)  # scaling is the call's last stage
    assert refused.value.reasons[0]["code"] == "last_stage"
    fire(application, "accept_final_report", officer)
    assert application.state == "completed"
    # the initiative stood at sustaining, which this award did not fund: it stays there
    assert initiative.current_stage == "sustaining"


def test_failed_gate_closes_the_award_at_its_stage(app, session, people):
    applicant = make_user("applicant")
    call = make_call(workflow_name="application_stage_gate", workflow_version=1, stages=STAGES)
    application = make_application(call, make_organisation(applicant), si_stage="prototyping")
    _to_implementation(application, applicant, people)
    fire(application, "submit_final_report", applicant)
    fire(application, "start_gate_review", people["officer"])
    with pytest.raises(TransitionNotAllowed):
        fire(application, "fail_gate", people["committee"])
    fire(application, "fail_gate", people["committee"], comment="Pilota rezultāti nepārliecina")
    assert (application.state, application.award_stage) == ("closed_at_gate", "prototyping")
    assert application.initiative.current_stage == "prototyping"
    assert state_label(application) == "Slēgts pie posma vārtiem"


def test_initiative_advance_needs_proof_or_a_justified_officer(app, session, people):
    applicant = make_user("applicant")
    initiative = make_initiative(make_organisation(applicant), stage="prototyping")
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(initiative, "advance", None)
    assert [r["code"] for r in refused.value.reasons] == ["stage_not_proven"]
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(initiative, "advance", people["officer"], comment="jā")
    assert [r["code"] for r in refused.value.reasons] == ["stage_not_proven", "justification_required"]
    with pytest.raises(PermissionDenied):
        fire(initiative, "advance", applicant)
    fire(initiative, "advance", people["officer"],
         comment="Pilots noslēgts ar ES programmas finansējumu; izvērtējuma ziņojums pievienots.")
    assert initiative.current_stage == "sustaining" and initiative.version == 2
    fire(initiative, "step_back", people["officer"], comment="Modelis jāpārskata")
    assert initiative.current_stage == "prototyping"


def test_the_last_stage_is_terminal(app, session, people):
    initiative = make_initiative(make_organisation(make_user("applicant")), stage="systemic_change")
    assert available_triggers(initiative, people["officer"]) == []
    with pytest.raises(TransitionNotAllowed):
        fire(initiative, "advance", people["officer"], comment="x" * 40)


def test_every_application_workflow_offers_the_triggers_outside_tests_use():
    for (name, _version), definition in definitions().items():
        if name.startswith("application"):
            assert {"submit", "withdraw", "request_clarification", "resubmit", "declare_eligible",
                    "declare_ineligible"} <= set(definition.triggers()), name
