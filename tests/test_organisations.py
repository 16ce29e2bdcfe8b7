"""Organisation profiles: created once, edited by members only."""

import sqlalchemy as sa

from grants.organisations.models import MemberRole, Membership, Organisation
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, bearer, make_organisation, make_user


def _login(client, user):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302


def test_create_organisation_on_the_page(client, session):
    user = make_user("applicant")
    _login(client, user)
    page = client.get("/organisations/new").get_data(as_text=True)
    response = client.post("/organisations/new", data={
        "csrf_token": csrf_token_from(page), "name": "Biedrība Saule", "registration_number": "40008123456",
        "legal_form": "association", "country": "lv", "region": "kurzeme"})
    assert response.status_code == 302
    organisation = session.execute(sa.select(Organisation)).scalar_one()
    assert (organisation.country, organisation.region, organisation.legal_form) == ("LV", "kurzeme", "association")
    membership = session.execute(sa.select(Membership)).scalar_one()
    assert membership.user_id == user.id and membership.role == MemberRole.OWNER
    assert "Biedrība Saule" in client.get("/organisations/").get_data(as_text=True)


def test_page_errors_keep_the_input(client, session):
    user = make_user("applicant")
    _login(client, user)
    page = client.get("/organisations/new").get_data(as_text=True)
    response = client.post("/organisations/new", data={
        "csrf_token": csrf_token_from(page), "name": "Biedrība bez reģiona", "registration_number": "40008123456",
        "legal_form": "not-a-form", "country": "LV", "region": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="Biedrība bez reģiona"' in html and 'id="legal_form-error"' in html
    assert session.execute(sa.select(sa.func.count()).select_from(Organisation)).scalar_one() == 0


def test_create_organisation_by_api_and_duplicate_registration_number(client, session):
    user = make_user("applicant")
    body = {"name": "Nodibinājums Zeme", "registration_number": "40008999999", "legal_form": "foundation",
            "region": "zemgale", "country": "LV"}
    response = client.post("/api/v1/organisations", json=body, headers=bearer(user))
    assert response.status_code == 201
    assert response.json["legal_form"] == "foundation" and response.json["region"] == "zemgale"
    other = make_user("applicant")
    again = client.post("/api/v1/organisations", json=body, headers=bearer(other))
    assert again.status_code == 422 and "registration_number" in again.json["fields"]
    me = client.get("/api/v1/me", headers=bearer(user)).json
    assert me["organisations"] == [{"id": response.json["id"], "name": "Nodibinājums Zeme"}]


def test_latvian_organisation_needs_a_planning_region(client, session):
    user = make_user("applicant")
    response = client.post("/api/v1/organisations", headers=bearer(user), json={
        "name": "X", "registration_number": "40008000000", "legal_form": "association", "country": "LV"})
    assert response.status_code == 422 and "region" in response.json["fields"]
    foreign = client.post("/api/v1/organisations", headers=bearer(user), json={
        "name": "Forening", "registration_number": "NO-123", "legal_form": "association", "country": "NO"})
    assert foreign.status_code == 201 and foreign.json["region"] is None


def test_only_members_may_see_or_edit_an_organisation(client, session):
    owner = make_user("applicant")
    organisation = make_organisation(owner)
    stranger = make_user("applicant")
    assert client.get(f"/api/v1/organisations/{organisation.id}", headers=bearer(stranger)).status_code == 404
    assert client.patch(f"/api/v1/organisations/{organisation.id}", headers=bearer(stranger),
                        json={"name": "Taken over"}).status_code == 404
    renamed = client.patch(f"/api/v1/organisations/{organisation.id}", headers=bearer(owner),
                           json={"name": "Jaunais nosaukums"})
    assert renamed.status_code == 200 and renamed.json["name"] == "Jaunais nosaukums"
    _login(client, stranger)
    assert client.get(f"/organisations/{organisation.id}/edit").status_code == 404


def test_staff_member_creating_an_organisation_becomes_an_applicant(session):
    evaluator = make_user("evaluator")
    make_organisation(evaluator)
    assert evaluator.has_role("applicant") and evaluator.has_role("evaluator")


def _events(session, object_type, object_id):
    from grants.audit.models import AuditEvent

    return session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == object_type,
                                                       AuditEvent.object_id == str(object_id))
                           .order_by(AuditEvent.id)).all()


def test_creating_and_editing_an_organisation_is_audited_field_by_field(client, session):
    owner = make_user("applicant")
    organisation = make_organisation(owner, name="Biedrība Sākums")
    created = _events(session, "organisation", organisation.id)
    assert [e.action for e in created] == ["organisation.create"]
    assert created[0].payload["after"]["name"] == "Biedrība Sākums" and created[0].actor_id == owner.id
    response = client.patch(f"/api/v1/organisations/{organisation.id}", headers=bearer(owner),
                            json={"name": "Biedrība Turpinājums", "region": "riga"})
    assert response.status_code == 200
    events = _events(session, "organisation", organisation.id)
    assert [e.action for e in events] == ["organisation.create", "organisation.update"]
    assert events[1].payload["changes"] == {"name": ["Biedrība Sākums", "Biedrība Turpinājums"]}
    client.patch(f"/api/v1/organisations/{organisation.id}", headers=bearer(owner), json={"region": "riga"})
    assert len(_events(session, "organisation", organisation.id)) == 2  # nothing changed, nothing logged


def test_a_role_given_is_audited(session):
    evaluator = make_user("evaluator")
    make_organisation(evaluator)
    roles = _events(session, "user", evaluator.id)
    assert [(e.action, e.payload.get("before"), e.payload.get("after")) for e in roles][-1] == (
        "user.roles", ["evaluator"], ["applicant", "evaluator"])
