"""Grant pages after award (issue 13, item 8, pages B): a grant report written, submitted and reviewed
in the browser, the irregularities register and an irregularity's recovery, a programme's indicators."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from grants.core.codes import FundSource
from grants.core.db import db, today, utcnow
from grants.evaluations.models import Assignment
from grants.forms.templates import budget_with_cofinancing
from grants.grants_mgmt import agreements, indicators, irregularities, reports
from grants.grants_mgmt.models import GrantReport, RecoveryOrder
from grants.workflows.engine import fire
from tests.conftest import csrf_token_from
from tests.factories import (
    approved,
    make_evaluation_call,
    make_programme,
    make_user,
    member_of,
    pdf_bytes,
    small_form,
)
from tests.factories import login as sign_in

# --- set-up -----------------------------------------------------------------------------------------------


@pytest.fixture
def staff(app):
    return {"officer": make_user("officer", name="Olga Referente"), "committee": make_user("committee"),
            "finance": make_user("finance", name="Fricis Finansists"), "auditor": make_user("auditor")}


def own_indicator(programme, officer, code="workshops", **extra):
    """The programme's own indicator (through the service)."""
    items = [{"code": row.code, "title_lv": row.title_lv, "title_en": row.title_en, "unit_lv": row.unit_lv,
              "unit_en": row.unit_en} for row in indicators.own_indicators(programme) if not row.is_common]
    items.append({"code": code, "title_lv": "Darbnīcas", "title_en": "Workshops held", "unit_lv": "darbnīcas",
                  "unit_en": "workshops", **extra})
    indicators.save_indicators(programme, officer, items)


def running_grant(staff, programme=None, *, targets=None):
    """An award under a signed agreement, in implementation, requiring a progress report (period over,
    due in the past: overdue) and a final report; the agreement sets indicator targets."""
    programme = programme or make_programme()
    if not any(row.code == "workshops" for row in indicators.own_indicators(programme)):
        own_indicator(programme, staff["officer"])
    call = make_evaluation_call(programme, workflow_version=4, form=[*small_form(), budget_with_cofinancing()])
    application = approved(call, staff["officer"], staff["committee"], amount="5000.00", title="Kopienas dārzs")
    start = today() - timedelta(days=200)
    end, middle = start + timedelta(days=180), start + timedelta(days=90)
    agreements.save_agreement(application, staff["officer"], {
        "start_date": start, "end_date": end,
        "indicator_targets": targets if targets is not None else {"workshops": 4, "esf_entities_supported": 1},
        "reports": [{"kind": "progress", "period_end": middle, "due_on": middle + timedelta(days=20)},
                    {"kind": "final", "period_end": end, "due_on": end + timedelta(days=300)}]}, today=today())
    agreements.attach_signed_file(application, staff["officer"], FileStorage(
        io.BytesIO(pdf_bytes()), filename="ligums.pdf", content_type="application/pdf"))
    fire(application, "sign_contract", staff["officer"])
    fire(application, "start_implementation", staff["officer"])
    return application


def gate_reviewer(application):
    """An evaluator of the grant's stage gate who declared no conflict of interest."""
    base = db.session.scalars(sa.select(Assignment).where(Assignment.application_id == application.id)).first()
    evaluator = make_user("evaluator")
    db.session.add(Assignment(application_id=application.id, call_id=base.call_id, evaluator_id=evaluator.id,
                              submission_id=base.submission_id, content_hash=base.content_hash, due_at=base.due_at,
                              gate_stage="prototyping", state="accepted", has_conflict=False, declared_at=utcnow()))
    db.session.flush()
    return evaluator


def dues(application):
    return {due.kind.value: due for due in agreements.dues_of(application)}


def draft_report(application, kind="progress", **content):
    due = dues(application)[kind]
    return reports.create_report(application, member_of(application), {
        "kind": kind, "period_end": due.period_end.isoformat(), **content})


def login(client, user):
    """Sign ``user`` in through the login form (whoever was signed in is forgotten), pages in English."""
    client.delete_cookie("session")
    sign_in(client, user)
    english(client)


def english(client):
    client.get("/language/en")


def page_of(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def post_form(client, path, data, *, page_path=None):
    token = csrf_token_from(client.get(page_path or path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def act(client, path, trigger, comment="", version=None):
    page = client.get(path).get_data(as_text=True)
    version = version if version is not None else re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    return client.post(path, data={"csrf_token": csrf_token_from(page), "trigger": trigger, "comment": comment,
                                   "version": version})


def report_data(narrative="Notika četras darbnīcas.", indicators_=None, lines=(), version=None):
    data = {"narrative": narrative}
    for code, value in (indicators_ or {}).items():
        data[f"indicator-{code}"] = value
    for index, (category, amount, co_financing) in enumerate(lines):
        data.update({f"expenditure-{index}-category": category, f"expenditure-{index}-amount": amount,
                     f"expenditure-{index}-co_financing": co_financing})
    if version is not None:
        data["version"] = version
    return data



class _FormReader(HTMLParser):
    """The fields of the forms of a page, as a browser would send them (text, hidden, date inputs; checked
    boxes; the selected option; textareas), per form."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[dict[str, str], list[tuple[str, str]]]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append((a, []))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "file"):
                return
            self.forms[-1][1].append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1][1].append((self._select, a.get("value") or ""))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.forms[-1][1].append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text += data


def form_fields(html: str, marker: str) -> dict[str, str]:
    """The fields of the first form whose opening tag contains ``marker`` (its action, its class)."""
    reader = _FormReader()
    reader.feed(html)
    for attrs, fields in reader.forms:
        if marker in " ".join(f'{key}="{value}"' for key, value in attrs.items()):
            return dict(fields)
    raise AssertionError(f"no form {marker!r} on the page")


def main_of(html: str) -> str:
    return html[html.index("<main"):html.index("</main>")]


# --- a new report ------------------------------------------------------------------------------------------


def test_the_grantee_drafts_the_report_of_a_required_period(client, session, staff):
    application = running_grant(staff)
    due = dues(application)["progress"]
    login(client, member_of(application))
    english(client)
    path = f"/grants/{application.id}/reports/new?kind=progress&period_end={due.period_end.isoformat()}"
    page = page_of(client, path)
    assert "Progress report" in page and "Workshops held" in page and "(overdue)" in page
    assert 'name="indicator-esf_participants_women_under_18"' in page  # the ESF+ participants grid
    assert f'href="/grants/{application.id}"' in page  # back to the grant
    fields = form_fields(page, "r-edit")
    fields.update(report_data(indicators_={"workshops": "2", "esf_participants_women_18_29": "5"},
                              lines=[("staff", "1200.50", "100"), ("", "", ""), ("travel", "80", "")]))
    response = client.post(path, data=fields)
    assert response.status_code == 302
    report = session.scalars(sa.select(GrantReport).where(GrantReport.application_id == application.id)).one()
    assert response.headers["Location"].endswith(f"/grants/reports/{report.id}")
    assert report.state == "draft" and report.narrative == "Notika četras darbnīcas."
    assert report.indicators == {"workshops": "2.00", "esf_participants_women_18_29": "5"}
    assert report.expenditure == [{"category": "staff", "amount": "1200.50", "co_financing": "100.00"},
                                  {"category": "travel", "amount": "80.00", "co_financing": "0.00"}]
    # The period has its report now: the form leads to it.
    again = client.get(path)
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/grants/reports/{report.id}")


def test_a_new_report_refuses_bad_values_and_periods_the_agreement_does_not_require(client, session, staff):
    application = running_grant(staff)
    due = dues(application)["final"]
    login(client, member_of(application))
    english(client)
    path = f"/grants/{application.id}/reports/new?kind=final&period_end={due.period_end.isoformat()}"
    fields = form_fields(page_of(client, path), "r-edit")
    fields.update(report_data(indicators_={"workshops": "many"}, lines=[("staff", "-5", "")]))
    response = client.post(path, data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="many"' in page and 'value="-5"' in page and "Notika četras darbnīcas." in page
    assert 'id="indicator-workshops-error"' in page and 'id="expenditure-0-amount-error"' in page
    assert session.scalar(sa.select(sa.func.count()).select_from(GrantReport)) == 0

    # A period the agreement does not require: said so, with the periods it requires.
    wrong = f"/grants/{application.id}/reports/new?kind=final&period_end=2001-01-01"
    response = client.get(wrong)
    assert response.status_code == 404
    listed = response.get_data(as_text=True)
    assert "The agreement requires no such report." in listed
    assert f"period_end={due.period_end.isoformat()}" in listed  # a link to each required one
    response = client.post(wrong, data={**fields, "csrf_token": csrf_token_from(listed)})
    assert response.status_code == 422
    assert "The agreement requires no such report. Required: progress" in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(GrantReport)) == 0


def test_only_the_grantee_writes_reports(client, session, staff):
    application = running_grant(staff)
    due = dues(application)["progress"]
    path = f"/grants/{application.id}/reports/new?kind=progress&period_end={due.period_end.isoformat()}"
    for user, status in ((staff["officer"], 403), (staff["auditor"], 403), (make_user("applicant"), 404),
                         (make_user("evaluator"), 404)):
        login(client, user)
        assert client.get(path).status_code == status


# --- the report page --------------------------------------------------------------------------------------


def test_readers_see_the_whole_report(client, session, staff):
    application = running_grant(staff)
    report = draft_report(application, narrative="Notika divas darbnīcas.",
                          indicators={"workshops": "2", "esf_participants_men_30_54": "3"},
                          expenditure=[{"category": "staff", "amount": "1000", "co_financing": "100"},
                                       {"category": "staff", "amount": "500", "co_financing": "0"},
                                       {"category": "travel", "amount": "40.5", "co_financing": "0"}])
    path = f"/grants/reports/{report.id}"
    login(client, staff["auditor"])
    english(client)
    page = main_of(page_of(client, path))
    assert "Progress report: period ending" in page and "Proposals and ideas" in page
    assert 'data-overdue="true"' in page and "Draft" in page
    assert "Notika divas darbnīcas." in page
    # Indicators: the agreement's target and this report's value; ESF+ participants as a grid.
    workshops = page[page.index('<tr data-code="workshops"'):]
    workshops = workshops[:workshops.index("</tr>")]
    assert "Workshops held" in workshops and ">4<" in workshops and ">2<" in workshops
    assert 'data-grid="participants"' in page
    assert re.search(r'data-code="esf_participants_men_30_54">\s*3\s', page)
    assert re.search(r'data-code="esf_participants_women_30_54">\s*–', page)  # not reported
    # Expenditure: approved budget, claimed, co-financing, with totals.
    staff_row = page[page.index('<tr data-category="staff"'):]
    staff_row = staff_row[:staff_row.index("</tr>")]
    assert "5,000.00 €" in staff_row and "1,500.00 €" in staff_row and "100.00 €" in staff_row
    assert 'data-total-claimed="1540.50"' in page
    # Auditors read only: no form at all.
    assert "<form" not in page
    login(client, staff["officer"])
    page = main_of(page_of(client, path))
    assert 'name="narrative"' not in page and "r-upload" not in page  # officers do not write reports
    login(client, gate_reviewer(application))  # reviews the stage gate: reads the reports
    page = main_of(page_of(client, path))
    assert "Notika divas darbnīcas." in page and "<form" not in page
    for user in (make_user("applicant"), make_user("evaluator")):
        login(client, user)
        assert client.get(path).status_code == 404


def test_outside_esf_plus_there_is_no_participants_grid(client, session, staff):
    application = running_grant(staff, make_programme(fund_source=FundSource.NATIONAL), targets={"workshops": 2})
    report = draft_report(application, narrative="Paveikts.", indicators={"workshops": "2"})
    login(client, member_of(application))
    page = main_of(page_of(client, f"/grants/reports/{report.id}"))
    assert "Workshops held" in page and "esf_" not in page and "Participants" not in page
    login(client, staff["officer"])
    page = main_of(page_of(client, f"/programmes/{application.call.programme_id}/indicators"))
    assert "Workshops held" in page and "esf_" not in page and "ESF+ common indicators" not in page


def test_the_grantee_saves_the_report_and_bad_input_is_kept(client, session, staff):
    application = running_grant(staff)
    report = draft_report(application, narrative="Sākums.")
    path = f"/grants/reports/{report.id}"
    login(client, member_of(application))
    english(client)
    page = page_of(client, path)
    assert "Before the report can be submitted" in page
    fields = form_fields(page, 'action="#edit"')
    assert fields["narrative"] == "Sākums." and fields["version"] == str(report.version)
    fields.update(report_data(narrative="Notika četras darbnīcas.",
                              indicators_={"workshops": "4", "esf_entities_supported": "1"},
                              lines=[("staff", "900", "90"), ("services", "100", "")]))
    response = client.post(path, data=fields)
    assert response.status_code == 302
    session.refresh(report)
    assert report.narrative == "Notika četras darbnīcas." and report.indicators["workshops"] == "4.00"
    assert [line["category"] for line in report.expenditure] == ["staff", "services"]
    assert reports.problems(report) == []

    page = page_of(client, path)
    assert "Before the report can be submitted" not in page
    fields = form_fields(page, 'action="#edit"')
    assert fields["expenditure-1-category"] == "services" and "expenditure-4-amount" in fields  # 2 lines + 3 blank
    fields.update({"indicator-esf_entities_supported": "1.5", "expenditure-1-amount": "12,3,4",
                   "expenditure-1-co_financing": "200", "narrative": "Jauns teksts."})
    response = client.post(path, data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="1.5"' in page and 'value="12,3,4"' in page and "Jauns teksts." in page
    assert 'id="indicator-esf_entities_supported-error"' in page and 'id="expenditure-1-amount-error"' in page
    assert "Give a whole number, 0 or more." in page
    assert 'href="#expenditure-1-amount"' in page  # the summary leads to the input
    session.refresh(report)
    assert report.narrative == "Notika četras darbnīcas."  # nothing half-saved

    # Someone saved in the meantime: a stale version is refused, the typed text kept.
    fields.update({"version": str(report.version - 1), "indicator-esf_entities_supported": "1",
                   "expenditure-1-amount": "100", "expenditure-1-co_financing": ""})
    response = client.post(path, data=fields)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else changed this in the meantime" in page and "Jauns teksts." in page


def test_submitting_an_incomplete_report_says_what_is_missing(client, session, staff):
    application = running_grant(staff)
    report = draft_report(application)
    path = f"/grants/reports/{report.id}"
    login(client, member_of(application))
    english(client)
    response = act(client, path, "submit")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    panel = page[page.index('id="actions"'):]
    assert "This action is not possible now:" in panel
    assert "Describe what was done in the period." in panel
    assert "esf_entities_supported" in panel and "workshops" in panel
    session.refresh(report)
    assert report.state == "draft"


def test_the_grantee_submits_and_an_officer_returns_it_with_a_comment(client, session, staff):
    application = running_grant(staff)
    report = draft_report(application, narrative="Paveikts.", indicators={"workshops": "4",
                                                                           "esf_entities_supported": "1"})
    path = f"/grants/reports/{report.id}"
    grantee = member_of(application)
    login(client, grantee)
    english(client)
    assert act(client, path, "submit").status_code == 302
    session.refresh(report)
    assert report.state == "submitted"
    page = main_of(page_of(client, path))
    assert report.content_hash in page and 'name="narrative"' not in page and "r-upload" not in page

    login(client, staff["officer"])
    page = main_of(page_of(client, path))
    assert 'value="accept"' in page and 'value="request_changes"' in page and 'name="narrative"' not in page
    response = act(client, path, "request_changes", comment="  ")
    assert response.status_code == 409
    session.refresh(report)
    assert report.state == "submitted"
    response = act(client, path, "request_changes", comment="Pievienojiet dalībnieku sarakstu.")
    assert response.status_code == 302
    session.refresh(report)
    assert report.state == "changes_requested"

    login(client, grantee)
    page = main_of(page_of(client, path))
    assert "Pievienojiet dalībnieku sarakstu." in page and "An officer returned the report" in page
    assert 'name="narrative"' in page and "Olga Referente" not in page  # the grantee sees the role only
    assert act(client, path, "submit").status_code == 302
    login(client, staff["officer"])
    assert act(client, path, "accept").status_code == 302
    session.refresh(report)
    assert report.state == "accepted"
    page = main_of(page_of(client, path))
    assert 'value="accept"' not in page and "Accepted" in page


def test_report_files_are_uploaded_downloaded_and_removed(client, session, staff):
    application = running_grant(staff)
    report = draft_report(application, narrative="Paveikts.", indicators={"workshops": "4",
                                                                           "esf_entities_supported": "1"})
    path = f"/grants/reports/{report.id}"
    grantee = member_of(application)
    login(client, grantee)
    english(client)
    token = csrf_token_from(page_of(client, path))
    response = client.post(f"{path}/files", data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes()),
                                                                              "dalibnieki.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{path}#files")
    (stored,) = reports.files_of(report)
    page = page_of(client, path)
    assert "The file dalibnieki.pdf has been added to the report." in page
    assert f'href="{path}/files/{stored.id}"' in page
    bad = client.post(f"{path}/files", data={"csrf_token": token, "file": (io.BytesIO(b"not a pdf"), "x.pdf")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "The file was not added:" in bad.get_data(as_text=True) and len(reports.files_of(report)) == 1

    for user in (grantee, staff["officer"], staff["auditor"]):
        login(client, user)
        download = client.get(f"{path}/files/{stored.id}")
        assert download.status_code == 200 and download.data == pdf_bytes()
        assert "attachment" in download.headers["Content-Disposition"]
        download.close()
    login(client, make_user("applicant"))
    assert client.get(f"{path}/files/{stored.id}").status_code == 404

    # Submitted, the file stays with the report: removing it is refused with the reason.
    login(client, grantee)
    assert act(client, path, "submit").status_code == 302
    token = csrf_token_from(page_of(client, path))
    refused = client.post(f"{path}/files/{stored.id}/remove", data={"csrf_token": token}, follow_redirects=True)
    assert "it can be changed again only if an officer returns it" in main_of(refused.get_data(as_text=True))
    assert len(reports.files_of(report)) == 1
    # Returned for changes, the grantee may take it back.
    session.refresh(report)
    fire(report, "request_changes", staff["officer"], comment="Nomainiet failu.")
    removed = client.post(f"{path}/files/{stored.id}/remove", data={"csrf_token": token}, follow_redirects=True)
    assert "The file dalibnieki.pdf has been removed from the report." in removed.get_data(as_text=True)
    assert reports.files_of(report) == []
    assert client.get(f"{path}/files/{stored.id}").status_code == 404
    # Accepted, a report's file is part of the grant's record: kept until the retention date.
    kept = reports.attach_file(report, grantee, FileStorage(stream=io.BytesIO(pdf_bytes()), filename="gala.pdf"))
    fire(report, "submit", grantee)
    fire(report, "accept", staff["officer"])
    session.flush()
    token = csrf_token_from(page_of(client, path))
    held = client.post(f"{path}/files/{kept.id}/remove", data={"csrf_token": token}, follow_redirects=True)
    assert "its records are kept until" in main_of(held.get_data(as_text=True))


def test_the_report_page_costs_the_same_whatever_its_size(client, session, staff, count_queries):
    application = running_grant(staff)
    small = draft_report(application, "progress", narrative="x",
                         expenditure=[{"category": "staff", "amount": "10", "co_financing": "0"}])
    big = draft_report(application, "final", narrative="y", indicators={"workshops": "3"},
                       expenditure=[{"category": c, "amount": "10", "co_financing": "1"}
                                    for c in ("staff", "services", "travel", "premises", "other")])
    grantee = member_of(application)
    for content in (b"a", b"b"):
        reports.attach_file(big, grantee, FileStorage(io.BytesIO(pdf_bytes() + content), filename="f.pdf",
                                                      content_type="application/pdf"))
    counts = {}
    for user in (grantee, staff["officer"]):
        login(client, user)
        for report in (small, big):
            page_of(client, f"/grants/reports/{report.id}")
            with count_queries() as counter:
                page_of(client, f"/grants/reports/{report.id}")
            counts[(user.id, report.id)] = counter.count
        assert counts[(user.id, small.id)] == counts[(user.id, big.id)], counts


# --- irregularities ------------------------------------------------------------------------------------------


def record(application, officer, amount="300.00", description="Dubultā finansēšana: tie paši rēķini citā projektā.",
           days_ago=3):
    return irregularities.record_irregularity(application, officer, {
        "amount": amount, "description": description, "detected_on": today() - timedelta(days=days_ago)},
        today=today())


def post_to(client, path, data):
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token_from(page), **data})


def test_the_register_lists_irregularities_with_their_totals(client, session, staff):
    application = running_grant(staff)
    suspected = record(application, staff["officer"], "120.00", "Aizdomas par neatbilstošiem izdevumiem. " * 10)
    confirmed = record(application, staff["officer"], "300.00", days_ago=10)
    fire(confirmed, "confirm", staff["officer"], comment="Pārbaudīts.")
    login(client, staff["finance"])
    page = main_of(page_of(client, "/grants/irregularities/"))
    assert f'href="/grants/irregularities/{suspected.id}"' in page and f'href="/grants/{application.id}"' in page
    assert application.organisation.name in page and application.call.code in page
    assert "120.00 €" in page and "Aizdomas par neatbilstošiem izdevumiem. " * 4 not in page  # shortened
    assert '<tr data-state="suspected" data-count="1">' in page and '<tr data-state="confirmed" data-count="1">' in page
    assert 'data-state="all" data-count="2"' in page and "420.00 €" in page
    # The state filter stays in the URL.
    page = main_of(page_of(client, "/grants/irregularities/?state=confirmed"))
    assert f'data-irregularity="{confirmed.id}"' in page and f'data-irregularity="{suspected.id}"' not in page
    assert '<option value="confirmed" selected>' in page
    for role in ("officer", "committee", "auditor", "admin"):
        login(client, make_user(role))
        assert client.get("/grants/irregularities/").status_code == 200
    login(client, member_of(application))
    assert client.get("/grants/irregularities/").status_code == 403


def test_the_register_pages_keep_the_filter(client, session, staff, monkeypatch):
    from grants.grants_mgmt import irregularity_views

    monkeypatch.setattr(irregularity_views, "PER_PAGE", 1)
    application = running_grant(staff)
    for days in (1, 2, 3):
        record(application, staff["officer"], days_ago=days)
    login(client, staff["officer"])
    page = main_of(page_of(client, "/grants/irregularities/?state=suspected&page=2"))
    assert "Page 2 of 3" in page
    assert 'href="/grants/irregularities/?page=3&amp;state=suspected"' in page
    assert 'href="/grants/irregularities/?page=1&amp;state=suspected"' in page
    assert page.count("data-irregularity=") == 1


def test_the_register_costs_the_same_with_more_irregularities(client, session, staff, count_queries):
    application = running_grant(staff)
    record(application, staff["officer"])
    login(client, staff["officer"])
    page_of(client, "/grants/irregularities/")
    with count_queries() as one:
        page_of(client, "/grants/irregularities/")
    other = running_grant(staff)
    record(other, staff["officer"])
    record(other, staff["officer"])
    with count_queries() as three:
        page = page_of(client, "/grants/irregularities/")
    assert page.count("data-irregularity=") == 3
    assert one.count == three.count


def test_an_officer_confirms_orders_back_and_closes_an_irregularity(client, session, staff):
    application = running_grant(staff)
    irregularity = record(application, staff["officer"])
    path = f"/grants/irregularities/{irregularity.id}"
    login(client, staff["officer"])
    page = main_of(page_of(client, path))
    assert "300.00 €" in page and "Dubultā finansēšana" in page and f'href="/grants/{application.id}"' in page
    assert 'value="confirm"' in page and 'value="dismiss"' in page and "Issue a recovery order" not in page
    response = act(client, path, "confirm", comment="")
    assert response.status_code == 409 and "This action is not possible now" in response.get_data(as_text=True)
    assert act(client, path, "confirm", comment="Rēķini dubultoti.").status_code == 302
    session.refresh(irregularity)
    assert irregularity.state == "confirmed"

    # A recovery order: more than the irregular amount is refused, the input kept.
    order = {"form": "order", "order-amount": "300.01", "order-due_on": (today() + timedelta(days=30)).isoformat(),
             "order-reference": "AR-7"}
    response = post_to(client, path, order)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="300.01"' in page and 'value="AR-7"' in page and 'id="order-amount-error"' in page
    assert "At most 300.00 € is left to order back." in page
    assert session.scalar(sa.select(sa.func.count()).select_from(RecoveryOrder)) == 0
    response = post_to(client, path, {**order, "order-due_on": "31.12.2099"})
    assert response.status_code == 422 and 'id="order-due_on-error"' in response.get_data(as_text=True)
    assert post_to(client, path, {**order, "order-amount": "250"}).status_code == 302
    (saved,) = session.scalars(sa.select(RecoveryOrder)).all()
    assert (saved.amount, saved.reference, saved.issued_on) == (Decimal("250.00"), "AR-7", today())

    # Money comes back: finance records it; more than outstanding is refused.
    login(client, staff["finance"])
    page = main_of(page_of(client, path))
    assert "Issue a recovery order" not in page and f'id="receipt-{saved.id}"' in page
    assert 'value="recover"' in page  # finance may close it once recovered
    receipt = {"form": "receipt", "order_id": str(saved.id), f"receipt{saved.id}-amount": "260"}
    response = post_to(client, path, receipt)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="260"' in page and "At most 250.00 € is outstanding on this order." in page
    assert post_to(client, path, {**receipt, f"receipt{saved.id}-amount": "250"}).status_code == 302
    session.refresh(saved)
    assert saved.recovered_amount == Decimal("250.00")
    page = main_of(page_of(client, path))
    assert 'data-recovered="250.00"' in page and 'data-ordered="250.00"' in page
    # Closing as recovered is refused while 50 € was never ordered back; writing the rest off needs a reason.
    response = act(client, path, "recover")
    assert response.status_code == 409 and "250.00 € of 300.00 € has been recovered" in response.get_data(as_text=True)
    login(client, staff["officer"])
    assert act(client, path, "write_off", comment="").status_code == 409
    assert act(client, path, "write_off", comment="Atlikums nav atgūstams.").status_code == 302
    session.refresh(irregularity)
    assert irregularity.state == "written_off"
    page = main_of(page_of(client, path))
    assert "Atlikums nav atgūstams." in page and "Recovery order issued" in page and "Money received" in page


def test_who_reads_an_irregularity(client, session, staff):
    application = running_grant(staff)
    irregularity = record(application, staff["officer"])
    path = f"/grants/irregularities/{irregularity.id}"
    grantee = member_of(application)
    login(client, grantee)
    assert client.get(path).status_code == 404  # still being examined
    fire(irregularity, "confirm", staff["officer"], comment="Apstiprināts.")
    irregularities.issue_recovery_order(irregularity, staff["officer"], {
        "amount": "100", "due_on": today() + timedelta(days=30), "reference": "AR-1"}, today=today())
    for user in (grantee, staff["auditor"]):
        login(client, user)
        page = main_of(page_of(client, path))
        assert "AR-1" in page and "Apstiprināts." in page
        assert "<form" not in page  # they read only
    login(client, grantee)
    assert post_to(client, f"/grants/irregularities/{irregularity.id}", {
        "form": "order", "order-amount": "10", "order-due_on": today().isoformat()}).status_code == 403
    login(client, make_user("applicant"))
    assert client.get(path).status_code == 404
    login(client, staff["officer"])
    other = record(application, staff["officer"])
    fire(other, "dismiss", staff["officer"], comment="Nav pārkāpums.")
    login(client, grantee)
    assert client.get(f"/grants/irregularities/{other.id}").status_code == 404


# --- a programme's indicators ----------------------------------------------------------------------------


def accepted_report(application, officer, **values):
    report = draft_report(application, narrative="Paveikts.",
                          indicators={"workshops": "3", "esf_entities_supported": "1", **values})
    fire(report, "submit", member_of(application))
    fire(report, "accept", officer)
    return report


def row_key(page: str, code: str | None) -> str:
    """The form row of indicator ``code`` (None: the first blank row)."""
    if code is None:
        return re.search(r'<tr data-row="(\d+)">', page).group(1)
    return re.search(rf'<tr data-row="(\d+)" data-code="{code}">', page).group(1)


def test_the_indicators_page_shows_targets_and_what_was_reached(client, session, staff):
    programme = make_programme()
    own_indicator(programme, staff["officer"], target="10", call_targets={})
    application = running_grant(staff, programme)
    call = application.call
    indicators.save_indicators(programme, staff["officer"], [
        {"code": "workshops", "title_lv": "Darbnīcas", "title_en": "Workshops held", "unit_lv": "darbnīcas",
         "unit_en": "workshops", "target": "10", "call_targets": {str(call.id): "4"}},
        {"code": "esf_participants_women_30_54", "target": "20"}])
    accepted_report(application, staff["officer"], esf_participants_women_30_54="7")
    path = f"/programmes/{programme.id}/indicators"
    login(client, staff["auditor"])
    page = main_of(page_of(client, path))
    progress = page[page.index('class="r-progress"'):]
    workshops = progress[progress.index('data-code="workshops"'):]
    workshops = workshops[:workshops.index("</tr>")]
    assert "Workshops held" in workshops and 'data-actual="3"' in workshops and ">10<" in workshops
    assert "30 % of the target" in workshops and "<svg" in workshops
    assert re.search(r'data-code="esf_participants_women_30_54">7 / 20<', page)  # the participants grid
    by_call = page[page.index('class="r-by-call"'):]
    assert f'data-call="{call.id}"' in by_call and "3 / 4" in by_call
    catalogue = page[page.index('class="r-catalogue"'):]
    assert "<code>workshops</code>" in catalogue and f"Target of {call.code}" in catalogue
    assert 'class="badge r-common"' in catalogue
    assert "<form" not in page  # auditors read only
    for role, status in (("finance", 200), ("committee", 200), ("applicant", 403), ("evaluator", 403)):
        login(client, make_user(role))
        response = client.get(path)
        assert response.status_code == status
        assert status != 200 or 'action="#edit"' not in response.get_data(as_text=True)
    login(client, make_user("admin"))
    assert 'action="#edit"' in page_of(client, path)
    assert client.get("/programmes/999999/indicators").status_code == 404


def test_an_officer_saves_indicators_and_targets(client, session, staff):
    programme = make_programme()
    application = running_grant(staff, programme)
    call = application.call
    path = f"/programmes/{programme.id}/indicators"
    login(client, staff["officer"])
    page = page_of(client, path)
    fields = form_fields(page, 'action="#edit"')
    workshops, blank = row_key(page, "workshops"), row_key(page, None)
    entities = row_key(page, "esf_entities_supported")
    fields.update({f"ind-{workshops}-target": "12", f"ind-{workshops}-call-{call.id}": "6",
                   f"ind-{entities}-target": "3",
                   f"ind-{blank}-code": "volunteers", f"ind-{blank}-title_lv": "Brīvprātīgie",
                   f"ind-{blank}-title_en": "Volunteers", f"ind-{blank}-unit_lv": "personas",
                   f"ind-{blank}-unit_en": "persons", f"ind-{blank}-target": "2.5"})
    response = client.post(path, data=fields)
    assert response.status_code == 302
    rows = {row.code: row for row in indicators.own_indicators(programme)}
    assert set(rows) == {"workshops", "volunteers", "esf_entities_supported"}  # common rows only with targets
    assert rows["workshops"].target == Decimal("12.00")
    assert [(t.call_id, t.target) for t in rows["workshops"].call_targets] == [(call.id, Decimal("6.00"))]
    assert rows["volunteers"].title_en == "Volunteers" and rows["volunteers"].target == Decimal("2.50")
    assert rows["esf_entities_supported"].is_common and rows["esf_entities_supported"].target == Decimal("3.00")

    page = page_of(client, path)
    fields = form_fields(page, 'action="#edit"')
    assert fields[f"ind-{row_key(page, 'volunteers')}-target"] == "2.5"
    fields[f"ind-{row_key(page, 'volunteers')}-remove"] = "1"
    assert client.post(path, data=fields).status_code == 302
    assert "volunteers" not in {row.code for row in indicators.own_indicators(programme)}


def test_indicator_errors_are_shown_by_row_and_nothing_is_saved(client, session, staff):
    programme = make_programme()
    application = running_grant(staff, programme)
    call = application.call
    path = f"/programmes/{programme.id}/indicators"
    login(client, staff["officer"])
    page = page_of(client, path)
    fields = form_fields(page, 'action="#edit"')
    workshops, blank = row_key(page, "workshops"), row_key(page, None)
    women = row_key(page, "esf_participants_women_under_18")
    fields.update({f"ind-{workshops}-target": "15", f"ind-{workshops}-call-{call.id}": "abc",
                   f"ind-{women}-target": "2.5", f"ind-{blank}-code": "volunteers"})
    response = client.post(path, data=fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="abc"' in page and 'value="15"' in page and 'value="volunteers"' in page and 'value="2.5"' in page
    assert f'id="ind-{workshops}-call-{call.id}-error"' in page
    assert f'id="ind-{women}-target-error"' in page and "Give a whole number, 0 or more." in page
    for key in ("title_lv", "title_en", "unit_lv"):
        assert f'id="ind-{blank}-{key}-error"' in page
    assert "Give the title in Latvian." in page and f'href="#ind-{blank}-title_lv"' in page
    assert [row.code for row in indicators.own_indicators(programme)] == ["workshops"]
    assert indicators.own_indicators(programme)[0].target is None
    # Only officers and admins change them.
    login(client, staff["auditor"])
    assert client.post(path, data={**fields, "csrf_token": csrf_token_from(page_of(client, path))}).status_code \
        == 403


def test_the_indicators_page_costs_the_same_with_more_calls_and_grants(client, session, staff, count_queries):
    programme = make_programme()
    accepted_report(running_grant(staff, programme), staff["officer"])
    path = f"/programmes/{programme.id}/indicators"
    login(client, staff["officer"])
    page_of(client, path)
    with count_queries() as one:
        page_of(client, path)
    for _ in range(2):
        accepted_report(running_grant(staff, programme), staff["officer"])
    with count_queries() as three:
        page = page_of(client, path)
    assert page.count("<th scope=\"col\" class=\"num\" data-call=") == 3
    assert one.count == three.count
