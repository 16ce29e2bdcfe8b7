"""Role checks used by every view and endpoint."""

import pytest
from flask_login import login_user

from grants import create_app
from grants.core.security import roles_required
from grants.users.models import RoleCode
from tests.factories import make_user

ALL_ROLES = [role.value for role in RoleCode]


@pytest.fixture(scope="module")
def guarded_app(database_url):
    app = create_app("testing", DATABASE_URL=database_url, WTF_CSRF_ENABLED=False)

    @app.get("/only-officers")
    @roles_required("officer", "admin")
    def only_officers():
        return "ok"

    @app.get("/any-user")
    @roles_required()
    def any_user():
        return "ok"

    yield app
    with app.app_context():
        from grants.core.db import db

        db.engine.dispose()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_roles_required_allows_only_the_named_roles(guarded_app, app, session, role):
    user = make_user(role)
    with guarded_app.test_request_context():
        login_user(user)
        view = guarded_app.view_functions["only_officers"]
        if role in ("officer", "admin"):
            assert view() == "ok"
        else:
            from grants.core.errors import PermissionDenied

            with pytest.raises(PermissionDenied):
                view()
        assert guarded_app.view_functions["any_user"]() == "ok"


def test_anonymous_is_asked_to_sign_in(guarded_app):
    with guarded_app.test_client() as client:
        response = client.get("/only-officers")
        assert response.status_code == 401


@pytest.mark.parametrize("role, status", [(r, 201 if r == "applicant" else 403) for r in ALL_ROLES])
def test_api_role_table_for_creating_organisations(client, session, role, status):
    from tests.factories import bearer

    user = make_user(role)
    response = client.post("/api/v1/organisations", headers=bearer(user), json={
        "name": f"Org {role}", "registration_number": f"4000{ALL_ROLES.index(role):07d}",
        "legal_form": "association", "region": "riga"})
    assert response.status_code == status


def test_pages_that_need_an_account_redirect_to_login(client):
    for path in ("/dashboard/", "/organisations/", "/organisations/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
