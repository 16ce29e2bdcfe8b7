"""The annual SI ecosystem overview (issue 14 item 5; DESIGN §9; seed 003): new initiatives, those that
advanced an SI stage or reached scaling, support by SI stage, theme and planning region, year on year,
with accessible charts, on a page that prints well and in the API."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from grants.core.codes import Region
from grants.core.db import today
from grants.demo import load_demo
from grants.workflows.engine import fire
from tests.factories import make_call, make_initiative, make_organisation, make_user
from tests.test_registry import add_award, funded

JUSTIFIED = "Pierādījumi pieņemti: pilots trīs novados ar izvērtējumu."


@pytest.fixture
def committee(app):
    return make_user("committee")


def _figures(client, year, lang="en"):
    body = client.get(f"/api/v1/registry/overview/{year}", headers={"Accept-Language": lang}).get_json()
    return body, {figure["key"]: (figure["previous"], figure["value"]) for figure in body["figures"]}


def _rows(body, part):
    return {row["key"]: (row["previous_amount"], row["amount"]) for row in body[part]}


def test_the_overview_of_this_year_on_the_demo(app, client):
    load_demo()
    year = today().year
    body, figures = _figures(client, year)
    assert body["year"] == year
    assert figures == {"new": (0, 2), "advanced": (0, 0), "scaling": (0, 0), "initiatives": (0, 2),
                       "awards": (0, 2), "amount": ("0.00", "34800.00")}
    stages = _rows(body, "by_stage")
    assert stages["problem_identification"] == ("0.00", "4800.00")
    assert stages["idea_generation"] == ("0.00", "10000.00") and stages["prototyping"] == ("0.00", "20000.00")
    assert stages["scaling"] == ("0.00", "0.00")
    regions = _rows(body, "by_region")
    assert regions == {"riga": ("0.00", "0.00"), "vidzeme": ("0.00", "4800.00"), "kurzeme": ("0.00", "0.00"),
                       "zemgale": ("0.00", "0.00"), "latgale": ("0.00", "30000.00")}
    assert _rows(body, "by_fund")["esf_plus"] == ("0.00", "34800.00")
    # Both demo grants work on youth employment (their initiatives' theme).
    assert _rows(body, "by_theme") == {"Jauniešu nodarbinātība": ("0.00", "34800.00")}
    assert {row["title"] for row in body["new"]} == {"Darba prasmju darbnīca jauniešiem",
                                                     "Latgales amatu skola jauniešiem"}

    html = client.get(f"/registry/overview/{year}?lang=en").get_data(as_text=True)
    assert f"<h1>SI ecosystem overview {year}</h1>" in html
    assert re.search(r'<tr data-figure="new" data-value="2" data-previous="0">', html)
    assert re.search(r'<tr data-figure="amount" data-value="34800.00" data-previous="0.00">', html)
    assert "34,800.00 €" in html
    for chart in ("chart-stage", "chart-theme", "chart-region", "chart-fund", "chart-advanced"):
        # Each chart: a figure with a caption naming the image, and the same numbers in a table.
        assert f'<figure class="reg-chart" id="{chart}"' in html
        assert f'<figcaption id="{chart}-caption">' in html
        assert f'aria-labelledby="{chart}-caption {chart}-desc"' in html
        assert f'data-chart-table="{chart}"' in html
    assert '<tr data-key="latgale" data-values="0.00,30000.00">' in html
    assert '<th scope="row">Latgale</th>' in html
    assert re.search(r'<li data-initiative="\d+"><a href="/registry/initiatives/\d+\?lang=en">Latgales amatu skola',
                     html)
    latvian = client.get(f"/registry/overview/{year}").get_data(as_text=True)
    assert '<html lang="lv">' in latvian and "Ideju ģenerēšana" in latvian


def test_a_year_without_data_shows_zeros(app, client):
    load_demo()
    body, figures = _figures(client, 2020)
    assert set(figures.values()) <= {(0, 0), ("0.00", "0.00")}
    assert all(row["amount"] == "0.00" and row["awards"] == 0 for row in body["by_stage"] + body["by_region"])
    assert body["new"] == body["advanced"] == body["scaling"] == []
    for year in (2000, 2020, 2100):
        page = client.get(f"/registry/overview/{year}?lang=en")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'data-empty="new"' in html and '<tr data-key="riga" data-values="0.00,0.00">' in html
    assert 'rel="next"' not in client.get("/registry/overview/2100").get_data(as_text=True)
    assert 'rel="prev"' not in client.get("/registry/overview/2000").get_data(as_text=True)


def test_new_advanced_and_scaling_initiatives_year_on_year(app, client, committee):
    officer = make_user("officer")
    year = today().year
    last_year = date(year - 1, 6, 15)
    rural = make_organisation(make_user(), region=Region.LATGALE)
    # A: first funded last year at sustaining; funded again this year, and moved to scaling this year.
    a, _ = funded(committee, title="A pieaugušo mentorings", stage="sustaining", theme="Izglītība", amount="10000.00",
                  decided_on=last_year, organisation=rural)
    add_award(committee, a, amount="40000.00")
    fire(a, "advance", officer, comment=JUSTIFIED)
    # B: new this year at the idea stage, and moved to prototyping this year.
    b, _ = funded(committee, title="B kopienas dārzi", stage="idea_generation", theme="Vide", amount="5000.00")
    fire(b, "advance", officer, comment=JUSTIFIED)
    # C: never funded: its move does not count.
    c = make_initiative(rural, stage="idea_generation", title="C nefinansēta")
    fire(c, "advance", officer, comment=JUSTIFIED)
    # D: new this year, funded for the scaling stage.
    d, _ = funded(committee, title="D mērogošana", stage="scaling", theme="Izglītība", amount="60000.00",
                  region=Region.KURZEME)
    # E: funded last year for scaling.
    e, _ = funded(committee, title="E pagājušā gada mērogs", stage="scaling", theme="Vide", amount="30000.00",
                  decided_on=last_year)
    # F: new this year, already at systemic change, funded (as an application) for sustaining.
    f = make_initiative(make_organisation(make_user()), stage="systemic_change", title="F sistēmiskas pārmaiņas")
    add_award(committee, f, amount="7000.00", stage="sustaining")

    body, figures = _figures(client, year)
    assert figures["new"] == (2, 3)  # last year A and E; this year B, D, F
    assert figures["advanced"] == (0, 2)  # A and B (not C)
    assert figures["scaling"] == (1, 3)  # last year E (A moved there only this year); this year A, D, F
    assert figures["initiatives"] == (2, 4)
    assert figures["awards"] == (2, 4)
    assert figures["amount"] == ("40000.00", "112000.00")
    assert {row["title"] for row in body["new"]} == {b.title, d.title, f.title}
    assert [(row["title"], row["from_stage"], row["to_stage"]) for row in body["advanced"]] == [
        (a.title, "sustaining", "scaling"), (b.title, "idea_generation", "prototyping")]
    assert {row["title"] for row in body["scaling"]} == {a.title, d.title, f.title}
    moved = {row["key"]: (row["previous_initiatives"], row["initiatives"]) for row in body["advanced_by_stage"]}
    assert moved["scaling"] == (0, 1) and moved["prototyping"] == (0, 1) and moved["sustaining"] == (0, 0)
    themes = _rows(body, "by_theme")
    assert themes["Izglītība"] == ("10000.00", "100000.00") and themes["Vide"] == ("30000.00", "5000.00")
    assert themes[""] == ("0.00", "7000.00")
    assert [row["key"] for row in body["by_theme"]][:2] == ["Izglītība", ""]  # the largest this year first
    regions = _rows(body, "by_region")
    assert regions["latgale"] == ("10000.00", "40000.00") and regions["kurzeme"] == ("0.00", "60000.00")
    stages = _rows(body, "by_stage")
    assert stages["sustaining"] == ("10000.00", "47000.00")  # A's award this year at its stage then, and F's
    assert stages["scaling"] == ("30000.00", "60000.00")

    previous, before = _figures(client, year - 1)
    assert before["new"][1] == 2 and before["scaling"][1] == 1 and before["amount"][1] == "40000.00"

    html = client.get(f"/registry/overview/{year}?lang=en").get_data(as_text=True)
    assert re.search(r'<tr data-figure="new" data-value="3" data-previous="2">.*?\+1 \(\+50 %\)', html, re.S)
    assert re.search(r'<tr data-figure="amount"[^>]*>.*?\+72,000.00 € \(\+180 %\)', html, re.S)
    assert "Sustaining → Scaling and diffusion" in html
    assert f'<li data-initiative="{c.id}">' not in html


def test_many_themes_are_shown_with_the_rest_added_up(app, client, committee):
    call = make_call()
    for n in range(18):
        funded(committee, title=f"Tēma {n}", theme=f"Tēma {n:02d}", call=call, amount=f"{1000 + n * 10}.00")
    body, _ = _figures(client, today().year)
    assert len(body["by_theme"]) == 16 and body["by_theme"][-1]["key"] == "*"
    assert body["by_theme"][0]["key"] == "Tēma 17"
    assert body["by_theme"][-1]["amount"] == "3030.00"  # themes 00, 01 and 02
    assert body["by_theme"][-1]["awards"] == 3


def test_the_overview_prints_as_a_document(app, client):
    html = client.get(f"/registry/overview/{today().year}").get_data(as_text=True)
    assert 'class="reg-nav no-print"' in html and 'class="reg-years no-print"' in html
    css = (Path(app.static_folder) / "css" / "grants.css").read_text()
    block = css.split("/* --- Public SI registry (issue 14) --- */", 1)[1]
    printing = block.split("@media print", 1)[1]
    for rule in (".reg-nav", ".reg-years", "print-color-adjust: exact", "break-inside: avoid"):
        assert rule in printing
