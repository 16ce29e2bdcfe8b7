"""API tokens: issued, used, hashed at rest, revoked, expired; cookies do not count under /api."""

from datetime import timedelta

import sqlalchemy as sa

from grants.core.db import utcnow
from grants.core.security import token_digest
from grants.users.models import ApiToken
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, make_organisation, make_user


def test_token_for_good_credentials_and_me(client, session):
    user = make_user(email="me@example.lv", name="Marta")
    organisation = make_organisation(user, name="Biedrība Marta")
    response = client.post("/api/v1/auth/tokens", json={"email": "me@example.lv", "password": PASSWORD})
    assert response.status_code == 201
    token = response.json["token"]
    assert response.json["expires_at"].endswith("+00:00")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json == {"id": user.id, "email": "me@example.lv", "name": "Marta", "roles": ["applicant"],
                       "organisations": [{"id": organisation.id, "name": "Biedrība Marta"}]}


def test_token_is_stored_only_as_a_digest(client, session):
    make_user(email="digest@example.lv")
    token = client.post("/api/v1/auth/tokens", json={"email": "digest@example.lv", "password": PASSWORD}).json["token"]
    stored = session.execute(sa.select(ApiToken.token_hash)).scalars().all()
    assert stored == [token_digest(token)]
    assert token not in stored


def test_bad_credentials_get_401(client):
    make_user(email="bad@example.lv")
    response = client.post("/api/v1/auth/tokens", json={"email": "bad@example.lv", "password": "wrong-password"})
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_revoked_token_no_longer_works(client, session):
    make_user(email="revoke@example.lv")
    token = client.post("/api/v1/auth/tokens", json={"email": "revoke@example.lv", "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/v1/auth/tokens/current", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_expired_or_garbage_token_gets_401(client, session):
    make_user(email="old@example.lv")
    token = client.post("/api/v1/auth/tokens", json={"email": "old@example.lv", "password": PASSWORD}).json["token"]
    record = session.execute(sa.select(ApiToken)).scalar_one()
    record.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    for header in ("Bearer nonsense", "Basic abc", "Bearer ", token):
        assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401


def test_session_cookie_does_not_authenticate_the_api(client):
    make_user(email="cookie@example.lv")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": "cookie@example.lv", "password": PASSWORD, "csrf_token": token})
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/api/v1/me").status_code == 401
