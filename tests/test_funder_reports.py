"""Funder reports (issue 14 item 1; DESIGN §9, §8): the numbers of a small hand-built programme are exactly
right, the fund and period filters change them as they should, the pages and the API show them to
officers, auditors and administrators only, bad filters are refused clearly, the audit head is the one
at the time, and the statements sent do not grow with the applications."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.audit.services import head_hash
from grants.calls.models import Call, Programme
from grants.core.codes import FundSource, LegalForm, Region
from grants.core.db import db, today
from grants.decisions.services import decide
from grants.eligibility import services as eligibility
from grants.eligibility.rules import validate_ruleset
from grants.evaluations.models import Assignment
from grants.evaluations.services import auto_assign, declare
from grants.grants_mgmt import indicators, irregularities, payments, reports
from grants.reports import statistics
from grants.reports.statistics import Filters, call_report, parse_filters, programme_report
from grants.workflows.engine import fire
from tests.factories import (
    GRANT_MIDDLE,
    approved,
    bearer,
    in_evaluation,
    login,
    make_application,
    make_call,
    make_evaluation_call,
    make_organisation,
    make_pool,
    make_programme,
    make_user,
    member_of,
    review,
    signed_grant,
)

EN = {"Accept-Language": "en"}
TODAY = today()
YESTERDAY, TOMORROW = (TODAY - timedelta(days=1)).isoformat(), (TODAY + timedelta(days=1)).isoformat()
PAID_ON = date(2025, 2, 1)
DETECTED_ON = "2025-03-01"


@pytest.fixture
def people(app):
    return {"officer": make_user("officer"), "committee": make_user("committee"),
            "finance1": make_user("finance"), "finance2": make_user("finance")}


def _rules():
    return validate_ruleset([
        {"code": "service_users", "severity": "manual", "title_lv": "Iesaista pakalpojumu lietotājus",
         "title_en": "Involves service users", "message_lv": "Pārbaudīt.", "message_en": "To check.",
         "expression": "application.requested_amount <= 6000"},
        {"code": "long_summary", "severity": "warning", "title_lv": "Izvērsts kopsavilkums",
         "title_en": "A full summary", "message_lv": "Īss.", "message_en": "Short.",
         "expression": "application.summary.length >= 40"},
    ])


def _assignments(application, **where):
    query = sa.select(Assignment).where(Assignment.application_id == application.id).order_by(Assignment.id)
    for key, value in where.items():
        query = query.where(getattr(Assignment, key) == value)
    return db.session.scalars(query).unique().all()


def build(people) -> dict:
    """An ESF+ programme with two calls.

    Call A (idea generation; a manual rule that requests over 6000 EUR fail, and a warning every
    application fails): *funded* asked 5000 and got 4000 (agreement signed, advance of 2000 paid on
    1 February 2025, a progress report accepted reaching 3 pilot sites and 5 women aged 18–29, an
    irregularity of 300 confirmed with a recovery order of 300 of which 100 came back); *disputed*
    had totals 85 and 50 (a discrepancy, a third evaluator scoring 80), was rejected against the
    ranking, appealed and the appeal was dismissed; *recused* is in evaluation, one of its evaluators
    declared a conflict; *ineligible* asked 7000, the officer decided the manual rule failed and
    declared it ineligible; *waiting* is in the eligibility review; a draft was never submitted.
    Call B (prototyping): *scaled*, of a social enterprise in Latgale, asked 6000 and was approved in full
    (no agreement yet). Another programme's application is not counted anywhere.
    """
    officer, committee = people["officer"], people["committee"]
    programme = make_programme(fund_source=FundSource.ESF_PLUS)
    call_a = make_evaluation_call(programme, workflow_version=4, eligibility_rules=_rules())
    call_b = make_evaluation_call(programme, workflow_version=4, eligibility_rules=_rules(),
                                  stages=(("prototyping", "100000.00", "1000.00", "20000.00"),))

    funded = signed_grant(people, amount="4000.00", call=call_a)
    funded.initiative.target_groups = ["jaunieši", "seniori"]
    advance = next(p for p in payments.payments_of(funded) if p.kind.value == "advance")
    payments.act_on_payment(advance, "request", officer, today=TODAY)
    payments.act_on_payment(advance, "verify", people["finance1"], today=TODAY)
    payments.act_on_payment(advance, "pay", people["finance2"], today=TODAY, paid_on=PAID_ON)
    indicators.save_indicators(programme, officer, [
        {"code": "pilot_sites", "title_lv": "Pilotvietas", "title_en": "Pilot sites", "unit_lv": "vietas",
         "unit_en": "sites", "target": "10", "call_targets": {str(call_a.id): "4"}},
        {"code": "esf_participants_women_18_29", "target": "20"}])
    report = reports.create_report(funded, member_of(funded), {
        "kind": "progress", "period_end": GRANT_MIDDLE, "narrative": "Paveikts.",
        "indicators": {"pilot_sites": "3", "esf_participants_women_18_29": "5"},
        "expenditure": [{"category": "staff", "amount": "100.00"}]})
    reports.act_on_report(report, "submit", member_of(funded))
    reports.act_on_report(report, "accept", officer)
    irregularity = irregularities.record_irregularity(funded, officer, {
        "amount": "300.00", "description": "Dubults rēķins.", "detected_on": DETECTED_ON}, today=TODAY)
    irregularities.act_on_irregularity(irregularity, "confirm", officer, comment="Apstiprināts.")
    order = irregularities.issue_recovery_order(irregularity, officer, {"amount": "300.00", "due_on": "2099-01-01"},
                                                today=TODAY)
    irregularities.record_recovery(order, people["finance1"], {"amount": "100.00"}, today=TODAY)

    make_pool(call_a, 3, officer)
    disputed = in_evaluation(call_a, officer, title="Strīdīgais")
    disputed.initiative.target_groups = ["seniori"]
    auto_assign(call_a, officer)
    first, second = _assignments(disputed)
    review(first, 85)
    review(second, 50)
    (third,) = _assignments(disputed, reason="third")
    review(third, 80)
    assert disputed.state == "evaluated"
    decide(disputed, committee, {"outcome": "rejected", "decided_on": TODAY,
                                 "justification": "Komisija uzskata, ka ilgtspēja nav pierādīta."})
    member = member_of(disputed)
    fire(disputed, "appeal", member, comment="Lūdzam pārskatīt.")
    fire(disputed, "dismiss_appeal", officer, comment="Lēmums pamatots.")

    recused = in_evaluation(call_a, officer, title="Atstatītais")
    auto_assign(call_a, officer)
    conflicted = _assignments(recused)[0]
    declare(conflicted, conflicted.evaluator, True, "Mana māsa vada šo biedrību.")

    ineligible = make_application(call_a, title="Neatbilstošais", requested_amount=Decimal("7000.00"))
    fire(ineligible, "submit", member_of(ineligible))
    eligibility.decide(ineligible, "service_users", officer, "fail",
                       "Pakalpojumu lietotāji projektā nav iesaistīti.")
    fire(ineligible, "declare_ineligible", officer, comment="Neatbilst noteikumiem.")

    waiting = make_application(call_a, title="Gaida")
    fire(waiting, "submit", member_of(waiting))
    make_application(call_a, title="Melnraksts")

    owner = make_user("applicant")
    enterprise = make_organisation(owner, region=Region.LATGALE, legal_form=LegalForm.SOCIAL_ENTERPRISE)
    scaled = approved(call_b, officer, committee, organisation=enterprise, si_stage="prototyping",
                      requested_amount=Decimal("6000.00"))

    elsewhere = make_application(make_call(), title="Cita programma")
    fire(elsewhere, "submit", member_of(elsewhere))
    db.session.flush()
    return {"programme": programme, "call_a": call_a, "call_b": call_b, "funded": funded, "disputed": disputed,
            "recused": recused, "ineligible": ineligible, "waiting": waiting, "scaled": scaled}


@pytest.fixture
def world(app, session, people):
    return build(people)


def _rows(table, key):
    return {row[key]: row for row in table}


# --- the numbers ---------------------------------------------------------------------------------------------

def test_the_programme_report_counts_exactly_what_happened(world):
    report = programme_report(world["programme"])
    assert report.funnel == {"received": 6, "eligible": 4, "ineligible": 1, "undecided": 1, "evaluated": 3,
                             "funded": 2}
    assert report.money == {"requested": Decimal("33000.00"), "awarded": Decimal("10000.00"),
                            "paid": Decimal("2000.00")}

    stages = _rows(report.by_stage, "si_stage")
    assert list(stages) == ["idea_generation", "prototyping"]
    assert {key: stages["idea_generation"][key] for key in ("received", "requested", "funded", "awarded", "paid")} \
        == {"received": 5, "requested": Decimal("27000.00"), "funded": 1, "awarded": Decimal("4000.00"),
            "paid": Decimal("2000.00")}
    assert {key: stages["prototyping"][key] for key in ("received", "requested", "funded", "awarded", "paid")} \
        == {"received": 1, "requested": Decimal("6000.00"), "funded": 1, "awarded": Decimal("6000.00"),
            "paid": Decimal("0.00")}

    regions = _rows(report.by_region, "region")
    assert list(regions) == ["riga", "vidzeme", "kurzeme", "zemgale", "latgale"]
    assert (regions["riga"]["received"], regions["riga"]["funded"], regions["riga"]["awarded"]) == \
        (5, 1, Decimal("4000.00"))
    assert (regions["latgale"]["received"], regions["latgale"]["funded"], regions["latgale"]["awarded"]) == \
        (1, 1, Decimal("6000.00"))
    assert regions["vidzeme"]["received"] == 0

    forms = _rows(report.by_legal_form, "legal_form")
    assert {code: row["received"] for code, row in forms.items()} == {"association": 5, "social_enterprise": 1}
    assert forms["social_enterprise"]["awarded"] == Decimal("6000.00")

    groups = _rows(report.by_target_group, "target_group")
    assert list(groups) == ["seniori", "jaunieši", ""]
    assert (groups["seniori"]["received"], groups["seniori"]["funded"], groups["seniori"]["requested"]) == \
        (2, 1, Decimal("10000.00"))
    assert (groups["jaunieši"]["received"], groups["jaunieši"]["awarded"], groups["jaunieši"]["paid"]) == \
        (1, Decimal("4000.00"), Decimal("2000.00"))
    assert groups[""]["received"] == 4

    # the manual rule decided as failed; the failed warning is no reason
    assert report.ineligible_reasons == [{"rule_code": "service_users", "title": "Iesaista pakalpojumu lietotājus",
                                          "applications": 1}]

    assert report.selection == {"reviews_submitted": 7, "discrepancies": 1, "third_evaluators": 1, "recusals": 1,
                                "appeals_lodged": 1, "appeals_upheld": 0, "appeals_dismissed": 1,
                                "appeals_pending": 0, "decisions": 3, "decisions_departing": 1}
    assert _rows(report.decisions, "outcome") == {
        "approved": {"outcome": "approved", "label": "Apstiprināts", "count": 2, "departing": 0},
        "reserve": {"outcome": "reserve", "label": "Rezerves saraksts", "count": 0, "departing": 0},
        "rejected": {"outcome": "rejected", "label": "Noraidīts", "count": 1, "departing": 1}}

    states = _rows(report.irregularities, "state")
    assert list(states) == ["suspected", "confirmed", "recovered", "written_off", "dismissed"]
    assert {key: states["confirmed"][key] for key in ("count", "amount", "orders", "ordered", "recovered")} == \
        {"count": 1, "amount": Decimal("300.00"), "orders": 1, "ordered": Decimal("300.00"),
         "recovered": Decimal("100.00")}
    assert report.recoveries == {"orders": 1, "ordered": Decimal("300.00"), "recovered": Decimal("100.00"),
                                 "outstanding": Decimal("200.00")}

    progress = _rows(report.indicators, "code")
    assert (progress["pilot_sites"]["actual"], progress["pilot_sites"]["target"], progress["pilot_sites"]["percent"]) \
        == (Decimal("3.00"), Decimal("10.00"), 30)
    women = _rows([row for row in report.participants if row["gender"] == "women"], "age_group")
    assert (women["18_29"]["actual"], women["18_29"]["target"]) == (Decimal("5.00"), Decimal("20.00"))
    assert women["30_54"]["actual"] == 0 and len(report.participants) == 12
    assert report.participants_matrix[0]["actual"] == Decimal("5.00")


def test_unfiltered_indicators_agree_with_the_programme_progress_service(world):
    total, _per_call = indicators.programme_progress(world["programme"])
    report = programme_report(world["programme"])
    assert [(row["code"], row["target"], row["actual"]) for row in report.indicators] == \
        [(row.indicator.code, row.target, row.actual) for row in total]
    call = call_report(world["call_a"])
    assert [(row["code"], row["target"], row["actual"]) for row in call.indicators] == \
        [(row.indicator.code, row.target, row.actual) for row in indicators.call_progress(world["call_a"])]


def test_a_call_report_counts_only_its_call(world):
    first = call_report(world["call_a"])
    assert first.funnel == {"received": 5, "eligible": 3, "ineligible": 1, "undecided": 1, "evaluated": 2,
                            "funded": 1}
    assert first.money == {"requested": Decimal("27000.00"), "awarded": Decimal("4000.00"),
                           "paid": Decimal("2000.00")}
    assert [row["si_stage"] for row in first.by_stage] == ["idea_generation"]
    assert _rows(first.indicators, "code")["pilot_sites"]["target"] == Decimal("4.00")  # the call's target
    assert _rows(first.indicators, "code")["pilot_sites"]["percent"] == 75
    assert first.selection["decisions"] == 2 and first.selection["recusals"] == 1

    second = call_report(world["call_b"])
    assert second.funnel == {"received": 1, "eligible": 1, "ineligible": 0, "undecided": 0, "evaluated": 1,
                             "funded": 1}
    assert second.money["awarded"] == Decimal("6000.00") and second.money["paid"] == Decimal("0.00")
    assert [row["si_stage"] for row in second.by_stage] == ["prototyping"]
    assert _rows(second.by_region, "region")["latgale"]["funded"] == 1
    assert second.ineligible_reasons == [] and second.irregularity_totals["count"] == 0
    assert _rows(second.indicators, "code")["pilot_sites"]["target"] is None  # no target for call B


# --- the filters ---------------------------------------------------------------------------------------------

def test_a_fund_other_than_the_programmes_gives_an_empty_report(world):
    same = programme_report(world["programme"], parse_filters("esf_plus"))
    assert same.fund_matches and same.funnel == programme_report(world["programme"]).funnel
    other = programme_report(world["programme"], parse_filters("national"))
    assert not other.fund_matches
    assert set(other.funnel.values()) == {0}
    assert set(other.money.values()) == {Decimal("0.00")}
    assert other.by_stage == [] and other.by_target_group == [] and other.ineligible_reasons == []
    assert all(row["received"] == 0 for row in other.by_region)
    assert other.indicators == [] and other.participants == []
    assert set(other.selection.values()) == {0} and other.irregularity_totals["count"] == 0


def test_the_period_applies_to_submission_decision_payment_detection_and_report_dates(world):
    last_year = programme_report(world["programme"], parse_filters(None, "2025-01-01", "2025-12-31"))
    # nothing was submitted or decided in 2025, but the advance was paid then, the irregularity found then
    # and the accepted report covers a period ending then
    assert last_year.funnel == {"received": 0, "eligible": 0, "ineligible": 0, "undecided": 0, "evaluated": 0,
                                "funded": 0}
    assert last_year.money == {"requested": Decimal("0.00"), "awarded": Decimal("0.00"), "paid": Decimal("2000.00")}
    assert [(row["si_stage"], row["received"], row["paid"]) for row in last_year.by_stage] == \
        [("idea_generation", 0, Decimal("2000.00"))]
    assert last_year.selection["decisions"] == 0 and last_year.selection["reviews_submitted"] == 0
    assert last_year.irregularity_totals["count"] == 1 and last_year.recoveries["recovered"] == Decimal("100.00")
    assert _rows(last_year.indicators, "code")["pilot_sites"]["actual"] == Decimal("3.00")

    now = programme_report(world["programme"], parse_filters(None, YESTERDAY, TOMORROW))
    assert now.funnel == {"received": 6, "eligible": 4, "ineligible": 1, "undecided": 1, "evaluated": 3,
                          "funded": 2}
    assert now.money == {"requested": Decimal("33000.00"), "awarded": Decimal("10000.00"), "paid": Decimal("0.00")}
    assert now.selection["decisions"] == 3 and now.selection["appeals_lodged"] == 1
    assert now.irregularity_totals["count"] == 0
    assert _rows(now.indicators, "code")["pilot_sites"]["actual"] == 0
    assert now.ineligible_reasons[0]["applications"] == 1

    only_from = programme_report(world["programme"], parse_filters(None, TOMORROW, None))
    assert only_from.funnel["received"] == 0 and only_from.money["paid"] == Decimal("0.00")
    until = programme_report(world["programme"], parse_filters(None, None, "2025-02-01"))
    assert until.money["paid"] == Decimal("2000.00") and until.funnel["received"] == 0
    assert until.irregularity_totals["count"] == 0  # detected on 1 March 2025


@pytest.mark.parametrize(("fund", "start", "end", "fields"), [
    ("gold", None, None, {"fund"}),
    (None, "2026-13-01", None, {"from"}),
    (None, None, "31.12.2026", {"to"}),
    (None, "20260101", None, {"from"}),
    (None, "2026-W01-1", None, {"from"}),
    (None, "0001-01-01", None, {"from"}),
    (None, "2026-03-01", "2026-02-01", {"to"}),
    ("x" * 500, "x", "y", {"fund", "from", "to"}),
])
def test_bad_filters_are_refused_naming_the_field(app, fund, start, end, fields):
    from grants.core.errors import UserInputError

    with pytest.raises(UserInputError) as refused:
        parse_filters(fund, start, end)
    assert set(refused.value.fields) == fields and refused.value.status == 422


def test_filters_are_read_from_text_and_kept_in_urls(app):
    assert parse_filters("", " ", None) == Filters()
    filters = parse_filters("esf_plus", "2026-01-01", "2026-12-31")
    assert filters == Filters("esf_plus", date(2026, 1, 1), date(2026, 12, 31))
    assert filters.as_args() == {"fund": "esf_plus", "from": "2026-01-01", "to": "2026-12-31"}


# --- the audit head ------------------------------------------------------------------------------------------

def test_the_report_quotes_the_audit_head_and_event_count_of_its_time(world, people):
    report = programme_report(world["programme"])
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert report.audit_head == {"hash": head_hash(), "events": events}
    assert events > 20
    fire(world["waiting"], "declare_eligible", people["officer"])
    later = programme_report(world["programme"])
    assert later.audit_head["hash"] == head_hash() != report.audit_head["hash"]
    assert later.audit_head["events"] == events + 1
    assert later.generated_at >= report.generated_at
    assert later.funnel["eligible"] == report.funnel["eligible"] + 1


# --- the tables for exports ----------------------------------------------------------------------------------

def test_every_table_is_plain_rows_with_the_documented_keys(world):
    from grants.reports.statistics import TABLE_COLUMNS, TABLE_TITLES

    tables = programme_report(world["programme"]).tables()
    assert set(tables) == set(TABLE_COLUMNS) == set(TABLE_TITLES)
    for name, rows in tables.items():
        keys = [column.key for column in TABLE_COLUMNS[name]]
        assert rows, name
        for row in rows:
            assert list(row) == keys, name
    assert _rows(tables["funnel"], "step")["funded"]["count"] == 2
    assert _rows(tables["selection"], "measure")["third_evaluators"]["count"] == 1
    assert _rows(tables["money"], "measure")["paid"]["amount"] == Decimal("2000.00")


# --- pages ---------------------------------------------------------------------------------------------------

def _page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def _cell(html, table, row_attr, value):
    match = re.search(rf'data-table="{table}".*?<tr {row_attr}="{re.escape(value)}"([^>]*)>', html, re.S)
    assert match, (table, value)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(1)))


def test_the_programme_page_shows_charts_tables_and_the_audit_footer(client, world):
    auditor = make_user("auditor")
    login(client, auditor)
    programme = world["programme"]
    html = _page(client, f"/reports/programmes/{programme.id}?lang=en")
    assert f"Funder report of a programme: {programme.title_en}" in html
    funnel = re.search(r'data-chart="funnel".*?</svg>', html, re.S).group(0)
    assert re.findall(r'data-step="(\w+)" data-value="(\d+)"', funnel) == [
        ("received", "6"), ("eligible", "4"), ("evaluated", "3"), ("funded", "2")]
    assert 'role="img"' in funnel and "<title" in funnel and "Received: 6 (100 %)" in funnel
    assert _cell(html, "funnel", "data-step", "ineligible")["count"] == "1"
    for chart in ("stage-counts", "stage-money", "region-counts", "money"):
        assert f'data-chart="{chart}"' in html and f'id="{chart}-desc"' in html
    assert _cell(html, "by_stage", "data-code", "idea_generation") == {
        "received": "5", "funded": "1", "requested": "27000.00", "awarded": "4000.00", "paid": "2000.00"}
    assert _cell(html, "by_region", "data-code", "latgale")["awarded"] == "6000.00"
    assert _cell(html, "by_target_group", "data-code", "seniori")["received"] == "2"
    assert _cell(html, "ineligible_reasons", "data-rule", "service_users")["applications"] == "1"
    assert "Involves service users" in html  # the rule's title in the reader's language
    assert _cell(html, "selection", "data-measure", "recusals")["count"] == "1"
    assert _cell(html, "decisions", "data-outcome", "rejected")["departing"] == "1"
    assert _cell(html, "irregularities", "data-state", "confirmed")["recovered"] == "100.00"
    assert _cell(html, "indicators", "data-code", "pilot_sites")["actual"] == "3.00"
    assert 'data-table="participants"' in html
    footer = re.search(r'<footer class="fr-footer"[^>]*>', html).group(0)
    assert f'data-audit-head="{head_hash()}"' in footer
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert f'data-audit-events="{events}"' in footer
    assert f'href="/reports/calls/{world["call_a"].id}"' in html
    assert "first submitted" in html  # the page says how the period applies
    # the language of the page: Latvian by default
    assert "Iesaista pakalpojumu lietotājus" in _page(client, f"/reports/programmes/{programme.id}")


def test_the_period_and_fund_are_kept_in_the_form_and_the_links(client, world):
    login(client, make_user("officer"))
    programme, call = world["programme"], world["call_a"]
    html = _page(client, f"/reports/programmes/{programme.id}?fund=esf_plus&from=2025-01-01&to=2025-12-31")
    assert re.search(r'<option value="esf_plus" selected>', html)
    assert 'name="from" value="2025-01-01"' in html and 'name="to" value="2025-12-31"' in html
    assert _cell(html, "funnel", "data-step", "received")["count"] == "0"
    assert _cell(html, "money", "data-measure", "paid")["amount"] == "2000.00"
    assert f'href="/reports/calls/{call.id}?from=2025-01-01&amp;to=2025-12-31"' in html
    empty = _page(client, f"/reports/programmes/{programme.id}?fund=private")
    assert "data-fund-mismatch" in empty and _cell(empty, "funnel", "data-step", "received")["count"] == "0"
    html = _page(client, f"/reports/calls/{call.id}?from={YESTERDAY}&to={TOMORROW}")
    assert _cell(html, "funnel", "data-step", "received")["count"] == "5"
    assert 'name="fund"' not in html


@pytest.mark.parametrize("query", ["from=2026-02-30", "to=yesterday", "fund=gold", "from=2026-05-01&to=2026-04-01",
                                   "from=" + "9" * 300])
def test_a_bad_filter_shows_a_message_and_the_unfiltered_report(client, world, query):
    login(client, make_user("auditor"))
    html = _page(client, f"/reports/programmes/{world['programme'].id}?{query}&lang=en", status=422)
    assert "data-filter-errors" in html and "not filtered" in html
    assert 'aria-invalid="true"' in html
    assert _cell(html, "funnel", "data-step", "received")["count"] == "6"
    html = _page(client, f"/reports/calls/{world['call_a'].id}?from=nonsense", status=422)
    assert _cell(html, "funnel", "data-step", "received")["count"] == "5"


def test_the_list_of_reports_links_programmes_and_calls(client, world):
    login(client, make_user("admin"))
    html = _page(client, "/reports/")
    assert f'href="/reports/programmes/{world["programme"].id}"' in html
    for call in (world["call_a"], world["call_b"]):
        assert f'href="/reports/calls/{call.id}"' in html


@pytest.mark.parametrize(("role", "status"), [("officer", 200), ("auditor", 200), ("admin", 200), ("applicant", 403),
                                              ("evaluator", 403), ("committee", 403), ("finance", 403)])
def test_who_may_read_the_pages(client, session, role, status):
    programme = make_programme()
    call = make_call(programme)
    login(client, make_user(role))
    for url in ("/reports/", f"/reports/programmes/{programme.id}", f"/reports/calls/{call.id}"):
        assert client.get(url).status_code == status, url


def test_pages_need_a_sign_in_and_unknown_reports_are_404(client, session):
    programme = make_programme()
    response = client.get(f"/reports/programmes/{programme.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, make_user("officer"))
    assert client.get("/reports/programmes/999999").status_code == 404
    assert client.get("/reports/calls/999999").status_code == 404
    assert client.get("/reports/programmes/99999999999999").status_code == 404


# --- the API -------------------------------------------------------------------------------------------------

def test_the_api_gives_the_same_numbers_as_money_strings_and_integers(client, world):
    headers = {**bearer(make_user("auditor")), **EN}
    programme = world["programme"]
    body = client.get(f"/api/v1/reports/programmes/{programme.id}", headers=headers).get_json()
    assert body["kind"] == "programme" and body["programme"]["id"] == programme.id and body["call"] is None
    assert body["funnel"] == {"received": 6, "eligible": 4, "ineligible": 1, "undecided": 1, "evaluated": 3,
                              "funded": 2}
    assert body["money"] == {"requested": "33000.00", "awarded": "10000.00", "paid": "2000.00"}
    assert _rows(body["by_stage"], "si_stage")["prototyping"] == {
        "si_stage": "prototyping", "label": "Prototyping and pilots", "received": 1, "requested": "6000.00",
        "funded": 1, "awarded": "6000.00", "paid": "0.00"}
    assert body["ineligible_reasons"] == [{"rule_code": "service_users", "title": "Involves service users",
                                           "applications": 1}]
    assert body["selection"]["third_evaluators"] == 1 and body["selection"]["decisions_departing"] == 1
    assert body["recoveries"] == {"orders": 1, "ordered": "300.00", "recovered": "100.00", "outstanding": "200.00"}
    assert _rows(body["indicators"], "code")["pilot_sites"] == {
        "code": "pilot_sites", "title": "Pilot sites", "unit": "sites", "is_common": False, "target": 10.0,
        "actual": 3.0, "percent": 30}
    assert {"gender": "women", "age_group": "18_29", "target": 20.0, "actual": 5.0} in body["participants"]
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert body["audit_head"] == {"hash": head_hash(), "events": events}
    assert body["generated_at"].endswith("+00:00")
    assert body["filters"] == {"fund": None, "from": None, "to": None}

    filtered = client.get(f"/api/v1/reports/programmes/{programme.id}?fund=esf_plus&from=2025-01-01&to=2025-12-31",
                          headers=headers).get_json()
    assert filtered["filters"] == {"fund": "esf_plus", "from": "2025-01-01", "to": "2025-12-31"}
    assert filtered["funnel"]["received"] == 0 and filtered["money"]["paid"] == "2000.00"
    other = client.get(f"/api/v1/reports/programmes/{programme.id}?fund=eea_norway", headers=headers).get_json()
    assert other["fund_matches"] is False and other["funnel"]["received"] == 0

    call = client.get(f"/api/v1/reports/calls/{world['call_b'].id}", headers=headers).get_json()
    assert call["kind"] == "call" and call["call"]["id"] == world["call_b"].id
    assert call["money"] == {"requested": "6000.00", "awarded": "6000.00", "paid": "0.00"}
    period = client.get(f"/api/v1/reports/calls/{world['call_a'].id}?from=2025-01-01&to=2025-12-31",
                        headers=headers).get_json()
    assert period["money"]["paid"] == "2000.00" and period["funnel"]["received"] == 0


@pytest.mark.parametrize(("query", "fields"), [("fund=gold", {"fund"}), ("from=2026-02-30", {"from"}),
                                               ("to=2026-1-1", {"to"}), ("from=2026-05-02&to=2026-05-01", {"to"}),
                                               ("fund=national&from=x&to=y", {"from", "to"})])
def test_the_api_refuses_bad_filters_with_422(client, session, query, fields):
    programme = make_programme()
    response = client.get(f"/api/v1/reports/programmes/{programme.id}?{query}", headers=bearer(make_user("officer")))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_error" and set(body["fields"]) == fields and body["message"]


@pytest.mark.parametrize(("role", "status"), [("officer", 200), ("auditor", 200), ("admin", 200), ("applicant", 403),
                                              ("evaluator", 403), ("committee", 403), ("finance", 403)])
def test_who_may_read_the_api(client, session, role, status):
    call = make_call()
    headers = bearer(make_user(role))
    assert client.get(f"/api/v1/reports/programmes/{call.programme_id}", headers=headers).status_code == status
    assert client.get(f"/api/v1/reports/calls/{call.id}", headers=headers).status_code == status


def test_the_api_needs_a_token_and_answers_404_for_unknown_ones(client, session):
    call = make_call()
    assert client.get(f"/api/v1/reports/programmes/{call.programme_id}").status_code == 401
    assert client.get(f"/api/v1/reports/calls/{call.id}",
                      headers={"Authorization": "Bearer nonsense"}).status_code == 401
    headers = bearer(make_user("officer"))
    assert client.get("/api/v1/reports/programmes/999999", headers=headers).status_code == 404
    assert client.get("/api/v1/reports/calls/999999", headers=headers).status_code == 404


def test_the_openapi_document_describes_the_reports(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    programme = spec["paths"]["/api/v1/reports/programmes/{programme_id}"]["get"]
    names = {parameter["name"] for parameter in programme["parameters"] if parameter["in"] == "query"}
    assert {"fund", "from", "to"} <= names
    assert {"200", "404", "422"} <= set(programme["responses"])
    assert "get" in spec["paths"]["/api/v1/reports/calls/{call_id}"]
    schema = spec["components"]["schemas"]["Report"]
    assert {"audit_head", "generated_at", "funnel", "by_stage", "by_region", "by_legal_form", "by_target_group",
            "ineligible_reasons", "indicators", "selection", "irregularities"} <= set(schema["properties"])


# --- the demo ------------------------------------------------------------------------------------------------

def test_the_demos_reports_render_with_real_numbers(client, session):
    from grants.demo import CLOSED_CALL_CODE, load_demo

    load_demo()
    programme = db.session.scalar(sa.select(Programme).where(Programme.code == "SIKC-2026"))
    closed = db.session.scalar(sa.select(Call).where(Call.code == CLOSED_CALL_CODE))
    report = programme_report(programme)
    assert report.funnel["received"] == 7 and report.funnel["ineligible"] == 1 and report.funnel["funded"] == 2
    assert report.money["paid"] > 0 and report.selection["third_evaluators"] == 1
    login(client, _demo_user("auditor@demo.lv"), password="demo-demo-demo")
    html = _page(client, f"/reports/programmes/{programme.id}")
    assert _cell(html, "funnel", "data-step", "received")["count"] == "7"
    assert 'data-chart="funnel"' in html and "data-audit-head" in html
    html = _page(client, f"/reports/calls/{closed.id}?lang=en")
    assert _cell(html, "funnel", "data-step", "ineligible")["count"] == "1"
    assert "No rule failed" in html  # the demo declared it ineligible with the officer's reasons alone
    assert _page(client, "/reports/").count('data-call="') == 3


def _demo_user(email):
    from grants.users.services import find_user_by_email

    return find_user_by_email(email)


# --- statements ----------------------------------------------------------------------------------------------

def _grow(people, call, count):
    """``count`` more applications of ``call`` with a target group, submitted."""
    for _ in range(count):
        make_application(call, title="Vēl viens").initiative.target_groups = ["ģimenes"]
    for application in db.session.scalars(sa.select(Application).where(Application.call_id == call.id,
                                                                       Application.state == "draft")).unique():
        fire(application, "submit", member_of(application))
    db.session.flush()


def test_the_statements_sent_do_not_grow_with_the_applications(client, session, people, count_queries):
    programme = make_programme()
    call = make_evaluation_call(programme, workflow_version=4)
    signed_grant(people, call=call)
    indicators.save_indicators(programme, people["officer"], [
        {"code": "pilot_sites", "title_lv": "Vietas", "title_en": "Sites", "unit_lv": "v", "unit_en": "s",
         "target": "5", "call_targets": {str(call.id): "2"}}])
    _grow(people, call, 1)
    login(client, make_user("auditor"))
    headers = bearer(make_user("auditor"))
    urls = [f"/reports/programmes/{programme.id}?from=2020-01-01&fund=esf_plus", f"/reports/calls/{call.id}",
            f"/api/v1/reports/programmes/{programme.id}", f"/api/v1/reports/calls/{call.id}?to=2999-01-01"]
    for url in urls:
        client.get(url, headers=headers)
    small = []
    for url in urls:  # each made afresh (not the kept one: see the test below)
        statistics._kept.clear()
        with count_queries() as counter:
            assert client.get(url, headers=headers).status_code == 200
        small.append(counter.count)
    statistics._kept.clear()
    with count_queries() as direct:
        programme_report(programme)
    signed_grant(people, call=call)
    _grow(people, call, 3)
    large = []
    for url in urls:
        statistics._kept.clear()
        with count_queries() as counter:
            assert client.get(url, headers=headers).status_code == 200
        large.append(counter.count)
    statistics._kept.clear()
    with count_queries() as direct_large:
        report = programme_report(programme)
    assert report.funnel["received"] == 6 and report.funnel["funded"] == 2
    assert large == small
    assert direct_large.count == direct.count <= 12


def test_a_report_is_kept_until_anything_it_counts_changes(world, people, count_queries):
    programme = world["programme"]
    first = programme_report(programme)
    with count_queries() as kept:
        again = programme_report(programme)
    assert kept.count == 1  # the fingerprint: the head and the counted tables' newest ids
    assert again.funnel == first.funnel and again.generated_at == first.generated_at
    assert again.audit_head == first.audit_head
    again.by_stage[0]["received"] = -1  # a reader's copy: the kept report is not changed
    again.progress.clear()
    third = programme_report(programme)
    assert third.by_stage == first.by_stage and len(third.progress) == len(first.progress)

    fire(world["waiting"], "declare_eligible", people["officer"])  # audited: the head moves
    with count_queries() as made:
        changed = programme_report(programme)
    assert made.count > 1 and changed.funnel["eligible"] == first.funnel["eligible"] + 1

    make_application(world["waiting"].call)  # a row written without an event (a bulk load): a new newest id
    with count_queries() as made_again:
        programme_report(programme)
    assert made_again.count > 1
    with count_queries() as kept_again:
        in_latvian = programme_report(programme)
    assert kept_again.count == 1
    with force_locale("en"), count_queries() as other_language:
        assert programme_report(programme).participants != in_latvian.participants  # labels in the language read
    assert other_language.count > 1
