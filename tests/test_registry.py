"""The public SI registry (issue 14 item 4; DESIGN §9): the funded initiatives, searched, filtered, sorted
and paged through the URL; a permanent page per initiative; open data as CSV and JSON; no personal data;
a fixed number of queries; Latvian and English; bad query values refused clearly."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.audit.services import record_event
from grants.core.codes import LegalForm, Region
from grants.core.db import db, today
from grants.decisions.models import Decision, Outcome
from grants.demo import DEMO_APPLICATIONS, DEMO_GRANT, DEMO_STAGE_GATED, load_demo
from grants.grants_mgmt.models import GrantAgreement
from grants.organisations.models import Organisation
from grants.registry.services import mask_contacts, public_registration_number
from grants.users.models import User
from tests.factories import (
    gate_call,
    headers_of,
    make_application,
    make_call,
    make_initiative,
    make_organisation,
    make_pool,
    make_user,
    score_gate,
    to_gate,
)

_numbers = itertools.count(1)


# --- building funded (and unfunded) initiatives directly -----------------------------------------------

@pytest.fixture
def committee(app):
    return make_user("committee")


def funded(committee, *, title="Iniciatīva", stage="idea_generation", theme="", groups=(), region=None,
           organisation=None, call=None, amount="5000.00", decided_on=None, description="Apraksts.",
           tranches=None, outcome=Outcome.APPROVED, proven=None, **initiative_fields):
    """An initiative with one application decided by ``committee`` (approved by default, for ``amount``, on
    ``decided_on``); with ``tranches`` [(stage, amount)], an agreement splitting the award by stage; with
    ``proven``, a stage its grant proved (an audited acceptance)."""
    organisation = organisation or make_organisation(make_user())
    initiative = make_initiative(organisation, stage=stage, title=title, theme=theme, target_groups=list(groups),
                                 region=region, description=description, **initiative_fields)
    application = add_award(committee, initiative, call=call, amount=amount, decided_on=decided_on,
                            tranches=tranches, outcome=outcome, proven=proven)
    return initiative, application


def add_award(committee, initiative, *, call=None, amount="5000.00", decided_on=None, tranches=None,
              outcome=Outcome.APPROVED, proven=None, stage=None):
    call = call or make_call()
    stage = stage or initiative.current_stage
    application = make_application(call, initiative.organisation, si_stage=stage, initiative=initiative,
                                   state="approved" if outcome == Outcome.APPROVED else "rejected",
                                   title=initiative.title, requested_amount=Decimal(amount))
    db.session.add(Decision(application_id=application.id, outcome=outcome,
                            amount=Decimal(amount) if outcome == Outcome.APPROVED else None,
                            decided_on=decided_on or today(), decided_by_id=committee.id))
    if tranches is not None:
        n = next(_numbers)
        db.session.add(GrantAgreement(
            application_id=application.id, programme_id=call.programme_id, sequence=n, number=f"T-L-{n:04d}",
            start_date=date(2025, 1, 1), end_date=date(2025, 12, 31),
            awarded_amount=sum((Decimal(a) for _s, a in tranches), Decimal("0.00")),
            co_financing_rate=Decimal("10.00"), tranches=[{"si_stage": s, "amount": a} for s, a in tranches]))
    if proven:
        application.proven_stages = [proven]
        record_event(action="application.accept_final_report", object_type="application", object_id=application.id,
                     payload={"from": "final_report_submitted", "to": "final_report_accepted"})
    db.session.flush()
    return application


def decide(committee, application, outcome, amount=None):
    db.session.add(Decision(application_id=application.id, outcome=outcome,
                            amount=Decimal(amount) if amount else None, decided_on=today(),
                            decided_by_id=committee.id))
    db.session.flush()


def api_items(client, query=""):
    response = client.get(f"/api/v1/registry/initiatives{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def download(client, path):
    """A download, read inside the request's context as a WSGI server reads a streamed response."""
    return client.get(path, buffered=True)


def ids_on_page(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="reg-card" data-initiative="(\d+)"', html)]


# --- the demo: exactly the funded initiatives ------------------------------------------------------------

def test_the_registry_lists_exactly_the_funded_initiatives_of_the_demo(app, client, session):
    load_demo()
    approved = set(session.scalars(
        sa.select(Application.initiative_id).join(Decision, Decision.application_id == Application.id)
        .where(Decision.outcome == Outcome.APPROVED)))
    titles = dict(session.execute(sa.select(Application.initiative_id, Application.title)).all())
    assert {titles[i] for i in approved} == {DEMO_GRANT, DEMO_STAGE_GATED}
    unfunded = set(titles) - approved
    assert len(unfunded) == len(DEMO_APPLICATIONS) - 2

    page = client.get("/registry/").get_data(as_text=True)
    assert set(ids_on_page(page)) == approved
    for initiative_id in unfunded:
        assert titles[initiative_id] not in page
        assert client.get(f"/registry/initiatives/{initiative_id}").status_code == 404
        assert client.get(f"/api/v1/registry/initiatives/{initiative_id}").status_code == 404
    listed = api_items(client)
    assert listed["total"] == 2 and {item["id"] for item in listed["items"]} == approved

    exported = download(client, "/registry/export.json").get_json()
    assert {item["id"] for item in exported["initiatives"]} == approved
    rows = _csv_rows(download(client, "/registry/export.csv"))
    assert {int(row["id"]) for row in rows} == approved
    for initiative_id in approved:
        assert client.get(f"/registry/initiatives/{initiative_id}").status_code == 200

    # What the two grants received: the closed call's agreement (4 800), the stage-gated one's two tranches.
    by_title = {item["title"]: item for item in listed["items"]}
    grant, gated = by_title[DEMO_GRANT], by_title[DEMO_STAGE_GATED]
    assert grant["total_amount"] == "4800.00" and grant["si_stage"] == "problem_identification"
    assert grant["organisation"]["name"] == 'SIA "Vidzemes sociālā darbnīca"'
    assert grant["organisation"]["legal_form"] == "social_enterprise" and grant["region"] == "vidzeme"
    assert gated["total_amount"] == "30000.00"
    assert [(p["si_stage"], p["amount"]) for p in gated["amount_by_stage"]] == [
        ("idea_generation", "10000.00"), ("prototyping", "20000.00")]
    assert gated["amount_by_fund"] == [{"fund_source": "esf_plus", "fund_source_label": gated["amount_by_fund"][0][
        "fund_source_label"], "amount": "30000.00"}]
    assert gated["support"][0]["call_code"] == "SI-2026-SG" and gated["support"][0]["year"] == today().year
    assert gated["first_funded_year"] == today().year
    assert gated["url"].endswith(f"/registry/initiatives/{gated['id']}")


def test_an_approval_in_force_is_what_counts(app, client, session, committee):
    """The newest decision decides: approved then rejected is out; reserve then approved is in."""
    withdrawn, application = funded(committee, title="Atsaukts atbalsts")
    decide(committee, application, Outcome.REJECTED)
    reserved, application = funded(committee, title="No rezerves", outcome=Outcome.RESERVE)
    assert api_items(client)["total"] == 0
    decide(committee, application, Outcome.APPROVED, "3000.00")
    rejected, _ = funded(committee, title="Noraidīts", outcome=Outcome.REJECTED)
    listed = api_items(client)
    assert [item["id"] for item in listed["items"]] == [reserved.id]
    assert listed["items"][0]["total_amount"] == "3000.00"
    for initiative in (withdrawn, rejected):
        assert client.get(f"/registry/initiatives/{initiative.id}").status_code == 404


# --- search, filters, order, pages, all in the URL ------------------------------------------------------

@pytest.fixture
def sample(app, committee):
    """Five funded initiatives and one unfunded, for searching and filtering."""
    riga_org = make_organisation(make_user(), name="Biedrība \"Rīgas Kopiena\"", region=Region.RIGA)
    latgale_org = make_organisation(make_user(), name="Nodibinājums Ērgļu fonds", region=Region.LATGALE)
    last_year = date(today().year - 1, 6, 1)
    items = {
        "kitchen": funded(committee, title="Kopienas virtuve senioriem", stage="idea_generation",
                          theme="Senioru aprūpe", groups=["Seniori", "Brīvprātīgie"], organisation=riga_org,
                          amount="8000.00", description="Maltītes vientuļajiem senioriem."),
        "workshop": funded(committee, title="Sociālā darbnīca Ērgļos", stage="prototyping", theme="Nodarbinātība",
                           groups=["Cilvēki ar invaliditāti"], organisation=latgale_org, amount="20000.00",
                           decided_on=last_year),
        "bus": funded(committee, title="Bibliotēkas autobuss", stage="prototyping", theme="Kultūra",
                      groups=["Seniori"], organisation=latgale_org, region=Region.ZEMGALE, amount="12000.00"),
        "app": funded(committee, title="Ābolu dārzs jauniešiem", stage="scaling", theme="Nodarbinātība",
                      groups=["Jaunieši"], organisation=riga_org, amount="50000.00"),
        "taxi": funded(committee, title="Zaļais taksometrs", stage="idea_generation", theme="Senioru aprūpe",
                       groups=["Seniori"], amount="3000.00", decided_on=last_year),
    }
    unfunded = make_initiative(riga_org, title="Nefinansēta kopienas ideja", theme="Senioru aprūpe")
    make_application(organisation=riga_org, initiative=unfunded, state="submitted")
    return {key: initiative for key, (initiative, _app) in items.items()}, unfunded


def _ids(client, query):
    return [item["id"] for item in api_items(client, query)["items"]]


def test_search_is_case_and_diacritic_insensitive_on_title_description_and_organisation(client, sample):
    items, unfunded = sample
    assert _ids(client, "?q=ERGLOS") == [items["workshop"].id]
    assert _ids(client, "?q=sociālā darbnīca") == [items["workshop"].id]
    assert _ids(client, "?q=sociala%20DARBNICA") == [items["workshop"].id]
    assert _ids(client, "?q=vientulajiem&sort=title") == [items["kitchen"].id]  # in the description
    assert set(_ids(client, "?q=ergļu fonds")) == {items["workshop"].id, items["bus"].id}  # the organisation
    assert _ids(client, "?q=kopiena&sort=title") == [items["app"].id, items["kitchen"].id]  # not the unfunded one
    assert _ids(client, "?q=%25") == [] and _ids(client, "?q=_") == []  # LIKE wildcards are plain characters
    page = client.get("/registry/?q=Ergļos").get_data(as_text=True)
    assert ids_on_page(page) == [items["workshop"].id]
    assert 'value="Ergļos"' in page  # the search stays in the form
    empty = client.get("/registry/?q=nekas+tāds")
    assert empty.status_code == 200
    html = empty.get_data(as_text=True)
    assert 'data-empty="search"' in html and "No funded initiative matches" in client.get(
        "/registry/?q=nekas+tāds&lang=en").get_data(as_text=True)


def test_filters_by_stage_theme_target_group_region_organisation_and_year(client, sample):
    items, _ = sample
    ids = {key: initiative.id for key, initiative in items.items()}
    assert set(_ids(client, "?si_stage=prototyping")) == {ids["workshop"], ids["bus"]}
    assert set(_ids(client, "?theme=Senioru aprūpe")) == {ids["kitchen"], ids["taxi"]}
    assert set(_ids(client, "?target_group=Seniori")) == {ids["kitchen"], ids["bus"], ids["taxi"]}
    assert _ids(client, "?target_group=Cilvēki ar invaliditāti") == [ids["workshop"]]
    assert _ids(client, "?target_group=Senior") == []  # a whole target group, not a part of one
    # The initiative's region, else its organisation's.
    assert _ids(client, "?region=zemgale") == [ids["bus"]]
    assert set(_ids(client, "?region=latgale")) == {ids["workshop"]}
    organisation = items["kitchen"].organisation_id
    assert set(_ids(client, f"?organisation_id={organisation}")) == {ids["kitchen"], ids["app"]}
    assert set(_ids(client, f"?year={today().year - 1}")) == {ids["workshop"], ids["taxi"]}
    assert set(_ids(client, f"?year={today().year}&theme=Nodarbinātība")) == {ids["app"]}
    assert _ids(client, "?year=2001") == []
    # Combined, on the page: the form keeps every value, the count per value follows the other filters.
    html = client.get("/registry/?si_stage=idea_generation&theme=Senioru+apr%C5%ABpe&lang=en").get_data(as_text=True)
    assert set(ids_on_page(html)) == {ids["kitchen"], ids["taxi"]}
    assert '<option value="idea_generation" selected>' in html
    assert re.search(r'<option value="Senioru aprūpe" selected>Senioru aprūpe \(2\)</option>', html)
    assert re.search(r'<option value="prototyping">[^<]*\(0\)</option>', html)  # none with this theme
    assert re.search(r'<option value="latgale">Latgale \(0\)</option>', html)
    assert re.search(r'<option value="riga">Rīga \(2\)</option>', html)
    # Each filter in use can be removed, keeping the others.
    removal = re.findall(r'<a href="([^"]+)" class="reg-remove">', html)
    assert len(removal) == 2
    kept = [parse_qs(urlparse(link.replace("&amp;", "&")).query) for link in removal]
    assert {"theme": ["Senioru aprūpe"], "lang": ["en"]} in kept and {"si_stage": ["idea_generation"],
                                                                      "lang": ["en"]} in kept


def test_sorting_by_title_newest_and_amount(client, sample):
    items, _ = sample
    ids = {key: initiative.id for key, initiative in items.items()}
    # Title order ignores diacritics and case: Ā sorts with A, Ē with E, Z last.
    assert _ids(client, "?sort=title") == [ids["app"], ids["bus"], ids["kitchen"], ids["workshop"], ids["taxi"]]
    assert _ids(client, "?sort=amount") == [ids["app"], ids["workshop"], ids["bus"], ids["kitchen"], ids["taxi"]]
    newest = _ids(client, "?sort=newest")
    assert set(newest[:3]) == {ids["kitchen"], ids["bus"], ids["app"]}  # decided this year, then last year's
    assert newest == _ids(client, "")  # newest support first by default
    html = client.get("/registry/?sort=amount").get_data(as_text=True)
    assert ids_on_page(html) == _ids(client, "?sort=amount")
    assert '<option value="amount" selected>' in html


def test_pages_of_twenty_keep_the_filters_and_the_order_in_the_url(app, client, committee):
    organisation = make_organisation(make_user())
    call = make_call()
    for n in range(23):
        funded(committee, title=f"Kopienas projekts {n:02d}", organisation=organisation, call=call,
               theme="Kopiena", amount=f"{1000 + n}.00")
    funded(committee, title="Cita tēma", organisation=organisation, call=call, theme="Cits")
    first = client.get("/registry/?theme=Kopiena&sort=title&lang=en").get_data(as_text=True)
    assert len(ids_on_page(first)) == 20
    assert "23 funded initiatives" in first
    following = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    assert parse_qs(urlparse(following).query) == {"page": ["2"], "theme": ["Kopiena"], "sort": ["title"],
                                                   "lang": ["en"]}
    second = client.get(following).get_data(as_text=True)
    assert len(ids_on_page(second)) == 3 and "Kopienas projekts 22" in second and 'start="21"' in second
    assert "Cita tēma" not in first + second
    # Every result links to its permanent page, in the same language.
    assert re.search(r'href="/registry/initiatives/\d+\?lang=en"', second)
    api = api_items(client, "?theme=Kopiena&sort=amount&per_page=5&page=2")
    assert api["total"] == 23 and api["page"] == 2
    assert [item["total_amount"] for item in api["items"]] == ["1017.00", "1016.00", "1015.00", "1014.00",
                                                              "1013.00"]
    beyond = client.get("/registry/?theme=Kopiena&page=9")
    assert beyond.status_code == 200 and 'data-empty="page"' in beyond.get_data(as_text=True)
    assert api_items(client, "?page=9")["items"] == []


# --- one initiative ---------------------------------------------------------------------------------------

def test_the_permanent_page_of_an_initiative(app, client, committee):
    organisation = make_organisation(make_user(), name="Biedrība Saules stari", registration_number="40008123456",
                                     legal_form=LegalForm.ASSOCIATION, region=Region.KURZEME)
    initiative, _ = funded(committee, title="Saules darbnīcas", stage="prototyping", organisation=organisation,
                           theme="Izglītība", groups=["Jaunieši", "Skolotāji"], amount="9000.00",
                           decided_on=date(today().year - 1, 3, 1), proven="idea_generation")
    gated_call = make_call(stages=(("prototyping", "100000.00", "1000.00", "50000.00"),
                                   ("sustaining", "100000.00", "1000.00", "50000.00")))
    add_award(committee, initiative, call=gated_call, amount="30000.00",
              tranches=[("prototyping", "12000.00"), ("sustaining", "18000.00")])
    response = client.get(f"/registry/initiatives/{initiative.id}?lang=en")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Saules darbnīcas</h1>" in html
    assert 'data-stage="prototyping">Prototyping and pilots' in html
    assert 'data-proven="idea_generation"' in html
    assert "Jaunieši, Skolotāji" in html and "Izglītība" in html and 'data-region="kurzeme"' in html
    assert "40008123456" in html and "Association" in html
    assert f'href="/registry/?organisation_id={organisation.id}&amp;lang=en"' in html
    assert f"/registry/initiatives/{initiative.id}</a>" in html  # the permanent address, in full
    assert 'data-amount="39000.00"' in html
    assert re.search(r'data-stage="prototyping"><th scope="row">Prototyping and pilots</th><td class="num money">'
                     r'21,000.00', html)  # 9 000 decided + the 12 000 tranche
    assert re.search(r'data-stage="sustaining"><th scope="row">Sustaining</th><td class="num money">18,000.00', html)
    api = client.get(f"/api/v1/registry/initiatives/{initiative.id}").get_json()
    assert api["total_amount"] == "39000.00" and api["awards"] == 2
    assert api["first_funded_year"] == today().year - 1 and api["last_funded_year"] == today().year
    assert [award["amount"] for award in api["support"]] == ["9000.00", "30000.00"]
    assert api["support"][1]["si_stages"] == ["prototyping", "sustaining"]
    assert [p["si_stage"] for p in api["proven_stages"]] == ["idea_generation"]
    assert api["proven_stages"][0]["proven_on"] == today().isoformat()
    assert client.get("/registry/initiatives/999999").status_code == 404
    assert client.get("/registry/initiatives/99999999999").status_code == 404
    assert client.get("/api/v1/registry/initiatives/999999").get_json()["error"] == "not_found"


# --- open data ----------------------------------------------------------------------------------------------

def _csv_rows(response) -> list[dict[str, str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_and_json_downloads_parse_and_hold_the_same_rows(app, client, committee):
    load_demo()
    funded(committee, title="Ābolu dārzs, \"kopā\"; ar jauniešiem", groups=["Jaunieši", "Ģimenes"],
           theme="Nodarbinātība", amount="1234.56", tranches=[("idea_generation", "1234.56")])
    for path, kind, extension in (("/registry/export.csv", "text/csv", "csv"),
                                  ("/registry/export.json", "application/json", "json"),
                                  ("/api/v1/registry/export?format=csv", "text/csv", "csv"),
                                  ("/api/v1/registry/export", "application/json", "json")):
        response = download(client, path)
        assert response.status_code == 200 and response.mimetype == kind, path
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and disposition.endswith(f'.{extension}"')
    rows = _csv_rows(download(client, "/registry/export.csv"))
    document = json.loads(download(client, "/registry/export.json").get_data(as_text=True))
    assert document["licence"] == "CC-BY-4.0" and document["licence_url"].startswith("https://creativecommons.org/")
    assert document["generated_at"]
    names = [f["name"] for f in document["fields"]]
    assert list(rows[0]) == [f["name"] for f in document["fields"] if "csv" in f["formats"]]
    items = document["initiatives"]
    assert len(rows) == len(items) == 3
    assert [int(row["id"]) for row in rows] == [item["id"] for item in items] == sorted(item["id"] for item in items)
    for row, item in zip(rows, items, strict=True):
        assert set(item) <= set(names)
        assert row["title"] == item["title"] and row["url"] == item["url"]
        assert row["si_stage"] == item["si_stage"] and row["region"] == (item["region"] or "")
        assert Decimal(row["total_amount"]) == Decimal(str(item["total_amount"]))
        assert row["target_groups"] == "; ".join(item["target_groups"])
        assert row["organisation_name"] == item["organisation"]["name"]
        for part in item["amount_by_stage"]:
            assert Decimal(row[f"amount_{part['si_stage']}"]) == Decimal(str(part["amount"]))
        assert sum(Decimal(row[f"amount_{code}"]) for code in ("esf_plus", "eea_norway", "national", "municipal",
                                                              "private")) == Decimal(row["total_amount"])
    odd = next(row for row in rows if row["title"].startswith("Ābolu"))
    assert odd["title"] == "Ābolu dārzs, \"kopā\"; ar jauniešiem" and odd["total_amount"] == "1234.56"
    assert odd["target_groups"] == "Jaunieši; Ģimenes"
    # The API's export is the same data.
    assert [int(row["id"]) for row in _csv_rows(download(client, "/api/v1/registry/export?format=csv"))] == [
        int(row["id"]) for row in rows]


def test_the_downloads_are_streamed_a_batch_of_initiatives_at_a_time(app, committee, count_queries):
    from grants.registry import services, views

    made = [funded(committee, title=f"Straumē {n}")[0].id for n in range(5)]
    for view in (views.export_csv, views.export_json):
        with app.test_request_context("/registry/export"):
            response = view()
            assert response.is_streamed
            response.close()
    with app.test_request_context("/"), count_queries() as counter:
        streamed = services.iter_registry(batch=2)
        first = next(streamed)
        reads = counter.count
        rest = list(streamed)
    assert [first["id"]] + [item["id"] for item in rest] == made
    assert reads <= 5 and counter.count > reads  # the first batch only, then the others as they are read


def test_the_open_data_page_explains_the_downloads_licence_and_fields(app, client):
    app.config["OPEN_DATA_LICENCE"] = "CC0-1.0"
    try:
        html = client.get("/registry/data?lang=en").get_data(as_text=True)
        assert download(client, "/registry/export.json").get_json()["licence"] == "CC0-1.0"
    finally:
        app.config["OPEN_DATA_LICENCE"] = "CC-BY-4.0"
    assert 'data-licence="CC0-1.0"' in html and 'href="https://creativecommons.org/publicdomain/zero/1.0/"' in html
    assert 'href="/registry/export.csv?lang=en"' in html and 'href="/registry/export.json?lang=en"' in html
    for name in ("id", "title", "si_stage", "proven_stages", "organisation_registration_number", "total_amount",
                 "amount_prototyping", "amount_esf_plus", "support"):
        assert f'<tr data-field="{name}">' in html
    assert "The SI stage the initiative has reached" in html
    latvian = client.get("/registry/data").get_data(as_text=True)
    assert '<html lang="lv">' in latvian and '<tr data-field="total_amount">' in latvian


# --- no personal data -------------------------------------------------------------------------------------

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"\+\d[\d ()-]{7,}\d|(?<![\d.])[26]\d(?:[ -]?\d){6}(?![\d.])")


def _strings(value):
    """Every text and number in a nested value, as text, with the key it was under."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from ((f"{key}.{where}" if where else key, text) for where, text in _strings(item))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif value is not None:
        yield "", str(value)


def test_no_personal_data_in_the_exports_or_the_api(app, client, session, committee):
    load_demo()
    organisation = make_organisation(make_user(name="Inese Privātā", email="inese.privata@example.lv"),
                                     name="Biedrība Atklātie dati", contact_email="kontakti@atklatie.lv",
                                     contact_phone="+371 29 123 456", address="Brīvības iela 1-5, Rīga")
    funded(committee, title="Palīdzība mājās", organisation=organisation,
           description="Zvaniet 29123456 vai +371 6712 3456, rakstiet info@palidziba.lv; konts LV80BANK0000435195001.",
           theme="Aprūpe", groups=["Seniori"], amount="7000.00")
    informal = make_organisation(make_user(), name="Iedzīvotāju grupa", legal_form=LegalForm.INFORMAL_GROUP,
                                 registration_number="010180-12345")
    funded(committee, title="Pagalma dārzs", organisation=informal, amount="900.00")

    people = session.execute(sa.select(User.name, User.email)).all()
    organisation_contacts = session.execute(sa.select(Organisation.contact_email, Organisation.contact_phone,
                                                      Organisation.address)).all()
    secrets = {text for person in people for text in person if text and text != "Test User"}
    secrets |= {text for contact in organisation_contacts for text in contact if text}
    secrets |= {"010180-12345", "29123456", "6712 3456"}
    assert "Līga Pieteicēja" in secrets and "kontakti@atklatie.lv" in secrets

    sources = {"csv": _csv_rows(download(client, "/registry/export.csv")),
               "json": download(client, "/registry/export.json").get_json()["initiatives"],
               "api list": api_items(client, "?per_page=100")["items"]}
    sources["api items"] = [client.get(f"/api/v1/registry/initiatives/{item['id']}").get_json()
                            for item in sources["api list"]]
    sources["api export"] = download(client, "/api/v1/registry/export?format=json").get_json()["initiatives"]
    for name, items in sources.items():
        assert len(items) == 4, name
        checked = 0
        for item in items:
            for where, text in _strings(item):
                checked += 1
                assert not EMAIL.search(text), (name, where, text)
                assert not PHONE.search(text), (name, where, text)
                for secret in secrets:
                    assert secret not in text, (name, where, secret)
        assert checked > 50 * len(items) / 4, name
    described = next(item for item in sources["json"] if item["title"] == "Palīdzība mājās")
    assert described["description"].startswith("Zvaniet […] vai […], rakstiet […];")
    group = next(item for item in sources["json"] if item["title"] == "Pagalma dārzs")
    assert group["organisation"]["registration_number"] == ""
    # The pages show no more than the data.
    for item in sources["api list"]:
        page = client.get(f"/registry/initiatives/{item['id']}").get_data(as_text=True)
        assert not any(secret in page for secret in secrets if secret not in ("Test User",))
        assert "@" not in page.split("<main", 1)[1].split("</main>", 1)[0]


def test_masking_and_registration_numbers():
    assert mask_contacts("Raksti anna.berzina+si@inbox.lv, zvani 2912 3456 vai +371 67 123 456!") == (
        "Raksti […], zvani […] vai […]!")
    kept = "Budžets 20000.00 EUR, 2024.–2026. gads, 15 dalībnieki, reģ. nr. 40008000001, 3 200 EUR"
    assert mask_contacts(kept) == kept
    assert public_registration_number(LegalForm.ASSOCIATION, "40008000001") == "40008000001"
    assert public_registration_number(LegalForm.INFORMAL_GROUP, "40008000001") == ""
    assert public_registration_number("company", "010180-12345") == ""
    assert public_registration_number("company", "32123412345") == ""
    assert public_registration_number(LegalForm.MUNICIPALITY, "90000012345") == "90000012345"


# --- a fixed number of queries -----------------------------------------------------------------------------

def _queries(client, count_queries, paths):
    counts = {}
    for path in paths:
        with count_queries() as counter:
            response = client.get(path)
        assert response.status_code == 200, path
        counts[path] = counter.count
    return counts


def test_the_pages_and_the_api_run_a_fixed_number_of_queries(app, client, committee, count_queries):
    call = make_call()

    def more(count):
        made = []
        for _ in range(count):
            n = next(_numbers)
            initiative, _app = funded(committee, title=f"Projekts {n}", call=call, theme="Tēma",
                                      groups=["Grupa", f"Grupa {n}"], region=Region.RIGA, proven="idea_generation",
                                      tranches=[("idea_generation", "4000.00")])
            add_award(committee, initiative, call=call, amount="2000.00", decided_on=date(today().year - 1, 5, 5))
            record_event(action="initiative.advance", object_type="initiative", object_id=initiative.id,
                         payload={"from": "idea_generation", "to": "prototyping"})
            made.append(initiative)
        return made

    first = more(2)
    year = today().year
    paths = ["/registry/", "/registry/?q=projekts&si_stage=idea_generation&theme=T%C4%93ma&target_group=Grupa"
             "&region=riga&year=" + str(year) + "&sort=amount", "/api/v1/registry/initiatives",
             "/api/v1/registry/initiatives?target_group=Grupa&sort=title",
             f"/registry/initiatives/{first[0].id}", f"/api/v1/registry/initiatives/{first[0].id}",
             f"/registry/overview/{year}", f"/api/v1/registry/overview/{year}", "/registry/data"]
    two = _queries(client, count_queries, paths)
    more(4)
    six = _queries(client, count_queries, paths)
    assert two == six
    assert api_items(client)["total"] == 6
    assert max(six.values()) <= 20, six
    # The downloads read a batch of initiatives per statement: with 6 they are one batch, like with 2.
    exports = ["/registry/export.csv", "/registry/export.json"]
    with count_queries() as counter:
        for path in exports:
            assert len(download(client, path).get_data()) > 0
    assert counter.count <= 12


# --- languages ----------------------------------------------------------------------------------------------

def test_latvian_by_default_and_english_on_request(app, client):
    load_demo()
    latvian = client.get("/registry/").get_data(as_text=True)
    assert '<html lang="lv">' in latvian
    assert "Ideju ģenerēšana" in latvian and "Problēmas identificēšana" in latvian  # the stage labels
    assert "Latgales amatu skola jauniešiem" in latvian
    english = client.get("/registry/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "2 funded initiatives" in english and "Proposals and ideas" in english
    assert "30,000.00 €" in english
    item = api_items(client)["items"][0]
    assert item["si_stage_label"] == "Ideju ģenerēšana" or item["si_stage_label"] == "Problēmas identificēšana"
    english_api = client.get("/api/v1/registry/initiatives", headers={"Accept-Language": "en"}).get_json()
    assert {i["si_stage_label"] for i in english_api["items"]} == {"Proposals and ideas",
                                                                   "Prompts, inspirations and diagnoses"}
    assert _csv_rows(download(client, "/registry/export.csv?lang=en"))[0]["si_stage_label"] in (
        "Proposals and ideas", "Prompts, inspirations and diagnoses")
    lv_rows = _csv_rows(download(client, "/registry/export.csv"))
    assert {row["si_stage_label"] for row in lv_rows} == {"Ideju ģenerēšana", "Problēmas identificēšana"}
    assert list(lv_rows[0]) == list(_csv_rows(download(client, "/registry/export.csv?lang=en"))[0])  # same field names


# --- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, field", [
    ("si_stage=flying", "si_stage"), ("region=tallinn", "region"), ("year=1999", "year"), ("year=abc", "year"),
    ("year=2101", "year"), ("organisation_id=0", "organisation_id"), ("organisation_id=99999999999", "organisation_id"),
    ("organisation_id=x", "organisation_id"), ("sort=random", "sort"), ("page=0", "page"), ("page=-3", "page"),
    ("page=10000000000", "page"), ("page=two", "page"), ("per_page=1000", "per_page"), ("q=" + "x" * 201, "q"),
    ("theme=" + "t" * 121, "theme"), ("target_group=" + "g" * 81, "target_group"),
])
def test_bad_query_values_are_refused_by_field(client, query, field):
    api = client.get(f"/api/v1/registry/initiatives?{query}")
    assert api.status_code == 422
    body = api.get_json()
    assert body["error"] == "validation_error" and list(body["fields"]) == [field]
    page = client.get(f"/registry/?{query}&lang=en")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'class="error-summary"' in html and "The results below leave these values out." in html


def test_other_bad_input_is_a_clear_4xx(client, app):
    assert client.get("/registry/?q=a%00b").status_code == 422
    assert client.get("/api/v1/registry/initiatives?q=a%00b").status_code == 422
    refused = client.get("/api/v1/registry/export?format=xlsx")
    assert refused.status_code == 422 and list(refused.get_json()["fields"]) == ["format"]
    for year in (1999, 2101, 0):
        assert client.get(f"/registry/overview/{year}").status_code == 404
        assert client.get(f"/api/v1/registry/overview/{year}").status_code == 404
    assert client.get("/registry/overview/-5").status_code == 404
    assert client.get("/registry/overview/abc").status_code == 404
    # Several bad values at once: each named, the rest of the search still applied.
    html = client.get("/registry/?si_stage=x&year=y&sort=amount&lang=en").get_data(as_text=True)
    assert html.count("<li><a href=\"#f-") == 2 and '<option value="amount" selected>' in html


def test_the_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/registry/initiatives", "/api/v1/registry/initiatives/{initiative_id}",
                 "/api/v1/registry/export", "/api/v1/registry/overview/{year}"):
        assert "get" in paths[path], path
        assert "security" not in paths[path]["get"]
    parameters = {p["name"] for p in paths["/api/v1/registry/initiatives"]["get"]["parameters"]}
    assert {"q", "si_stage", "theme", "target_group", "region", "organisation_id", "year", "sort", "page",
            "per_page"} <= parameters


def test_no_sign_in_is_needed(client):
    for path in ("/registry/", "/registry/data", f"/registry/overview/{today().year}", "/registry/export.csv",
                 "/api/v1/registry/initiatives", f"/api/v1/registry/overview/{today().year}"):
        assert download(client, path).status_code == 200, path
    moved = client.get("/registry/overview/")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/registry/overview/{today().year}")
    assert client.get("/registry/overview/?lang=en").headers["Location"].endswith(
        f"/registry/overview/{today().year}?lang=en")


def test_an_award_closed_at_its_stage_gate_shows_only_the_tranches_it_released(app, client, session):
    people = {"officer": make_user("officer"), "committee": make_user("committee"),
              "finance1": make_user("finance"), "finance2": make_user("finance")}
    call = gate_call()
    make_pool(call, 2, people["officer"])
    application, _grantee, _payments = to_gate(client, people, call, headers_of(people))
    before = client.get(f"/api/v1/registry/initiatives/{application.initiative_id}").get_json()
    assert [stage for award in before["support"] for stage in award["si_stages"]] == ["idea_generation",
                                                                                      "prototyping"]
    score_gate(client, application, [(20, 10), (25, 10)])
    failed = client.post(f"/api/v1/applications/{application.id}/gate-decision",
                         headers=headers_of(people)["committee"],
                         json={"outcome": "failed", "reason": "Pilots nepārliecina.",
                               "decided_on": today().isoformat()})
    assert failed.status_code == 200
    after = client.get(f"/api/v1/registry/initiatives/{application.initiative_id}").get_json()
    (award,) = after["support"]
    assert award["si_stages"] == ["idea_generation"] and award["amount"] == "4000.00"
