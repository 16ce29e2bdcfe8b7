"""Drafts through the API: create, read, list, patch with version, submit with a snapshot."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from grants.applications.models import Application, Submission
from grants.core.db import db, utcnow
from tests.factories import bearer, make_call, make_organisation, make_user


@pytest.fixture
def setup(session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    call = make_call(stages=(("idea_generation", "100000.00", "1000.00", "10000.00"),
                             ("prototyping", "100000.00", "1000.00", "20000.00")))
    return {"applicant": applicant, "organisation": organisation, "call": call, "headers": bearer(applicant)}


def _draft(client, setup, **overrides):
    body = {"call_id": setup["call"].id, "organisation_id": setup["organisation"].id, "si_stage": "idea_generation",
            "title": "Kopienas dārzs", "summary": "Dārzs pie skolas", "requested_amount": "7500.00",
            "duration_months": 9, "answers": {"project_name": "Dārzs"}}
    body.update(overrides)
    return client.post("/api/v1/applications", json=body, headers=setup["headers"])


def test_create_read_list_and_patch_a_draft(client, session, setup):
    created = _draft(client, setup)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["state"] == "draft" and body["version"] == 1 and body["requested_amount"] == "7500.00"
    assert body["submitted_at"] is None and body["content_hash"] is None
    application = db.session.get(Application, body["id"])
    initiative = application.initiative
    assert (initiative.title, initiative.current_stage) == ("Kopienas dārzs", "idea_generation")
    read = client.get(f"/api/v1/applications/{body['id']}", headers=setup["headers"])
    assert read.status_code == 200 and read.json["status"] == "Melnraksts – vēl nav iesniegts"
    listed = client.get(f"/api/v1/applications?call_id={setup['call'].id}", headers=setup["headers"]).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]
    patched = client.patch(f"/api/v1/applications/{body['id']}", headers=setup["headers"],
                           json={"version": 1, "title": "Skolas kopienas dārzs", "requested_amount": "8000"})
    assert patched.status_code == 200 and patched.json["version"] == 2
    assert patched.json["title"] == "Skolas kopienas dārzs" and patched.json["requested_amount"] == "8000.00"
    stale = client.patch(f"/api/v1/applications/{body['id']}", headers=setup["headers"],
                         json={"version": 1, "title": "Vecā versija"})
    assert stale.status_code == 409 and stale.json["error"] == "conflict"
    session.expire_all()
    assert db.session.get(Application, body["id"]).title == "Skolas kopienas dārzs"


@pytest.mark.parametrize("override, field", [
    ({"si_stage": "scaling"}, "si_stage"), ({"requested_amount": "-1"}, "requested_amount"),
    ({"requested_amount": "12.345"}, "requested_amount"), ({"duration_months": 0}, "duration_months"),
    ({"title": "   "}, "title"), ({"call_id": 999999}, "call_id"), ({"organisation_id": 999999}, "organisation_id"),
    ({"initiative_id": 999999}, "initiative_id"), ({"answers": "x"}, "answers"),
    ({"answers": {"description": "x" * 501}}, "answers.description"), ({"answers": {"nope": 1}}, "answers.nope")])
def test_bad_drafts_are_refused_by_field_and_nothing_is_saved(client, session, setup, override, field):
    before = session.scalar(sa.select(sa.func.count()).select_from(Application))
    response = _draft(client, setup, **override)
    assert response.status_code == 422 and field in response.json["fields"], response.json
    assert session.scalar(sa.select(sa.func.count()).select_from(Application)) == before


def test_submit_freezes_a_snapshot_with_its_hash_and_cannot_happen_twice(client, session, setup):
    application_id = _draft(client, setup).json["id"]
    url = f"/api/v1/applications/{application_id}/transitions"
    submitted = client.post(url, json={"trigger": "submit", "version": 1}, headers=setup["headers"])
    assert submitted.status_code == 200 and submitted.json["state"] == "eligibility_review"
    assert len(submitted.json["content_hash"]) == 64 and submitted.json["submitted_at"]
    snapshot = session.scalars(sa.select(Submission).where(Submission.application_id == application_id)).one()
    assert snapshot.snapshot["application"]["title"] == "Kopienas dārzs"
    assert snapshot.snapshot["organisation"]["registration_number"] == setup["organisation"].registration_number
    again = client.post(url, json={"trigger": "submit"}, headers=setup["headers"])
    assert again.status_code == 409
    assert session.scalar(sa.select(sa.func.count()).select_from(Submission)
                          .where(Submission.application_id == application_id)) == 1
    locked = client.patch(f"/api/v1/applications/{application_id}", headers=setup["headers"],
                          json={"version": submitted.json["version"], "title": "Pēc iesniegšanas"})
    assert locked.status_code == 409 and locked.json["error"] == "not_editable"


def test_a_submit_after_the_deadline_is_refused_and_the_draft_kept(client, session, setup):
    application_id = _draft(client, setup).json["id"]
    setup["call"].closes_at = utcnow() - timedelta(seconds=1)
    session.flush()
    refused = client.post(f"/api/v1/applications/{application_id}/transitions", json={"trigger": "submit"},
                          headers=setup["headers"])
    assert refused.status_code == 409 and refused.json["reasons"][0]["code"] == "deadline_passed"
    application = db.session.get(Application, application_id)
    assert (application.state, application.title, application.version) == ("draft", "Kopienas dārzs", 1)


def test_clarification_round_makes_a_new_snapshot(client, session, setup):
    application_id = _draft(client, setup).json["id"]
    url = f"/api/v1/applications/{application_id}/transitions"
    client.post(url, json={"trigger": "submit"}, headers=setup["headers"])
    officer = bearer(make_user("officer"))
    asked = client.post(url, json={"trigger": "request_clarification", "comment": "Precizējiet budžetu"},
                        headers=officer)
    assert asked.status_code == 200
    edit = client.patch(f"/api/v1/applications/{application_id}", headers=setup["headers"],
                        json={"version": asked.json["version"], "requested_amount": "7000.00"})
    assert edit.status_code == 200
    resent = client.post(url, json={"trigger": "resubmit"}, headers=setup["headers"])
    assert resent.status_code == 200
    rounds = session.scalars(sa.select(Submission).where(Submission.application_id == application_id)
                             .order_by(Submission.round)).all()
    assert [(s.round, s.trigger, s.snapshot["application"]["requested_amount"]) for s in rounds] == [
        (1, "submit", "7500.00"), (2, "resubmit", "7000.00")]
    assert rounds[0].content_hash != rounds[1].content_hash == resent.json["content_hash"]


def test_other_organisations_see_nothing(client, session, setup):
    application_id = _draft(client, setup).json["id"]
    stranger = bearer(make_user("applicant"))
    assert client.get(f"/api/v1/applications/{application_id}", headers=stranger).status_code == 404
    assert client.patch(f"/api/v1/applications/{application_id}", headers=stranger,
                        json={"version": 1, "title": "x"}).status_code == 404
    assert client.get("/api/v1/applications", headers=stranger).json["total"] == 0
    other_org = make_organisation(make_user("applicant"))
    assert _draft(client, setup, organisation_id=other_org.id).status_code == 422


def test_submitting_writes_a_receipt_with_the_hash_to_the_outbox(client, session, setup):
    from grants.notifications.models import OutboxMessage

    application_id = _draft(client, setup).json["id"]
    submitted = client.post(f"/api/v1/applications/{application_id}/transitions", json={"trigger": "submit"},
                            headers=setup["headers"])
    receipts = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "submission_receipt",
                                                              OutboxMessage.object_id == str(application_id))).all()
    assert [m.to_address for m in receipts] == [setup["applicant"].email]
    assert submitted.json["content_hash"] in receipts[0].body


def test_a_submit_with_required_answers_missing_is_refused_with_the_reason(client, session, setup):
    application_id = _draft(client, setup, answers={}).json["id"]
    refused = client.post(f"/api/v1/applications/{application_id}/transitions", json={"trigger": "submit"},
                          headers=setup["headers"])
    assert refused.status_code == 409 and refused.json["reasons"][0]["code"] == "answers_incomplete"
    assert db.session.get(Application, application_id).state == "draft"
