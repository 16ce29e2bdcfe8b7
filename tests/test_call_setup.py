"""Call set-up by officers: drafts, publication freezing version 1, corrigenda making the next."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.calls.models import Call, CallStatus, CallVersion
from grants.core.db import content_hash
from grants.notifications.models import OutboxMessage
from tests.factories import bearer, make_application, make_organisation, make_programme, make_user, small_form


def _payload(programme, **overrides):
    now = datetime.now(UTC)
    data = {"programme_id": programme.id, "code": "SI-2027-1", "title_lv": "Konkurss", "title_en": "Call",
            "description_lv": "Apraksts", "description_en": "Description",
            "opens_at": (now + timedelta(days=1)).isoformat(), "closes_at": (now + timedelta(days=40)).isoformat(),
            "workflow_name": "application", "workflow_version": 1,
            "stages": [{"si_stage": "idea_generation", "envelope": "50000.00", "min_grant": "1000.00",
                        "max_grant": "10000.00"}],
            "form": small_form()}
    data.update(overrides)
    return data


@pytest.fixture
def officer(session):
    return make_user("officer")


@pytest.fixture
def programme(session):
    return make_programme()


def _published(client, officer, programme, **overrides):
    created = client.post("/api/v1/calls", json=_payload(programme, **overrides), headers=bearer(officer))
    assert created.status_code == 201, created.json
    published = client.post(f"/api/v1/calls/{created.json['id']}/publish", headers=bearer(officer))
    assert published.status_code == 200, published.json
    return published.json


def test_create_and_publish_freezes_version_one(client, session, officer, programme):
    created = client.post("/api/v1/calls", json=_payload(programme), headers=bearer(officer))
    assert created.status_code == 201, created.json
    assert created.json["status"] == "draft" and created.json["content_hash"] is None
    assert created.json["budget"] == "50000.00"
    call_id = created.json["id"]
    patched = client.patch(f"/api/v1/calls/{call_id}", json={"title_en": "Better call"}, headers=bearer(officer))
    assert patched.status_code == 200 and patched.json["title_en"] == "Better call"
    published = client.post(f"/api/v1/calls/{call_id}/publish", headers=bearer(officer))
    assert published.status_code == 200, published.json
    assert published.json["version"] == 1 and len(published.json["content_hash"]) == 64
    frozen = session.execute(sa.select(CallVersion).where(CallVersion.call_id == call_id)).scalar_one()
    assert frozen.version == 1 and frozen.content_hash == content_hash(frozen.snapshot)
    assert frozen.content_hash == published.json["content_hash"]
    assert frozen.snapshot["rules"] == [] and frozen.snapshot["rubric"]["criteria"]
    assert frozen.snapshot["stages"][0]["envelope"] == "50000.00" and frozen.snapshot["form"][0]["code"] == "about"
    assert client.get(f"/api/v1/calls/{call_id}").json["content_hash"] == frozen.content_hash
    actions = session.execute(sa.select(AuditEvent.action).where(AuditEvent.object_type == "call",
                                                                 AuditEvent.object_id == str(call_id))
                            .order_by(AuditEvent.id)).scalars()
    assert list(actions) == ["call.create", "call.update", "call.publish"]
    again = client.post(f"/api/v1/calls/{call_id}/publish", headers=bearer(officer))
    assert again.status_code == 409


def test_default_form_when_none_given(client, officer, programme):
    payload = _payload(programme)
    del payload["form"]
    created = client.post("/api/v1/calls", json=payload, headers=bearer(officer))
    assert created.status_code == 201 and len(created.json["form"]) > 5


def test_editing_a_published_call_is_a_conflict(client, officer, programme):
    call = _published(client, officer, programme)
    response = client.patch(f"/api/v1/calls/{call['id']}", json={"title_en": "Changed"}, headers=bearer(officer))
    assert response.status_code == 409


def test_corrigendum_makes_a_new_version_and_tells_drafting_applicants(client, session, officer, programme):
    published = _published(client, officer, programme)
    call = session.get(Call, published["id"])
    drafting = make_application(call)
    drafting_member = drafting.organisation.memberships[0].user
    colleague = make_user("applicant")
    from grants.organisations.models import Membership

    session.add(Membership(organisation=drafting.organisation, user=colleague, role="member"))
    submitted = make_application(call, state="submitted")
    make_organisation(make_user("applicant"))  # no application at all
    session.flush()
    new_deadline = (datetime.now(UTC) + timedelta(days=60)).replace(microsecond=0)
    response = client.post(f"/api/v1/calls/{call.id}/corrigenda", headers=bearer(officer),
                           json={"reason": "Termiņš pagarināts", "closes_at": new_deadline.isoformat()})
    assert response.status_code == 201, response.json
    assert response.json["version"] == 2 and response.json["content_hash"] != published["content_hash"]
    versions = client.get(f"/api/v1/calls/{call.id}/versions", headers=bearer(officer)).json
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["content_hash"] == published["content_hash"]
    assert versions[0]["content_hash"] == content_hash(versions[0]["snapshot"])
    assert versions[1]["snapshot"]["dates"]["closes_at"] == new_deadline.isoformat()
    session.expire_all()
    call = session.get(Call, call.id)
    assert call.version == 2 and call.closes_at == new_deadline and call.content_hash == versions[1]["content_hash"]
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "call.corrigendum")).scalar_one()
    assert event.comment == "Termiņš pagarināts" and "closes_at" in event.payload["changes"]["after"]
    messages = session.execute(sa.select(OutboxMessage).where(OutboxMessage.kind == "corrigendum")).scalars().all()
    assert sorted(m.to_address for m in messages) == sorted([drafting_member.email, colleague.email])
    submitted_member = submitted.organisation.memberships[0].user
    assert submitted_member.email not in {m.to_address for m in messages}
    assert call.code in messages[0].subject


def test_corrigendum_needs_a_reason_and_a_change(client, officer, programme):
    call = _published(client, officer, programme)
    url = f"/api/v1/calls/{call['id']}/corrigenda"
    assert client.post(url, json={"reason": ""}, headers=bearer(officer)).status_code == 422
    assert client.post(url, json={"reason": "Nothing"}, headers=bearer(officer)).status_code == 422
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    response = client.post(url, json={"reason": "Past", "closes_at": past}, headers=bearer(officer))
    assert response.status_code == 422 and "closes_at" in response.json["fields"]


def test_corrigendum_only_for_published_calls(client, officer, programme):
    created = client.post("/api/v1/calls", json=_payload(programme), headers=bearer(officer)).json
    response = client.post(f"/api/v1/calls/{created['id']}/corrigenda", json={"reason": "x", "description_en": "y"},
                           headers=bearer(officer))
    assert response.status_code == 409


@pytest.mark.parametrize(("overrides", "field"), [
    ({"closes_at": "2020-01-01T00:00:00+00:00"}, "closes_at"),
    ({"stages": [{"si_stage": "idea_generation", "envelope": "100", "min_grant": "10", "max_grant": "500"}]},
     "stages.0.envelope"),
    ({"stages": [{"si_stage": "idea_generation", "envelope": "1000", "min_grant": "600", "max_grant": "500"}]},
     "stages.0.max_grant"),
    ({"stages": [{"si_stage": "no_such_stage", "envelope": "1000", "min_grant": "0", "max_grant": "500"}]},
     "stages.0.si_stage"),
    ({"workflow_name": "nope"}, "workflow_name"),
    ({"workflow_name": "initiative"}, "workflow_name"),
    ({"form": [{"code": "x", "questions": [{"code": "q", "type": "no_such_type"}]}]}, "form."),
])
def test_validation_errors_name_the_field(client, officer, programme, overrides, field):
    response = client.post("/api/v1/calls", json=_payload(programme, **overrides), headers=bearer(officer))
    assert response.status_code == 422, response.json
    assert any(key.startswith(field) for key in response.json["fields"]), response.json


def test_code_must_be_unique(client, officer, programme):
    assert client.post("/api/v1/calls", json=_payload(programme), headers=bearer(officer)).status_code == 201
    response = client.post("/api/v1/calls", json=_payload(programme), headers=bearer(officer))
    assert response.status_code == 422 and "code" in response.json["fields"]


def test_applicants_may_not_set_up_calls(client, session, officer, programme):
    applicant = make_user("applicant")
    assert client.post("/api/v1/calls", json={}, headers=bearer(applicant)).status_code == 403
    assert client.post("/api/v1/calls", json={}).status_code == 401
    call = _published(client, officer, programme)
    for method, url in (("patch", f"/api/v1/calls/{call['id']}"), ("post", f"/api/v1/calls/{call['id']}/publish"),
                        ("post", f"/api/v1/calls/{call['id']}/corrigenda"),
                        ("get", f"/api/v1/calls/{call['id']}/versions")):
        assert getattr(client, method)(url, json={}, headers=bearer(applicant)).status_code == 403


def test_status_after_publication(client, session, officer, programme):
    call = _published(client, officer, programme)
    assert session.get(Call, call["id"]).status == CallStatus.PUBLISHED


# --- pages ----------------------------------------------------------------------------------------

def _page_data(html, programme, **overrides):
    from tests.conftest import csrf_token_from

    data = {"csrf_token": csrf_token_from(html), "programme_id": str(programme.id), "code": "SI-PAGE-1",
            "title_lv": "Lapas konkurss", "title_en": "Page call", "description_lv": "Apraksts",
            "description_en": "Description", "opens_at": "2026-12-01T12:00", "closes_at": "2027-02-01T18:00",
            "workflow": "application:1", "stages-1-include": "y",
            "stages-1-envelope": "50000", "stages-1-min_grant": "1000", "stages-1-max_grant": "10000"}
    for index, code in enumerate(programme.stages.codes):
        data[f"stages-{index}-si_stage"] = code
    data.update(overrides)
    return data


def test_pages_create_publish_and_correct_a_call(client, session, officer, programme):
    from tests.conftest import csrf_token_from
    from tests.factories import login

    login(client, officer)
    form_page = client.get("/calls/new")
    assert form_page.status_code == 200 and 'type="datetime-local"' in form_page.get_data(as_text=True)
    bad = client.post("/calls/new", data=_page_data(form_page.get_data(as_text=True), programme,
                                                    **{"stages-1-envelope": "100"}))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "SI-PAGE-1" in html, html
    assert 'id="stages-1-envelope-error"' in html, html[html.find("error-summary"):][:1500]
    response = client.post("/calls/new", data=_page_data(form_page.get_data(as_text=True), programme))
    assert response.status_code == 302, response.get_data(as_text=True)
    call = session.execute(sa.select(Call).where(Call.code == "SI-PAGE-1")).scalar_one()
    # 12:00 in Riga in winter (UTC+2) is 10:00 UTC.
    assert call.opens_at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert call.closes_at == datetime(2027, 2, 1, 16, 0, tzinfo=UTC)
    assert call.stage_codes == ["idea_generation"] and call.form
    edit = client.get(f"/calls/{call.id}/edit").get_data(as_text=True)
    assert 'value="2026-12-01T12:00"' in edit
    response = client.post(f"/calls/{call.id}/edit", data=_page_data(edit, programme, title_en="Edited call"))
    assert response.status_code == 302
    detail = client.get(f"/calls/{call.id}").get_data(as_text=True)
    response = client.post(f"/calls/{call.id}/publish", data={"csrf_token": csrf_token_from(detail)})
    assert response.status_code == 302
    session.expire_all()
    call = session.get(Call, call.id)
    assert call.status == CallStatus.PUBLISHED and call.title_en == "Edited call"
    assert call.content_hash in client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert client.get(f"/calls/{call.id}/edit").status_code == 302
    page = client.get(f"/calls/{call.id}/corrigendum").get_data(as_text=True)
    missing = client.post(f"/calls/{call.id}/corrigendum",
                          data={"csrf_token": csrf_token_from(page), "closes_at": "2027-03-01T18:00", "reason": ""})
    assert missing.status_code == 422 and 'id="reason-error"' in missing.get_data(as_text=True)
    response = client.post(f"/calls/{call.id}/corrigendum",
                           data={"csrf_token": csrf_token_from(page), "closes_at": "2027-03-01T18:00",
                                 "description_lv": "Apraksts", "description_en": "Description", "reason": "Pagarināts"})
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    call = session.get(Call, call.id)
    assert call.version == 2 and call.closes_at == datetime(2027, 3, 1, 16, 0, tzinfo=UTC)


def test_pages_are_for_officers(client, session, programme):
    from tests.factories import login

    login(client, make_user("applicant"))
    assert client.get("/calls/new").status_code == 403
