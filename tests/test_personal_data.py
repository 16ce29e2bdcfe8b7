"""A data subject's export and erasure (DESIGN §10; GDPR Art. 15, 17, 20): what the export holds
and never holds, who may ask, what erasure removes and what it keeps for retention, and that both
are audited without breaking the audit chain."""

import json

import sqlalchemy as sa

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.audit.services import verify_chain
from grants.core.security import verify_password
from grants.notifications.services import queue_message
from grants.organisations.models import Invitation, Membership
from grants.organisations.services import invite_member
from grants.users.models import ApiToken
from grants.users.services import find_user_by_email
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, bearer, login, make_application, make_organisation, make_user


def _person_with_records():
    """An applicant with an organisation, an application, an invitation each way, e-mail and tokens."""
    person = make_user(email="anna@example.lv", name="Anna Bērziņa")
    organisation = make_organisation(person, name="Biedrība Anna")
    application = make_application(organisation=organisation, title="Kopienas dārzs")
    application.created_by_id = person.id
    colleague = make_user(email="colleague@example.lv")
    other = make_organisation(colleague, name="Cita biedrība")
    invite_member(other, colleague, "anna@example.lv")  # to her, waiting
    invite_member(organisation, person, "friend@example.lv")  # by her
    queue_message("test", person, "Paziņojums", "Labdien, Anna!", language="lv")
    return person, organisation, application


def test_the_export_holds_what_the_service_knows_and_no_secret(client, session):
    person, organisation, application = _person_with_records()
    headers = bearer(person)
    response = client.get(f"/api/v1/users/{person.id}/personal-data", headers=headers)
    assert response.status_code == 200
    data = response.json
    assert data["account"]["email"] == "anna@example.lv" and data["account"]["name"] == "Anna Bērziņa"
    assert data["roles"] == ["applicant"]
    assert data["memberships"] == [{"organisation_id": organisation.id, "role": "owner",
                                    "since": data["memberships"][0]["since"]}]
    assert data["organisations"][0]["name"] == "Biedrība Anna"
    assert [a["id"] for a in data["applications"]] == [application.id]
    assert data["applications"][0]["title"] == "Kopienas dārzs" and data["applications"][0]["created_by_them"]
    invitations = {(i["email"], i["to_them"], i["sent_by_them"]) for i in data["invitations"]}
    assert invitations == {("anna@example.lv", True, False), ("friend@example.lv", False, True)}
    assert sorted(m["kind"] for m in data["emails"]) == ["invitation", "test"]  # the invitation to her too
    assert data["two_step_sign_in"]["enabled"] is False
    assert len(data["api_tokens"]) == 1
    actions = [event["action"] for event in data["audit_events"]]
    assert {"user.register", "api_token.issue", "organisation.invite"} <= set(actions)
    # no secret of any kind
    text = json.dumps(data)
    assert person.password_hash not in text and "argon2id$" not in text
    token_hash = session.execute(sa.select(ApiToken.token_hash)).scalars().first()
    assert token_hash not in text
    assert "payload" not in data["audit_events"][0]
    # and the export itself is recorded
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "user.personal_data_export")
                            ).scalar_one()
    assert event.actor_id == person.id and event.object_id == str(person.id) and event.role is None


def test_who_may_export(client, session):
    person = make_user(email="subject@example.lv")
    other = make_user(email="other@example.lv")
    officer = make_user("officer", email="officer-pd@example.lv")
    admin = make_user("admin", email="admin-pd@example.lv")
    path = f"/api/v1/users/{person.id}/personal-data"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer(other)).status_code == 403
    assert client.get(path, headers=bearer(officer)).status_code == 403
    # another person's id that does not exist: 403 too, so accounts cannot be counted
    assert client.get("/api/v1/users/999999/personal-data", headers=bearer(other)).status_code == 403
    admin_headers = bearer(admin)
    assert client.get(path, headers=admin_headers).status_code == 200
    assert client.get("/api/v1/users/999999/personal-data", headers=admin_headers).status_code == 404
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "user.personal_data_export")
                            ).scalar_one()
    assert event.actor_id == admin.id and event.role == "admin"


def test_everyone_downloads_their_own_data_from_the_account_page(client, session):
    person = make_user(email="self@example.lv", name="Pats")
    login(client, person)
    page = client.get("/account").get_data(as_text=True)
    assert "/account/personal-data.json" in page
    response = client.get("/account/personal-data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert json.loads(response.get_data(as_text=True))["account"]["name"] == "Pats"


def test_erasure_pseudonymises_and_keeps_what_retention_requires(client, session):
    person, organisation, application = _person_with_records()
    person_id, old_hash = person.id, person.password_hash
    person_headers = bearer(person)
    events_before = session.execute(sa.select(AuditEvent.id, AuditEvent.actor_label)
                                    .where(AuditEvent.actor_id == person_id)).all()
    admin = make_user("admin", email="eraser@example.lv")
    response = client.post(f"/api/v1/users/{person_id}/erasure", headers=bearer(admin),
                           json={"reason": "Request of 1 December 2026 (ticket 42)."})
    assert response.status_code == 200, response.json
    assert response.json["removed"]["memberships"] == 1 and response.json["removed"]["pending_invitations"] == 1
    assert response.json["kept"]["applications"] == 1
    session.expire_all()
    person = session.get(type(admin), person_id)
    # gone or pseudonymous
    assert person.name == f"Erased user {person_id}" and person.email == f"erased-{person_id}@invalid"
    assert person.erased_at is not None and not person.is_active and person.roles == []
    assert not verify_password(person.password_hash, PASSWORD) and person.password_hash != old_hash
    assert find_user_by_email("anna@example.lv") is None
    assert session.execute(sa.select(sa.func.count()).select_from(ApiToken)
                           .where(ApiToken.user_id == person_id)).scalar_one() == 0
    assert session.execute(sa.select(sa.func.count()).select_from(Membership)
                           .where(Membership.user_id == person_id)).scalar_one() == 0
    assert session.execute(sa.select(sa.func.count()).select_from(Invitation)
                           .where(Invitation.email == "anna@example.lv")).scalar_one() == 0
    assert client.get("/api/v1/me", headers=person_headers).status_code == 401
    assert client.post("/api/v1/auth/tokens", json={"email": "anna@example.lv", "password": PASSWORD}
                       ).status_code == 401
    # kept, linked to the pseudonymous account
    kept = session.get(Application, application.id)
    assert kept is not None and kept.created_by_id == person_id and kept.organisation_id == organisation.id
    # the audit trail is untouched and still verifies; the erasure is in it
    assert session.execute(sa.select(AuditEvent.id, AuditEvent.actor_label)
                           .where(AuditEvent.actor_id == person_id)).all() == events_before
    erase = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "user.erase")).scalar_one()
    assert erase.actor_id == admin.id and erase.role == "admin" and "ticket 42" in erase.comment
    assert "anna@example.lv" not in json.dumps(erase.payload)
    assert verify_chain().valid
    # the export now shows the pseudonym
    export = client.get(f"/api/v1/users/{person_id}/personal-data", headers=bearer(admin)).json
    assert export["account"]["email"] == f"erased-{person_id}@invalid" and export["account"]["erased_at"]


def test_who_may_erase(client, session):
    person = make_user(email="keepme@example.lv")
    admin = make_user("admin", email="admin-er@example.lv")
    officer = make_user("officer", email="officer-er@example.lv")
    body = {"reason": "Request."}
    assert client.post(f"/api/v1/users/{person.id}/erasure", json=body).status_code == 401
    assert client.post(f"/api/v1/users/{person.id}/erasure", headers=bearer(officer), json=body).status_code == 403
    assert client.post(f"/api/v1/users/{person.id}/erasure", headers=bearer(person), json=body).status_code == 403
    admin_headers = bearer(admin)
    assert client.post(f"/api/v1/users/{admin.id}/erasure", headers=admin_headers, json=body).status_code == 403
    missing = client.post(f"/api/v1/users/{person.id}/erasure", headers=admin_headers, json={})
    assert missing.status_code == 422 and "reason" in missing.json["fields"]
    blank = client.post(f"/api/v1/users/{person.id}/erasure", headers=admin_headers, json={"reason": "  "})
    assert blank.status_code == 422 and "reason" in blank.json["fields"]
    assert client.post("/api/v1/users/999999/erasure", headers=admin_headers, json=body).status_code == 404
    assert client.post(f"/api/v1/users/{person.id}/erasure", headers=admin_headers, json=body).status_code == 200
    again = client.post(f"/api/v1/users/{person.id}/erasure", headers=admin_headers, json=body)
    assert again.status_code == 409


def test_the_admin_pages_explain_and_erase(client, session):
    person = make_user(email="pageperson@example.lv", name="Lapas Persona")
    admin = make_user("admin", email="admin-page@example.lv")
    login(client, admin)
    listing = client.get("/admin/people/?q=PAGEPERSON").get_data(as_text=True)
    assert "Lapas Persona" in listing and "admin-page@example.lv" not in listing
    english = client.get(f"/admin/people/{person.id}?lang=en").get_data(as_text=True)
    assert "17(3)(b)" in english and "audit trail" in english and "five years" in english
    page = client.get(f"/admin/people/{person.id}?lang=lv").get_data(as_text=True)
    assert "17. panta 3. punkta b)" in page
    assert f"/admin/people/{person.id}/personal-data.json" in page
    token = csrf_token_from(page)
    unconfirmed = client.post(f"/admin/people/{person.id}/erasure",
                              data={"erasure-reason": "Request.", "csrf_token": token})
    assert unconfirmed.status_code == 422 and 'id="erasure-confirm-error"' in unconfirmed.get_data(as_text=True)
    done = client.post(f"/admin/people/{person.id}/erasure",
                       data={"erasure-reason": "Request.", "erasure-confirm": "y", "csrf_token": token})
    assert done.status_code == 302
    after = client.get(f"/admin/people/{person.id}").get_data(as_text=True)
    assert f"Erased user {person.id}" in after and "erasure-reason" not in after
    download = client.get(f"/admin/people/{person.id}/personal-data.json")
    assert download.status_code == 200 and download.json["account"]["erased_at"]


def test_only_administrators_see_the_people(client, session):
    officer = make_user("officer", email="officer-people@example.lv")
    login(client, officer)
    assert client.get("/admin/people/").status_code == 403
    assert client.get(f"/admin/people/{officer.id}").status_code == 403
    assert client.get(f"/admin/people/{officer.id}/personal-data.json").status_code == 403


def test_the_people_list_does_not_grow_its_statements_with_the_people(client, session, count_queries):
    admin = make_user("admin", email="admin-count@example.lv")
    login(client, admin)

    def statements() -> int:
        with count_queries() as counter:
            assert client.get("/admin/people/").status_code == 200
        return counter.count

    for number in range(3):
        make_user("officer", email=f"few-{number}@example.lv")
    few = statements()
    for number in range(20):
        make_user("officer", email=f"many-{number}@example.lv")
    session.flush()
    assert statements() == few
