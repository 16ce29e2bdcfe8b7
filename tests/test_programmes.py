"""Programmes: the API (list, read, create, change) and the pages (list, dashboard, forms); audited changes, every
wrong field named, the budget never below what the calls hold, the stage model fixed once there are calls."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.calls.models import Programme
from grants.initiatives.stages import STAGE_MODELS
from tests.conftest import csrf_token_from
from tests.factories import bearer, login, make_application, make_call, make_programme, make_user

URL = "/api/v1/programmes"
EN = {"Accept-Language": "en"}
NEW = {"code": "SI-NEW-1", "title_lv": "Jaunā programma", "title_en": "The new programme", "fund_source": "national",
       "budget": "250000.00", "starts_on": "2027-01-01", "ends_on": "2029-12-31"}


@pytest.fixture
def officer(session):
    user = make_user("officer")
    session.commit()
    return user


def _events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_the_api_lists_programmes_with_what_their_calls_hold(client, session, officer):
    programme = make_programme(budget=Decimal("500000.00"))
    make_call(programme, budget=Decimal("120000.00"))
    make_call(programme, budget=Decimal("30000.50"))
    empty = make_programme()
    session.commit()
    body = client.get(URL, headers=bearer(officer)).get_json()
    rows = {row["id"]: row for row in body["items"]}
    assert rows[programme.id]["allocated"] == "150000.50" and rows[programme.id]["unallocated"] == "349999.50"
    assert rows[empty.id]["allocated"] == "0.00"
    one = client.get(f"{URL}/{programme.id}", headers=bearer(officer)).get_json()
    assert [call["budget"] for call in one["calls"]] == ["120000.00", "30000.50"]
    assert one["fund_source"] == "esf_plus" and one["budget"] == "500000.00"
    assert client.get(f"{URL}/999999", headers=bearer(officer)).status_code == 404


def test_the_api_creates_a_programme_and_audits_it(client, session, officer):
    response = client.post(URL, json=NEW, headers=bearer(officer))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["code"] == "SI-NEW-1" and created["stage_model"] and created["currency"] == "EUR"
    assert created["allocated"] == "0.00" and created["calls"] == []
    [event] = _events(session, "programme.create")
    assert event.object_id == str(created["id"]) and event.payload["budget"] == "250000.00"


@pytest.mark.parametrize("change, fields", [
    ({"budget": "12.345"}, {"budget"}),
    ({"budget": "-1"}, {"budget"}),
    ({"budget": "NaN"}, {"budget"}),
    ({"ends_on": "2026-12-31"}, {"ends_on"}),
    ({"fund_source": "lottery"}, {"fund_source"}),
    ({"stage_model": "unknown"}, {"stage_model"}),
    ({"currency": "USD"}, {"currency"}),
    ({"code": ""}, {"code"}),
    ({"colour": "red"}, {"colour"}),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(client, session, officer, change, fields):
    before = session.scalar(sa.select(sa.func.count(Programme.id)))
    response = client.post(URL, json={**NEW, **change}, headers={**bearer(officer), **EN})
    assert response.status_code == 422
    body = response.get_json()
    assert set(body["fields"]) == fields and body["message"]
    assert session.scalar(sa.select(sa.func.count(Programme.id))) == before


def test_a_code_is_unique(client, session, officer):
    make_programme(code="SI-TAKEN")
    session.commit()
    response = client.post(URL, json={**NEW, "code": "SI-TAKEN"}, headers={**bearer(officer), **EN})
    assert response.status_code == 422
    assert response.get_json()["fields"]["code"] == ["Another programme already has this code."]


def test_a_change_keeps_the_budget_above_the_calls_and_the_stage_model_fixed(client, session, officer):
    programme = make_programme(budget=Decimal("200000.00"))
    make_call(programme, budget=Decimal("150000.00"))
    session.commit()
    headers = {**bearer(officer), **EN}
    response = client.patch(f"{URL}/{programme.id}", json={"budget": "149999.99"}, headers=headers)
    assert response.status_code == 422
    assert "150000.00" in response.get_json()["fields"]["budget"][0]
    response = client.patch(f"{URL}/{programme.id}", json={"stage_model": "nesta"}, headers=headers)
    assert response.status_code == 422 and set(response.get_json()["fields"]) == {"stage_model"}

    response = client.patch(f"{URL}/{programme.id}", json={"budget": "150000.00", "title_en": "Renamed"},
                            headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["unallocated"] == "0.00"
    [event] = _events(session, "programme.update")
    assert event.payload == {"before": {"budget": "200000.00", "title_en": programme.title_en},
                             "after": {"budget": "150000.00", "title_en": "Renamed"}}
    assert client.patch(f"{URL}/{programme.id}", json={}, headers=headers).status_code == 200
    assert len(_events(session, "programme.update")) == 1  # nothing changed: nothing recorded


@pytest.mark.parametrize("role, read, write", [
    ("applicant", 403, 403), ("evaluator", 403, 403), ("committee", 200, 403), ("finance", 200, 403),
    ("auditor", 200, 403), ("admin", 200, 201),
])
def test_who_may_read_and_change(client, session, role, read, write):
    user = make_user(role)
    session.commit()
    assert client.get(URL, headers=bearer(user)).status_code == read
    assert client.post(URL, json=NEW, headers=bearer(user)).status_code == write
    assert client.get(URL).status_code == 401


# --- pages ------------------------------------------------------------------------------------------------------

def test_the_list_and_the_dashboard_show_the_money_and_the_calls(client, session, officer):
    programme = make_programme(budget=Decimal("400000.00"), title_lv="Kopienu programma")
    call = make_call(programme, budget=Decimal("100000.00"))
    make_application(call)
    session.commit()
    login(client, officer)
    html = client.get("/programmes/").get_data(as_text=True)
    assert "Kopienu programma" in html and "300 000,00" in html.replace("\u00a0", " ")
    page = client.get(f"/programmes/{programme.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-call="{call.id}"' in html and 'data-chart="programme-money"' in html
    assert 'data-chart="programme-funnel"' in html and 'data-chart="programme-calls"' in html
    assert client.get("/programmes/999999").status_code == 404


def test_a_new_programme_from_the_form_and_bad_input_kept(client, session, officer):
    login(client, officer)
    token = csrf_token_from(client.get("/programmes/new").get_data(as_text=True))
    typed = {"csrf_token": token, "code": "SI-FORM", "title_lv": "Programma", "title_en": "Programme",
             "fund_source": "eea_norway", "budget": "1 000,555", "starts_on": "2027-01-01", "ends_on": "2026-01-01",
             "stage_model": next(iter(STAGE_MODELS))}
    response = client.post("/programmes/new", data=typed, query_string={"lang": "en"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "with at most two decimals" in html and 'value="1 000,555"' in html and 'value="SI-FORM"' in html
    assert session.scalar(sa.select(Programme.id).where(Programme.code == "SI-FORM")) is None

    response = client.post("/programmes/new", data={**typed, "budget": "1 000,55", "ends_on": "2029-01-01"})
    assert response.status_code == 302
    created = session.scalar(sa.select(Programme).where(Programme.code == "SI-FORM"))
    assert created.budget == Decimal("1000.55")
    edit = client.get(f"/programmes/{created.id}/edit").get_data(as_text=True)
    assert 'value="1000.55"' in edit
    response = client.post(f"/programmes/{created.id}/edit", data={**typed, "budget": "2000", "ends_on": "2029-01-01"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Programme, created.id).budget == Decimal("2000.00")
    assert [event.action for event in _events(session, "programme.update")] == ["programme.update"]


def test_the_forms_are_for_officers_and_administrators(client, session):
    login(client, make_user("auditor"))
    assert client.get("/programmes/").status_code == 200
    assert client.get("/programmes/new").status_code == 403


def test_the_dashboard_statements_do_not_grow_with_calls_and_applications(client, session, officer, count_queries):
    programme = make_programme()
    make_application(make_call(programme))
    session.commit()
    login(client, officer)
    client.get(f"/programmes/{programme.id}")
    with count_queries() as few:
        assert client.get(f"/programmes/{programme.id}").status_code == 200
    for _ in range(3):
        call = make_call(programme, budget=Decimal("1000.00"))
        for _ in range(3):
            make_application(call)
    session.commit()
    client.get(f"/programmes/{programme.id}")
    with count_queries() as many:
        assert client.get(f"/programmes/{programme.id}").status_code == 200
    assert many.count == few.count
