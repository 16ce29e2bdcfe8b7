"""Registration, sign-in, throttling, lockout, sign-out."""

import sqlalchemy as sa

from grants.users.models import User
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, make_user


def _post_form(client, path, data):
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def test_registration_creates_an_applicant_with_an_argon2_hash(client, session):
    response = _post_form(client, "/register", {"name": "Anna Bērziņa", "email": "Anna@Example.LV",
                                                "password": "long-enough-pw", "password_again": "long-enough-pw"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/organisations/new")
    user = session.execute(sa.select(User).where(User.email == "anna@example.lv")).scalar_one()
    assert user.role_codes == ["applicant"]
    assert user.password_hash.startswith("$argon2id$")
    assert "long-enough-pw" not in user.password_hash
    # signed in straight away
    assert client.get("/dashboard/").status_code == 200


def test_registration_errors_are_shown_next_to_fields_and_keep_input(client, session):
    make_user(email="taken@example.lv")
    response = _post_form(client, "/register", {"name": "Jānis", "email": "taken@example.lv",
                                                "password": "short", "password_again": "other"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html and 'id="password-error"' in html and 'id="password_again-error"' in html
    assert 'value="Jānis"' in html  # nothing typed is lost
    assert session.execute(sa.select(sa.func.count()).select_from(User)).scalar_one() == 1


def test_api_registration(client, session):
    response = client.post("/api/v1/users", json={"email": "new@example.lv", "password": "long-enough-pw",
                                                  "name": "Jauns Lietotājs"})
    assert response.status_code == 201
    assert response.json["roles"] == ["applicant"] and response.json["email"] == "new@example.lv"
    again = client.post("/api/v1/users", json={"email": "NEW@example.lv", "password": "long-enough-pw", "name": "X"})
    assert again.status_code == 422 and "email" in again.json["fields"]
    weak = client.post("/api/v1/users", json={"email": "w@example.lv", "password": "short", "name": "X"})
    assert weak.status_code == 422 and "password" in weak.json["fields"]


def test_api_registration_cannot_choose_roles(client):
    response = client.post("/api/v1/users", json={"email": "sneaky@example.lv", "password": "long-enough-pw",
                                                  "name": "X", "roles": ["admin"]})
    assert response.status_code == 422 and "roles" in response.json["fields"]


def test_login_and_logout(client, session):
    user = make_user(email="login@example.lv")
    response = _post_form(client, "/login", {"email": "LOGIN@example.lv", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/")
    session.refresh(user)
    assert user.last_login_at is not None
    page = client.get("/dashboard/").get_data(as_text=True)
    assert user.name in page
    # sign-out is a POST with a CSRF token, never a link a third party can trigger
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client):
    make_user(email="who@example.lv")
    response = _post_form(client, "/login", {"email": "who@example.lv", "password": "not-the-password"})
    assert response.status_code == 401
    assert "password-error" in response.get_data(as_text=True)


def test_login_redirects_only_to_local_pages(client):
    make_user(email="next@example.lv")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=https://evil.example/", data={"email": "next@example.lv",
                                                                     "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/dashboard/")


def test_login_attempts_are_throttled_per_client(client, app):
    make_user(email="throttle@example.lv")
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    statuses = [client.post("/login", data={"email": "throttle@example.lv", "password": "wrong-password",
                                            "csrf_token": token}).status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [401] * limit
    assert statuses[limit] == 429
    # the form itself still shows, in the error page's language
    assert client.get("/login").status_code == 200


def test_api_token_requests_are_throttled(client, app):
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    statuses = [client.post("/api/v1/auth/tokens", json={"email": "none@example.lv", "password": "x"}).status_code
                for _ in range(limit + 1)]
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {401}


def test_account_locks_after_repeated_failures(app, session):
    from grants.users.services import authenticate

    user = make_user(email="lock@example.lv")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert authenticate("lock@example.lv", "wrong-password") is None
    assert user.is_locked()
    assert authenticate("lock@example.lv", PASSWORD) is None  # even the right password, for now
    user.locked_until = None
    assert authenticate("lock@example.lv", PASSWORD) is user
    assert user.failed_logins == 0


def test_inactive_account_cannot_sign_in(app, session):
    from grants.users.services import authenticate

    user = make_user(email="gone@example.lv")
    user.is_active_account = False
    assert authenticate("gone@example.lv", PASSWORD) is None
