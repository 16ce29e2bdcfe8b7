"""Exports without Redis (made inline): CSV, XLSX (typed cells) and JSON files, 360Giving, the list of
operations, failures and retries, audit, and memory that does not grow with the rows."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from jsonschema import Draft202012Validator, FormatChecker
from openpyxl import load_workbook
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.calls.models import Programme
from grants.core.db import db
from grants.demo import load_demo
from grants.exports import datasets, services
from grants.exports.models import Export
from grants.grants_mgmt.models import Payment, PaymentKind
from tests.factories import bearer, make_evaluation_call, make_user, signed_grant

#: The official schemas, as kept in ../shared/standards/360giving (copied unchanged: README.md there says from where),
#: so that the check runs wherever the repository is checked out.
STANDARDS = Path(__file__).resolve().parent / "standards" / "360giving"
SHARED_STANDARDS = Path(__file__).resolve().parents[2] / "shared" / "standards" / "360giving"


@pytest.fixture
def demo(app, session):
    load_demo()
    session.flush()
    return session.scalars(sa.select(Programme).where(Programme.code == "SIKC-2026")).one()


@pytest.fixture
def officer(app):
    return make_user("officer")


def _file(client, url, headers):
    """A download's bytes (the response is closed, so the stored file is too)."""
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.status_code
    data = response.get_data()
    response.close()
    return data


def _export(client, headers, kind, export_format, **filters):
    return client.post("/api/v1/exports", json={"kind": kind, "format": export_format, "filters": filters},
                       headers=headers)


def test_an_export_is_made_inline_without_redis_and_downloaded(app, client, demo, officer, session):
    headers = bearer(officer)
    response = _export(client, headers, "applications", "csv", programme_id=demo.id)
    assert response.status_code == 202, response.get_json()
    export = response.get_json()
    assert export["state"] == "done" and export["download_url"] and export["attempts"] == 1
    assert export["audit_head"]["hash"] and export["audit_head"]["events"] > 0
    assert client.get(response.headers["Location"], headers=headers).get_json()["state"] == "done"
    file = client.get(export["download_url"], headers=headers)
    assert file.status_code == 200 and "attachment" in file.headers["Content-Disposition"]
    text = file.get_data(as_text=True).lstrip("\ufeff")
    file.close()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Pieteikums", "Konkurss", "Organizācija"]  # the header in the reader's language (lv)
    titles = {row[7] for row in rows[1:]}
    assert titles == set(session.scalars(sa.select(Application.title)))
    assert export["total"] == export["progress"] == len(rows) - 1
    english = _export(client, {**headers, "Accept-Language": "en"}, "applications", "csv", programme_id=demo.id)
    header = _file(client, english.get_json()["download_url"], headers).decode().splitlines()[0]
    assert header.lstrip("\ufeff").startswith("Application,Call,Organisation")
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "export")).all()
    assert {"export.request", "export.start", "export.finish", "export.download"} <= set(actions)


def test_xlsx_cells_are_typed(app, client, demo, officer):
    headers = {**bearer(officer), "Accept-Language": "en"}
    export = _export(client, headers, "grants", "xlsx", programme_id=demo.id).get_json()
    data = _file(client, export["download_url"], headers)
    sheet = load_workbook(io.BytesIO(data)).active
    header = [cell.value for cell in sheet[1]]
    awarded, start, number = header.index("Awarded"), header.index("Start"), header.index("Agreement")
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == 2
    for row in rows:
        assert isinstance(row[awarded].value, float | int) and "EUR" in row[awarded].number_format
        assert isinstance(row[start].value, datetime | date) and row[start].number_format == "yyyy-mm-dd"
        assert row[number].value.startswith("SIKC-2026-L-")


def test_json_exports_give_money_as_decimal_strings(app, client, demo, officer):
    headers = bearer(officer)
    export = _export(client, headers, "payments", "json", programme_id=demo.id).get_json()
    items = json.loads(_file(client, export["download_url"], headers))["items"]
    paid = [item for item in items if item["state"] == "paid"]
    assert {item["amount"] for item in paid} == {"2400.00", "8000.00"}


def test_bad_requests_are_refused_by_field(app, client, demo, officer):
    headers = bearer(officer)
    assert _export(client, headers, "secrets", "csv").get_json()["fields"].keys() == {"kind"}
    assert _export(client, headers, "grants", "pdf").get_json()["fields"].keys() == {"format"}
    bad = _export(client, headers, "applications", "csv", programme_id="x")
    assert bad.status_code == 422 and "filters.programme_id" in bad.get_json()["fields"]
    assert "filters.colour" in _export(client, headers, "grants", "csv", colour="red").get_json()["fields"]
    needs = _export(client, headers, "indicators", "csv")
    assert needs.status_code == 422 and "filters.programme_id" in needs.get_json()["fields"]
    unknown = _export(client, headers, "indicators", "csv", programme_id=999999)
    assert unknown.status_code == 422
    assert client.post("/api/v1/exports", json={"kind": "grants", "format": "csv"},
                       headers=bearer(make_user("applicant"))).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Export)) == 0


def test_a_failed_export_says_why_and_can_be_retried(app, client, demo, officer, monkeypatch):
    headers = bearer(officer)
    original = datasets.DATASETS["grants"]
    calls = {"n": 0}

    def broken(filters):
        calls["n"] += 1
        if calls["n"] == 2:  # the first call checks the filters at the request; the run then breaks once
            raise RuntimeError("the disk is full")
        return original.tables(filters)

    monkeypatch.setitem(datasets.DATASETS, "grants", datasets.Dataset("grants", original.title, original.formats,
                                                                    broken, original.filters))
    export = _export(client, headers, "grants", "csv", programme_id=demo.id).get_json()
    assert export["state"] == "failed" and export["error"] == "the disk is full" and export["download_url"] is None
    assert client.get(f"/api/v1/exports/{export['id']}/download", headers=headers).status_code == 409
    again = client.post(f"/api/v1/exports/{export['id']}/retry", headers=headers)
    assert again.status_code == 202 and again.get_json()["state"] == "done" and again.get_json()["attempts"] == 2
    assert client.post(f"/api/v1/exports/{export['id']}/retry", headers=headers).status_code == 409


def test_officers_see_their_own_exports_auditors_all(app, client, demo, officer):
    mine = _export(client, bearer(officer), "grants", "csv", programme_id=demo.id).get_json()
    other = make_user("officer")
    assert client.get(f"/api/v1/exports/{mine['id']}", headers=bearer(other)).status_code == 404
    assert client.get("/api/v1/exports", headers=bearer(other)).get_json()["total"] == 0
    auditor = bearer(make_user("auditor"))
    assert client.get("/api/v1/exports", headers=auditor).get_json()["total"] == 1
    assert _file(client, mine["download_url"], auditor)


def _validator() -> Draft202012Validator:
    package = json.loads((STANDARDS / "360-giving-package-schema.json").read_text())
    grant = json.loads((STANDARDS / "360-giving-schema.json").read_text())
    resource = DRAFT202012.create_resource(grant)
    registry = Registry().with_resources([
        ("https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.2/schema/360-giving-schema.json", resource),
        (grant["$id"], resource)])
    return Draft202012Validator(package, registry=registry, format_checker=FormatChecker())


def test_the_360giving_package_is_valid_against_the_official_schema(app, client, demo, officer):
    response = client.get(f"/api/v1/exports/360giving?programme_id={demo.id}", headers=bearer(officer), buffered=True)
    assert response.status_code == 200
    package = json.loads(response.data)
    errors = sorted(_validator().iter_errors(package), key=str)
    assert errors == [], [error.message for error in errors]
    grants = {grant["title"]: grant for grant in package["grants"]}
    assert set(grants) == {"Darba prasmju darbnīca jauniešiem", "Latgales amatu skola jauniešiem"}
    grant = grants["Latgales amatu skola jauniešiem"]
    assert grant["id"].startswith(app.config["GRANT_ID_PREFIX"] + "-")
    assert grant["amountAwarded"] == 30000 and grant["amountDisbursed"] == 8000 and grant["currency"] == "EUR"
    assert grant["recipientOrganization"][0]["id"] == "LV-RE-40008000001"
    assert grant["fundingOrganization"][0]["id"] == app.config["OPERATOR_ORG_ID"]
    assert grant["beneficiaryLocation"][0] == {"name": "Latgale", "countryCode": "LV"}
    assert [c["code"] for c in grant["classifications"]] == ["idea_generation", "prototyping"]
    assert grant["grantProgramme"][0]["code"] == "SIKC-2026"
    # The check would catch a broken package.
    broken = {**package, "grants": [{**package["grants"][0], "amountAwarded": "a lot"}]}
    assert list(_validator().iter_errors(broken))
    assert client.get("/api/v1/exports/360giving?programme_id=999999", headers=bearer(officer)).status_code == 404


@pytest.mark.skipif(not SHARED_STANDARDS.is_dir(), reason="no ../shared beside this checkout")
def test_the_schemas_are_the_shared_standards_unchanged():
    for name in ("360-giving-package-schema.json", "360-giving-schema.json"):
        assert (STANDARDS / name).read_bytes() == (SHARED_STANDARDS / name).read_bytes()


def test_the_list_of_operations_in_three_formats_public_once_published(app, client, demo, officer, session):
    path = f"/api/v1/exports/operations?programme_id={demo.id}"
    assert client.get(path).status_code == 401  # not yet published
    assert client.get(path, headers=bearer(make_user("applicant"))).status_code == 403
    csv_file = client.get(path, headers=bearer(officer), buffered=True)
    rows = list(csv.DictReader(io.StringIO(csv_file.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and {row["Intervences joma"] for row in rows} == {"138"}
    row = next(row for row in rows if row["Darbības nosaukums"] == "Darba prasmju darbnīca jauniešiem")
    assert row["Finansējums (EUR)"] == "4800.00" and row["Kopējās attiecināmās izmaksas (EUR)"] == "5333.33"
    workbook = client.get(path + "&format=xlsx", headers=bearer(officer), buffered=True).data
    sheet = load_workbook(io.BytesIO(workbook)).active
    assert sheet.max_row == 3
    data = json.loads(client.get(path + "&format=json", headers=bearer(officer), buffered=True).data)
    assert data["programme"] == "SIKC-2026" and {op["grant_amount"] for op in data["operations"]} == {
        "4800.00", "30000.00"}
    assert client.get(path + "&format=pdf", headers=bearer(officer)).status_code == 422
    assert client.post(f"/api/v1/programmes/{demo.id}/operations/publish", headers=bearer(officer)).status_code == 204
    assert client.get(path + "&format=json", buffered=True).status_code == 200  # now anyone
    # The officer's three downloads are audited; a refused one and the public's download of published data not.
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "export.operations")) == 3


# --- flat memory ---------------------------------------------------------------------------------------------

def _payments(application, count: int) -> None:
    db.session.execute(sa.insert(Payment), [
        {"application_id": application.id, "kind": PaymentKind.ADVANCE, "si_stage": application.si_stage,
         "amount": Decimal("1.00"), "due_on": date(2025, 1, 1), "state": "planned", "workflow_name": "payment",
         "workflow_version": 1, "version": 1, "reference": "", "created_at": datetime(2025, 1, 1).astimezone(),
         "updated_at": datetime(2025, 1, 1).astimezone()} for _ in range(count)])


def _peak(officer, export_format: str) -> tuple[int, int]:
    export = services.request_export(officer, "payments", export_format, {})
    db.session.flush()
    tracemalloc.start()
    services.run_export(export.id)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.session.refresh(export)
    assert export.state == "done", export.error
    return peak, export.progress


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_exports_stream_in_flat_memory(app, session, officer, export_format):
    people = {"officer": officer, "committee": make_user("committee")}
    application = signed_grant(people, call=make_evaluation_call(workflow_version=4))
    _payments(application, 1000)
    small, small_rows = _peak(officer, export_format)
    _payments(application, 9000)
    large, large_rows = _peak(officer, export_format)
    assert large_rows - small_rows == 9000
    # Ten times the rows; the peak stays about the same (a list of the rows would grow tenfold).
    assert large < small * 1.5 + 256 * 1024, (small, large)


def test_the_funder_report_exports_its_tables(app, client, demo, officer):
    headers = {**bearer(officer), "Accept-Language": "en"}
    export = _export(client, headers, "report", "xlsx", programme_id=demo.id).get_json()
    assert export["state"] == "done", export
    workbook = load_workbook(io.BytesIO(_file(client, export["download_url"], headers)))
    assert len(workbook.sheetnames) == 13 and workbook.sheetnames[1] == "About this report"
    about = {row[0].value: row[1].value for row in workbook.worksheets[1].iter_rows(min_row=2)}
    assert about["Programme"].startswith("SIKC-2026") and len(about["Audit chain head"]) == 64
    money = _export(client, headers, "report", "csv", programme_id=demo.id, table="money").get_json()
    rows = list(csv.reader(io.StringIO(_file(client, money["download_url"], headers).decode().lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == ["requested", "awarded", "paid"]
    assert rows[1:][2][2] == "10400.00"  # paid: the two demo advances
    wrong = _export(client, headers, "report", "csv", programme_id=demo.id, table="secrets")
    assert wrong.status_code == 422 and "filters.table" in wrong.get_json()["fields"]
    assert _export(client, headers, "report", "csv", programme_id=demo.id, **{"from": "yesterday"}).status_code == 422
