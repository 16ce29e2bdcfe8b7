"""Errors keep the contract's shape under /api and are friendly pages elsewhere."""

import pytest
import sqlalchemy.exc

import grants.api.applications as application_endpoints
from tests.factories import bearer, make_application, make_organisation, make_user


def _assert_error_shape(response, status, code):
    assert response.status_code == status
    assert response.is_json
    assert response.json["error"] == code
    assert isinstance(response.json["message"], str) and response.json["message"]
    assert isinstance(response.json["fields"], dict)


def test_401_without_token(client):
    _assert_error_shape(client.get("/api/v1/me"), 401, "unauthorized")


def test_403_for_a_role_that_may_not(client, session):
    evaluator = make_user("evaluator")
    response = client.post("/api/v1/organisations", headers=bearer(evaluator),
                           json={"name": "X", "registration_number": "40000000001", "legal_form": "association",
                                 "region": "riga"})
    _assert_error_shape(response, 403, "forbidden")


def test_404_unknown_path_and_object(client):
    _assert_error_shape(client.get("/api/v1/no-such-thing"), 404, "not_found")
    _assert_error_shape(client.get("/api/v1/calls/999999"), 404, "not_found")


def test_422_lists_the_fields(client, session):
    applicant = make_user("applicant")
    response = client.post("/api/v1/organisations", headers=bearer(applicant),
                           json={"name": "", "legal_form": "pirate_ship", "region": "mars"})
    _assert_error_shape(response, 422, "validation_error")
    assert set(response.json["fields"]) == {"name", "legal_form", "region", "registration_number"}


@pytest.mark.parametrize("body, content_type", [("{not json", "application/json"), ("", "application/json"),
                                                ("\xff\xfe", "application/json")])
def test_malformed_json_is_a_clear_400(client, body, content_type):
    response = client.post("/api/v1/auth/tokens", data=body, content_type=content_type)
    assert response.status_code in (400, 422)
    assert response.is_json and response.json["error"] in ("bad_request", "validation_error")


def test_json_of_the_wrong_shape_is_422(client):
    _assert_error_shape(client.post("/api/v1/auth/tokens", json=[1, 2, 3]), 422, "validation_error")
    _assert_error_shape(client.post("/api/v1/auth/tokens", json={"email": 5, "password": None}), 422,
                        "validation_error")


def test_bad_query_parameters_are_422(client):
    response = client.get("/api/v1/calls?per_page=100000&page=0&status=whatever")
    _assert_error_shape(response, 422, "validation_error")
    assert set(response.json["fields"]) == {"per_page", "page", "status"}


def test_method_not_allowed_is_json_under_api(client):
    _assert_error_shape(client.delete("/api/v1/calls"), 405, "method_not_allowed")


def test_html_errors_are_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<main" in response.get_data(as_text=True)


def test_error_messages_follow_accept_language(client):
    lv = client.get("/api/v1/me", headers={"Accept-Language": "lv"}).json["message"]
    en = client.get("/api/v1/me", headers={"Accept-Language": "en"}).json["message"]
    default = client.get("/api/v1/me").json["message"]
    assert en == "Please sign in."
    assert lv != en and default == lv


def test_authentication_comes_before_validation(client, session):
    """Without a token a malformed body is not looked at: 401, not 422 (API.md)."""
    assert client.post("/api/v1/organisations", json={"name": 5}).status_code == 401
    assert client.get("/api/v1/audit/events?page=zero").status_code == 401


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_writer_that_loses_a_race_gets_409_not_500(client, session, monkeypatch):
    """A deadlock, serialisation failure or busy SQLite is a conflict to retry, not a crash."""
    applicant = make_user("applicant")
    application = make_application(organisation=make_organisation(applicant))

    def lose(*args, **kwargs):
        raise sqlalchemy.exc.OperationalError("UPDATE applications", {}, _Deadlock("deadlock detected"))

    monkeypatch.setattr(application_endpoints, "act_on_application", lose)
    response = client.post(f"/api/v1/applications/{application.id}/transitions", headers=bearer(applicant),
                           json={"trigger": "submit"})
    assert response.status_code == 409 and response.json["error"] == "conflict"

    def broken(*args, **kwargs):
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("disk I/O error"))

    monkeypatch.setattr(application_endpoints, "act_on_application", broken)
    with pytest.raises(sqlalchemy.exc.OperationalError):  # anything else is a real error (re-raised in tests)
        client.post(f"/api/v1/applications/{application.id}/transitions", headers=bearer(applicant),
                    json={"trigger": "submit"})


def test_the_site_icon_is_served_where_pages_and_browsers_look_for_it(client):
    page = client.get("/calls/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
    for path in ("/favicon.ico", "/static/img/favicon.svg"):
        icon = client.get(path, buffered=True)
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert icon.get_data(as_text=True).startswith("<svg ")
