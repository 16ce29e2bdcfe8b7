"""Members invite others by e-mail; the invited person joins with the link's token."""

import re

import sqlalchemy as sa

from grants.notifications.models import OutboxMessage
from grants.organisations.models import Invitation
from tests.conftest import csrf_token_from
from tests.factories import bearer, login, make_organisation, make_user


def _token_from_outbox(session, email):
    message = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.to_address == email)).one()
    return re.search(r"/organisations/invitations/([\w-]+)", message.body).group(1)


def test_a_member_invites_and_the_invited_person_joins(client, session):
    owner = make_user("applicant", name="Ieva Īpašniece")
    organisation = make_organisation(owner, name="Biedrība Kopā")
    invited = client.post(f"/api/v1/organisations/{organisation.id}/invitations", headers=bearer(owner),
                          json={"email": "Kolega@Example.lv"})
    assert invited.status_code == 201 and invited.json["email"] == "kolega@example.lv"
    token = _token_from_outbox(session, "kolega@example.lv")
    assert session.scalars(sa.select(Invitation)).one().token_digest != token  # only the digest is kept
    colleague = make_user("applicant", email="kolega@example.lv")
    wrong = make_user("applicant")
    refused = client.post("/api/v1/invitations/accept", headers=bearer(wrong), json={"token": token})
    assert refused.status_code == 422 and "token" in refused.json["fields"]
    joined = client.post("/api/v1/invitations/accept", headers=bearer(colleague), json={"token": token})
    assert joined.status_code == 200 and joined.json["role"] == "member"
    members = client.get(f"/api/v1/organisations/{organisation.id}/members", headers=bearer(colleague)).json
    assert sorted(m["email"] for m in members) == sorted([owner.email, "kolega@example.lv"])
    again = client.post("/api/v1/invitations/accept", headers=bearer(colleague), json={"token": token})
    assert again.status_code == 422  # used once


def test_invitations_are_refused_clearly(client, session):
    owner = make_user("applicant")
    organisation = make_organisation(owner)
    member_again = client.post(f"/api/v1/organisations/{organisation.id}/invitations", headers=bearer(owner),
                               json={"email": owner.email})
    assert member_again.status_code == 422 and "email" in member_again.json["fields"]
    bad = client.post(f"/api/v1/organisations/{organisation.id}/invitations", headers=bearer(owner),
                      json={"email": "nav-epasts"})
    assert bad.status_code == 422
    stranger = client.post(f"/api/v1/organisations/{organisation.id}/invitations",
                           headers=bearer(make_user("applicant")), json={"email": "x@example.lv"})
    assert stranger.status_code == 404
    assert client.post("/api/v1/invitations/accept", headers=bearer(owner),
                       json={"token": "nederīgs-marķieris"}).status_code == 422


def test_the_invitation_link_works_on_the_pages(client, session, app):
    owner = make_user("applicant")
    organisation = make_organisation(owner, name="Biedrība Lapas")
    login(client, owner)
    page = client.get("/organisations/").get_data(as_text=True)
    not_an_address = client.post(f"/organisations/{organisation.id}/invite", follow_redirects=True,
                                 data={"csrf_token": csrf_token_from(page), "email": "nav epasts"})
    assert "Ievadiet derīgu e-pasta adresi." in not_an_address.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
    response = client.post(f"/organisations/{organisation.id}/invite",
                           data={"csrf_token": csrf_token_from(page), "email": "jauns@example.lv"})
    assert response.status_code == 302
    token = _token_from_outbox(session, "jauns@example.lv")
    newcomer = make_user("applicant", email="jauns@example.lv")
    other = app.test_client()
    login(other, newcomer)
    page = other.get(f"/organisations/invitations/{token}").get_data(as_text=True)
    assert "Biedrība Lapas" in page
    joined = other.post(f"/organisations/invitations/{token}", data={"csrf_token": csrf_token_from(page)})
    assert joined.status_code == 302 and newcomer.is_member_of(organisation.id)
