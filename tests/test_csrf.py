"""Every HTML form refuses a POST without the CSRF token, and loses nothing."""

import pytest
import sqlalchemy as sa

from grants.organisations.models import Organisation
from tests.factories import PASSWORD, make_user


@pytest.mark.parametrize("path", ["/login", "/register", "/organisations/new", "/logout"])
def test_post_without_csrf_token_is_refused(client, session, path):
    user = make_user(email="csrf@example.lv")
    client.get("/language/en")
    if path.startswith(("/organisations", "/logout")):
        with client.session_transaction() as browser_session:
            browser_session["_user_id"] = str(user.id)
            browser_session["_fresh"] = True
    response = client.post(path, data={"email": "csrf@example.lv", "password": PASSWORD, "name": "Org",
                                       "registration_number": "40000000009", "legal_form": "association",
                                       "country": "LV", "region": "riga"})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    assert session.execute(sa.select(sa.func.count()).select_from(Organisation)).scalar_one() == 0


def test_api_needs_no_csrf_token_because_cookies_do_not_authenticate_there(client):
    response = client.post("/api/v1/users", json={"email": "api@example.lv", "password": "long-enough-pw",
                                                  "name": "API"})
    assert response.status_code == 201
