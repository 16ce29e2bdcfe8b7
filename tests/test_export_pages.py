"""The exports page: ask for a file, see it ready, download it, retry a failed one, publish the list of
operations; who may; a number of queries that does not grow with the exports."""

from __future__ import annotations

import sqlalchemy as sa

from grants.calls.models import Programme
from grants.demo import load_demo
from grants.exports.models import Export
from tests.conftest import csrf_token_from
from tests.factories import login, make_user


def _demo(session) -> Programme:
    load_demo()
    session.flush()
    return session.scalars(sa.select(Programme).where(Programme.code == "SIKC-2026")).one()


def test_an_officer_asks_for_a_file_and_downloads_it(app, client, session):
    programme = _demo(session)
    officer = make_user("officer")
    login(client, officer)
    page = client.get("/exports/")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post("/exports/", data={"csrf_token": token, "kind": "grants", "format": "xlsx",
                                              "programme_id": programme.id, "call_id": 0})
    assert response.status_code == 302
    export = session.scalars(sa.select(Export)).one()
    assert export.state == "done" and export.filters == {"programme_id": programme.id}
    listing = client.get("/exports/").get_data(as_text=True)
    assert f'href="/exports/{export.id}/download"' in listing and 'http-equiv="refresh"' not in listing
    download = client.get(f"/exports/{export.id}/download")
    assert download.status_code == 200 and download.data[:2] == b"PK"  # a zip: the workbook
    download.close()
    bad = client.post("/exports/", data={"csrf_token": token, "kind": "indicators", "format": "csv",
                                         "programme_id": 0, "call_id": 0})
    assert bad.status_code == 422 and "Izvēlieties programmu." in bad.get_data(as_text=True)


def test_the_list_of_operations_is_public_once_an_officer_publishes_it(app, client, session):
    programme = _demo(session)
    path = f"/exports/programmes/{programme.id}/operations.csv"
    assert client.get(path).status_code == 302  # to sign in
    officer = make_user("officer")
    login(client, officer)
    token = csrf_token_from(client.get("/exports/").get_data(as_text=True))
    assert client.post(f"/exports/programmes/{programme.id}/operations/publish",
                       data={"csrf_token": token}).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/exports/").get_data(as_text=True))})
    public = client.get(path, buffered=True)
    assert public.status_code == 200 and "Darba prasmju darbnīca jauniešiem" in public.get_data(as_text=True)
    assert client.get(f"/exports/programmes/{programme.id}/operations.pdf").status_code == 404


def test_who_may_export(app, client, session):
    _demo(session)
    login(client, make_user("applicant"))
    assert client.get("/exports/").status_code == 403
    auditor = app.test_client()
    login(auditor, make_user("auditor"))
    assert auditor.get("/exports/").status_code == 200


def test_the_page_costs_the_same_whatever_the_number_of_exports(app, client, session, count_queries):
    programme = _demo(session)
    officer = make_user("officer")
    login(client, officer)

    def ask():
        token = csrf_token_from(client.get("/exports/").get_data(as_text=True))
        client.post("/exports/", data={"csrf_token": token, "kind": "payments", "format": "csv",
                                       "programme_id": programme.id, "call_id": 0})

    ask()
    with count_queries() as one:
        client.get("/exports/")
    ask()
    ask()
    with count_queries() as three:
        client.get("/exports/")
    assert one.count == three.count
