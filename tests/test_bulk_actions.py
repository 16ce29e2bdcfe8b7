"""Bulk actions on the applications list (officers and administrators): a checkbox per row and "select all on this
page"; assigning evaluators to the ticked applications (each in evaluation gets what its round still needs, as the
call's automatic assignment does, every assignment audited; the others are told why not), and the ticked rows as
CSV (the applications export's columns, audited as an export). Pages and API (`/api/v1/applications/bulk/…`)."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from grants.audit.models import AuditEvent
from grants.core.db import db
from grants.core.tabular import csv_chunks
from grants.evaluations.models import Assignment
from grants.evaluations.services import auto_assign
from grants.exports.datasets import APPLICATION_COLUMNS, DATASETS
from grants.organisations.models import Membership
from tests.conftest import csrf_token_from
from tests.factories import (
    bearer,
    in_evaluation,
    login,
    make_application,
    make_evaluation_call,
    make_pool,
    make_user,
)


@pytest.fixture
def people(app):
    return {role: make_user(role) for role in ("officer", "admin", "auditor", "committee", "finance", "evaluator")}


@pytest.fixture
def world(app, people):
    """Call A with a pool of three evaluators: ``ready`` and ``twin`` in evaluation with no evaluators, ``done``
    in evaluation with its two, ``draft`` a draft; call B with an empty pool: ``lonely`` in evaluation. One pool
    member belongs to ``twin``'s organisation (never assigned to it)."""
    officer = people["officer"]
    a, b = make_evaluation_call(), make_evaluation_call()
    pool = make_pool(a, 3, officer)
    ready, twin, done = (in_evaluation(a, officer, title=title) for title in ("Gatavs", "Dvīnis", "Pabeigts"))
    db.session.add(Membership(user_id=pool[0].id, organisation_id=twin.organisation_id, role="member"))
    auto_assign(a, officer, only={done.id})
    draft = make_application(a, title="Melnraksts")
    lonely = in_evaluation(b, officer, title="Vientuļš")
    db.session.flush()
    return {"a": a, "b": b, "pool": pool, "ready": ready, "twin": twin, "done": done, "draft": draft,
            "lonely": lonely}


def _assignments(application) -> list[Assignment]:
    return list(db.session.scalars(sa.select(Assignment).where(Assignment.application_id == application.id)
                                   .order_by(Assignment.id)).unique())


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _form(client, path="/applications/") -> tuple[str, str]:
    html = client.get(path).get_data(as_text=True)
    (back,) = re.findall(r'name="back" value="([^"]*)"', html)
    return csrf_token_from(html), back.replace("&amp;", "&")


# --- the page ------------------------------------------------------------------------------------------------

def test_officers_and_admins_tick_rows_others_do_not(client, people, world):
    ids = {world[key].id for key in ("ready", "twin", "done", "draft", "lonely")}
    for role in ("officer", "admin"):
        login(client, people[role])
        html = client.get("/applications/").get_data(as_text=True)
        ticks = {int(i) for i in re.findall(r'<input type="checkbox" name="ids" value="(\d+)" form="bulk"', html)}
        assert ids <= ticks
        assert 'action="/exports/applications/selected"' in html and 'formaction="/calls/assignments/auto"' in html
        assert 'data-select-all="ids"' in html and "js/select-all.js" in html
        assert " checked" not in html.split("<tbody>")[1]
        # without scripts: a link shows the page with every row ticked, the filters kept
        (link,) = re.findall(r'href="([^"]+)" data-select-all-link', client.get(
            f"/applications/?call_id={world['a'].id}&sort=title").get_data(as_text=True))
        assert parse_qs(urlsplit(link.replace("&amp;", "&")).query) == {
            "select": ["all"], "call_id": [str(world["a"].id)], "sort": ["title"]}
        ticked = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
        rows = ticked.split("<tbody>")[1]
        assert rows.count('name="ids"') == rows.count(" checked") == 4
        client.post("/logout", data={"csrf_token": csrf_token_from(html)})
    for role in ("auditor", "committee", "finance"):
        login(client, people[role])
        html = client.get("/applications/").get_data(as_text=True)
        assert 'name="ids"' not in html and "/calls/assignments/auto" not in html
        client.post("/logout", data={"csrf_token": csrf_token_from(html)})


def test_assigning_the_ticked_applications_from_the_page(client, people, world):
    officer = people["officer"]
    login(client, officer)
    token, back = _form(client, f"/applications/?call_id={world['a'].id}&sort=title&page=1")
    assert parse_qs(back) == {"call_id": [str(world["a"].id)], "sort": ["title"]}
    chosen = [world[key].id for key in ("ready", "twin", "done", "draft", "lonely")]
    response = client.post("/calls/assignments/auto?lang=en", data={"csrf_token": token, "back": back,
                                                                     "ids": chosen})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/applications/" and parse_qs(location.query) == parse_qs(back)  # the list as it was
    pool = {p.id for p in world["pool"]}
    for key in ("ready", "twin"):  # two evaluators each, from the call's pool, least loaded first
        assert len(_assignments(world[key])) == 2 and {a.evaluator_id for a in _assignments(world[key])} <= pool
    assert world["pool"][0].id not in {a.evaluator_id for a in _assignments(world["twin"])}  # a member: never
    assert len(_assignments(world["done"])) == 2 and _assignments(world["lonely"]) == []
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Evaluators assigned (how many): #{world['ready'].id} (2), #{world['twin'].id} (2)." in html
    assert f"These already have the evaluators they need: #{world['done'].id}." in html
    assert f"Not in evaluation or at a stage gate, so nothing was assigned: #{world['draft'].id}." in html
    assert f"may evaluate these (how many are missing): #{world['lonely'].id} (2)." in html


def test_the_page_refuses_an_empty_or_foreign_selection_and_keeps_the_list(client, people, world):
    login(client, people["officer"])
    token, _back = _form(client)
    back = "state=in_evaluation&sort=amount_asc&page=2"
    for ids in ([], ["abc"], [999999], list(range(1, 203))):
        response = client.post("/calls/assignments/auto", data={"csrf_token": token, "back": back, "ids": ids})
        assert response.status_code == 302
        assert parse_qs(urlsplit(response.headers["Location"]).query) == {
            "state": ["in_evaluation"], "sort": ["amount_asc"], "page": ["2"]}
        response = client.post("/exports/applications/selected", data={"csrf_token": token, "back": back,
                                                                       "ids": ids})
        assert response.status_code == 302 and response.headers["Location"].startswith("/applications/")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 2  # only done's
    # the way back is the list's, whatever is sent
    for back in ("https://evil.example/x", "//evil.example", "page=1&next=https://evil.example", "\r\nX: 1"):
        response = client.post("/calls/assignments/auto", data={"csrf_token": token, "back": back})
        assert response.headers["Location"] == "/applications/"
    # no CSRF token: refused before anything happens
    response = client.post("/calls/assignments/auto", data={"ids": [world["ready"].id]})
    assert response.status_code == 400 and _assignments(world["ready"]) == []


def test_the_ticked_rows_as_csv_from_the_page(client, people, world):
    login(client, people["officer"])
    token, back = _form(client)
    chosen = [world["lonely"].id, world["draft"].id, world["ready"].id, world["ready"].id]
    response = client.post("/exports/applications/selected?lang=en",
                           data={"csrf_token": token, "back": back, "ids": chosen}, buffered=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [int(row[0]) for row in rows[1:]] == sorted({world["lonely"].id, world["draft"].id, world["ready"].id})
    # the applications export's columns and values, for these rows only
    with force_locale("en"):
        expected = [row for row in DATASETS["applications"].tables({})[0].rows() if row["id"] in set(chosen)]
        assert response.get_data().decode("utf-8-sig") == \
            "".join(csv_chunks(APPLICATION_COLUMNS, expected)).lstrip("\ufeff")
    (event,) = _events("export.applications_selected")
    assert event.actor_id == people["officer"].id and event.role == "officer"
    assert event.payload == {"application_ids": sorted(set(chosen), key=chosen.index), "format": "csv"}


# --- the API -------------------------------------------------------------------------------------------------

def test_bulk_assign_through_the_api_reports_each_application(client, people, world):
    headers = bearer(people["admin"])
    chosen = [world[key].id for key in ("lonely", "draft", "done", "twin", "ready")]
    response = client.post("/api/v1/applications/bulk/assign", json={"ids": chosen + [world["ready"].id]},
                           headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    results = {item["application_id"]: item for item in body["results"]}
    assert [item["application_id"] for item in body["results"]] == sorted(chosen)
    assert results[world["ready"].id]["outcome"] == "assigned" and len(results[world["ready"].id]["assignments"]) == 2
    assert results[world["twin"].id]["outcome"] == "assigned"
    assert results[world["done"].id] == {"application_id": world["done"].id, "outcome": "complete", "missing": 0,
                                         "assignments": []}
    assert results[world["draft"].id]["outcome"] == "not_in_evaluation"
    assert results[world["lonely"].id] == {"application_id": world["lonely"].id, "outcome": "no_evaluator",
                                           "missing": 2, "assignments": []}
    assert body["created"] == 4
    made = {a.id: a for key in ("ready", "twin") for a in _assignments(world[key])}
    assert {item["id"] for r in body["results"] for item in r["assignments"]} == set(made)
    # each assignment audited through the usual path, and each call's run with what it was limited to
    created = _events("assignment.create")
    assert {int(e.object_id) for e in created} >= set(made)
    assert all(e.actor_id == people["admin"].id and e.role == "admin" for e in created if int(e.object_id) in made)
    runs = [e for e in _events("call.auto_assign") if e.actor_id == people["admin"].id]
    assert [(int(e.object_id), e.payload["only"], e.payload["created"], e.payload["short"]) for e in runs] == [
        (world["a"].id, sorted([world["ready"].id, world["twin"].id, world["done"].id]), 4, {}),
        (world["b"].id, [world["lonely"].id], 0, {str(world["lonely"].id): 2})]  # the draft not among them
    # asked again: nothing more to do
    again = client.post("/api/v1/applications/bulk/assign", json={"ids": chosen}, headers=headers).get_json()
    assert again["created"] == 0
    assert {item["outcome"] for item in again["results"] if item["application_id"] in
            (world["ready"].id, world["twin"].id, world["done"].id)} == {"complete"}


def test_a_pool_too_small_assigns_what_it_can(client, people, world):
    officer = people["officer"]
    make_pool(world["b"], 1, officer)
    body = client.post("/api/v1/applications/bulk/assign", json={"ids": [world["lonely"].id]},
                       headers=bearer(officer)).get_json()
    (result,) = body["results"]
    assert result["outcome"] == "partly_assigned" and result["missing"] == 1 and len(result["assignments"]) == 1


def test_bulk_export_through_the_api(client, people, world):
    chosen = [world["ready"].id, world["draft"].id]
    response = client.post("/api/v1/applications/bulk/export", json={"ids": chosen},
                           headers={**bearer(people["officer"]), "Accept-Language": "en"}, buffered=True)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    with force_locale("en"):
        assert rows[0] == [str(column.title) for column in APPLICATION_COLUMNS] and rows[0][0] == "Application"
    assert [int(row[0]) for row in rows[1:]] == sorted(chosen)
    assert rows[1][7] == "Gatavs" and rows[2][7] == "Melnraksts"
    lv = client.post("/api/v1/applications/bulk/export", json={"ids": chosen}, headers=bearer(people["officer"]),
                     buffered=True)
    assert lv.get_data().decode("utf-8-sig").startswith("Pieteikums")
    assert len(_events("export.applications_selected")) == 2


@pytest.mark.parametrize("path", ("/api/v1/applications/bulk/assign", "/api/v1/applications/bulk/export"))
def test_bad_selections_are_refused_naming_the_ids(client, people, world, path):
    headers = bearer(people["officer"])
    for body in ({}, {"ids": []}, {"ids": "1,2"}, {"ids": ["a"]}, {"ids": [0]}, {"ids": [1.5]},
                 {"ids": list(range(1, 202))}, {"ids": [world["ready"].id, 2**31]}, {"ids": None}):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 422, (body, response.get_data(as_text=True))
        assert "ids" in response.get_json()["fields"]
    response = client.post(path, json={"ids": [world["ready"].id, 999999, 999998]}, headers=headers)
    assert response.status_code == 422
    assert "999998, 999999" in response.get_json()["fields"]["ids"][0]
    assert _assignments(world["ready"]) == [] and _events("export.applications_selected") == []
    assert client.post(path, data="{", headers={**headers, "Content-Type": "application/json"}).status_code == 400


@pytest.mark.parametrize("path", ("/api/v1/applications/bulk/assign", "/api/v1/applications/bulk/export"))
def test_only_officers_and_admins_may_act_on_a_selection(client, people, world, path):
    body = {"ids": [world["ready"].id]}
    assert client.post(path, json=body).status_code == 401
    owner = world["ready"].organisation.memberships[0].user
    for user in (people["auditor"], people["committee"], people["finance"], people["evaluator"], owner):
        assert client.post(path, json=body, headers=bearer(user)).status_code == 403
    assert _assignments(world["ready"]) == [] and _events("export.applications_selected") == []
    for page in ("/calls/assignments/auto", "/exports/applications/selected"):
        login(client, people["auditor"])
        token = csrf_token_from(client.get("/applications/").get_data(as_text=True))
        assert client.post(page, data={"csrf_token": token, "ids": [world["ready"].id]}).status_code == 403
        client.post("/logout", data={"csrf_token": token})
    assert _assignments(world["ready"]) == []


def test_the_statements_of_a_bulk_action_grow_only_with_what_it_writes(client, people, count_queries):
    """Reading is a fixed number of statements per call, whatever the number of applications; each assignment
    made writes its row and its audit event (with the chain's head), as the call's automatic assignment does;
    the export reads the same whatever the number of rows."""
    officer = people["officer"]
    headers = bearer(officer)
    call = make_evaluation_call()
    make_pool(call, 4, officer)
    few = [in_evaluation(call, officer).id for _ in range(2)]
    many = [in_evaluation(call, officer).id for _ in range(6)]
    client.post("/api/v1/applications/bulk/export", json={"ids": few}, headers=headers, buffered=True)
    with count_queries() as export_few:
        client.post("/api/v1/applications/bulk/export", json={"ids": few}, headers=headers, buffered=True)
    with count_queries() as export_many:
        client.post("/api/v1/applications/bulk/export", json={"ids": few + many}, headers=headers, buffered=True)
    assert export_many.count == export_few.count
    client.post("/api/v1/applications/bulk/assign", json={"ids": [make_application(call).id]}, headers=headers)
    with count_queries() as assign_few:
        assert client.post("/api/v1/applications/bulk/assign", json={"ids": few},
                           headers=headers).get_json()["created"] == 4
    with count_queries() as assign_many:
        assert client.post("/api/v1/applications/bulk/assign", json={"ids": many},
                           headers=headers).get_json()["created"] == 12

    def reads(counter):
        return [s for s in counter.statements if s.lstrip().upper().startswith("SELECT") and "audit_head" not in s]

    assert len(reads(assign_many)) == len(reads(assign_few))
    # per assignment: its row, its audit event, the chain's head read and moved
    assert assign_many.count - assign_few.count == 8 * 4
