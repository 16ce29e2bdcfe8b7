"""Administrators give people their roles and open or close their accounts, on the person's page and through
the API; audited; never locking themselves out."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.users.models import User
from tests.conftest import csrf_token_from
from tests.factories import bearer, login, make_user

URL = "/api/v1/users"
EN = {"Accept-Language": "en"}


@pytest.fixture
def admin(session):
    user = make_user("admin", name="Anna Administratore")
    session.commit()
    return user


def _actions(session, user: User) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id),
        AuditEvent.action.in_(("user.roles", "user.activate", "user.deactivate"))).order_by(AuditEvent.id)))


def test_the_api_lists_people_by_text_and_role(client, session, admin):
    make_user("applicant", name="Jānis Bērziņš")
    make_user("evaluator", name="Līga Ozola")
    session.commit()
    body = client.get(URL, query_string={"q": "bērz"}, headers=bearer(admin)).get_json()
    assert [person["name"] for person in body["items"]] == ["Jānis Bērziņš"]
    assert body["items"][0]["roles"] == ["applicant"] and body["items"][0]["active"] is True
    body = client.get(URL, query_string={"role": "evaluator"}, headers=bearer(admin)).get_json()
    assert [person["name"] for person in body["items"]] == ["Līga Ozola"]
    assert client.get(URL, query_string={"role": "king"}, headers=bearer(admin)).status_code == 422


def test_roles_are_given_and_an_account_closed_through_the_api(client, session, admin):
    person = make_user("applicant")
    token = bearer(person)
    session.commit()
    response = client.put(f"{URL}/{person.id}/access", json={"roles": ["evaluator", "applicant"], "active": True},
                          headers=bearer(admin))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["roles"] == ["applicant", "evaluator"]
    assert client.get("/api/v1/me", headers=token).status_code == 200

    response = client.put(f"{URL}/{person.id}/access", json={"roles": ["evaluator"], "active": False},
                          headers=bearer(admin))
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert client.get("/api/v1/me", headers=token).status_code == 401  # a closed account's tokens stop working
    assert _actions(session, person) == ["user.roles", "user.roles", "user.deactivate"]
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.deactivate"))
    assert event.actor_id == admin.id


@pytest.mark.parametrize("body, fields", [
    ({"roles": ["king"], "active": True}, {"roles"}),
    ({"roles": [], "active": True}, {"roles"}),
    ({"roles": ["applicant"]}, {"active"}),
    ({"roles": "applicant", "active": True}, {"roles"}),
])
def test_bad_access_changes_are_refused_naming_the_field(client, session, admin, body, fields):
    person = make_user("applicant")
    session.commit()
    response = client.put(f"{URL}/{person.id}/access", json=body, headers={**bearer(admin), **EN})
    assert response.status_code == 422 and set(response.get_json()["fields"]) == fields
    session.expire_all()
    assert session.get(User, person.id).role_codes == ["applicant"]
    assert _actions(session, person) == []


def test_an_administrator_cannot_lock_themselves_out(client, session, admin):
    response = client.put(f"{URL}/{admin.id}/access", json={"roles": ["officer"], "active": False},
                          headers={**bearer(admin), **EN})
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert fields["roles"] == ["You cannot take the administrator role from yourself."]
    assert fields["active"] == ["You cannot close your own account."]
    assert client.put(f"{URL}/999999/access", json={"roles": ["applicant"], "active": True},
                      headers=bearer(admin)).status_code == 404


def test_only_administrators_change_access(client, session):
    officer = make_user("officer")
    person = make_user("applicant")
    session.commit()
    assert client.get(URL, headers=bearer(officer)).status_code == 403
    assert client.put(f"{URL}/{person.id}/access", json={"roles": ["admin"], "active": True},
                      headers=bearer(officer)).status_code == 403


def test_the_persons_page_changes_roles_and_access(client, session, admin):
    person = make_user("applicant", name="Pēteris Kalniņš")
    session.commit()
    login(client, admin)
    html = client.get(f"/admin/people/{person.id}", query_string={"lang": "en"}).get_data(as_text=True)
    assert "Roles and access" in html
    boxes = {re.search(r'value="(\w+)"', tag).group(1): "checked" in tag
             for tag in re.findall(r'<input[^>]*name="access-roles"[^>]*>', html)}
    assert boxes == {"applicant": True, "evaluator": False, "officer": False, "committee": False, "finance": False,
                     "auditor": False, "admin": False}
    token = csrf_token_from(html)
    response = client.post(f"/admin/people/{person.id}/access", data={"csrf_token": token,
                                                                      "access-roles": ["officer", "evaluator"],
                                                                      "access-active": "y"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(User, person.id).role_codes == ["evaluator", "officer"]

    response = client.post(f"/admin/people/{person.id}/access", data={"csrf_token": token, "access-active": "y"})
    assert response.status_code == 422
    assert "Piešķiriet kontam vismaz vienu lomu." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, person.id).role_codes == ["evaluator", "officer"]
