"""The de minimis register (list, add, CSV import, headroom) and the built-in de minimis check at its
boundaries: the ceiling to the cent, the rolling period to the day, other undertakings, 29 February."""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.eligibility.de_minimis import MAX_ROWS, headroom, read_csv
from grants.eligibility.models import AidSource, DeMinimisAid, Outcome
from grants.eligibility.services import check_application, today
from tests.conftest import csrf_token_from
from tests.factories import bearer, login, make_application, make_call, make_organisation, make_user

EN = {"Accept-Language": "en"}
HEADER = "registration_number,undertaking,amount,granted_on,granting_authority,reference\n"
URL = "/api/v1/de-minimis"
PAGE = "/eligibility/de-minimis/"


def _rule(code: str = "dm_ceiling", ceiling: str = "300000.00", years: int = 3) -> dict:
    return {"code": code, "severity": "blocking", "title_lv": "De minimis atlikums", "title_en": "De minimis headroom",
            "message_lv": "Kopš {since} saņemtais atbalsts {received} EUR kopā ar pieprasīto {requested} EUR "
                          "pārsniedz {ceiling} EUR.",
            "message_en": "Aid received since {since} ({received} EUR) plus the {requested} EUR requested exceeds "
                          "{ceiling} EUR.",
            "check": "de_minimis", "params": {"ceiling": ceiling, "years": years}}


def _aid(session, number: str, amount: str, granted_on: date, **extra) -> DeMinimisAid:
    aid = DeMinimisAid(registration_number=number, undertaking="SIA Tests", amount=Decimal(amount),
                       granted_on=granted_on, granting_authority="LIAA", **extra)
    session.add(aid)
    session.flush()
    return aid


def _count(session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(DeMinimisAid)).scalar_one()


def _upload(client, content: bytes, headers, name: str = "aid.csv"):
    """The multipart body built here: the test client would spool a big one to a temporary file it
    never closes."""
    boundary = "----de-minimis-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return client.post(f"{URL}/import", data=body, headers={**headers, **EN},
                       content_type=f"multipart/form-data; boundary={boundary}")


@pytest.fixture
def officer():
    return make_user("officer", name="Olga Officer")


@pytest.fixture
def applicant_app():
    """A draft asking for 5,000.00 EUR."""
    return make_application(make_call(), requested_amount=Decimal("5000.00"))


# --- The check at its boundaries -------------------------------------------------------------------

def _outcome(application, on: date, **rule) -> tuple[Outcome, dict]:
    [result] = check_application(application, rules=[_rule(**rule)], on=on)
    return result.outcome, result.inputs


def test_exactly_at_the_ceiling_passes_and_one_cent_over_fails(session, applicant_app):
    on = date(2026, 6, 15)
    number = applicant_app.organisation.registration_number
    aid = _aid(session, number, "295000.00", date(2025, 1, 10))
    outcome, inputs = _outcome(applicant_app, on)
    assert outcome == Outcome.PASS
    assert inputs["total"] == "300000.00" and inputs["received"] == "295000.00"

    aid.amount = Decimal("295000.01")
    session.flush()
    outcome, inputs = _outcome(applicant_app, on)
    assert outcome == Outcome.FAIL and inputs["total"] == "300000.01"


def test_aid_exactly_three_years_back_counts_and_one_day_more_does_not(session, applicant_app):
    on = date(2026, 6, 15)
    number = applicant_app.organisation.registration_number
    aid = _aid(session, number, "295000.01", date(2023, 6, 15))
    outcome, inputs = _outcome(applicant_app, on)
    assert outcome == Outcome.FAIL and inputs["since"] == "2023-06-15"

    aid.granted_on = date(2023, 6, 14)
    session.flush()
    outcome, inputs = _outcome(applicant_app, on)
    assert outcome == Outcome.PASS and inputs["received"] == "0.00"
    # the service's headroom counts the same window
    assert headroom(number, on=on)["received"] == Decimal("0.00")
    aid.granted_on = date(2023, 6, 15)
    session.flush()
    assert headroom(number, on=on)["received"] == Decimal("295000.01")


def test_aid_granted_after_the_date_checked_does_not_count(session, applicant_app):
    number = applicant_app.organisation.registration_number
    _aid(session, number, "295000.01", date(2026, 6, 16))
    assert _outcome(applicant_app, date(2026, 6, 15))[0] == Outcome.PASS
    assert _outcome(applicant_app, date(2026, 6, 16))[0] == Outcome.FAIL


def test_another_undertakings_aid_does_not_count(session, applicant_app):
    other = make_organisation(make_user("applicant"))
    _aid(session, other.registration_number, "299000.00", date(2026, 1, 1))
    _aid(session, applicant_app.organisation.registration_number + "0", "299000.00", date(2026, 1, 1))
    outcome, inputs = _outcome(applicant_app, date(2026, 6, 15))
    assert outcome == Outcome.PASS and inputs["received"] == "0.00"


def test_29_february_is_checked_from_28_february(session, applicant_app):
    on = date(2028, 2, 29)
    number = applicant_app.organisation.registration_number
    aid = _aid(session, number, "295000.01", date(2025, 2, 28))
    outcome, inputs = _outcome(applicant_app, on)
    assert outcome == Outcome.FAIL and inputs["since"] == "2025-02-28"
    assert headroom(number, on=on)["since"] == date(2025, 2, 28)

    aid.granted_on = date(2025, 2, 27)
    session.flush()
    assert _outcome(applicant_app, on)[0] == Outcome.PASS


def test_submit_over_the_ceiling_is_refused_with_the_rule_in_latvian_and_english(client, session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    call = make_call(eligibility_rules=[_rule("dm_ceiling")])
    application = make_application(call, organisation, requested_amount=Decimal("5000.00"))
    _aid(session, organisation.registration_number, "295000.01", today() - timedelta(days=30))
    url = f"/api/v1/applications/{application.id}/transitions"

    refused = client.post(url, json={"trigger": "submit", "version": 1}, headers=bearer(applicant))
    assert refused.status_code == 409, refused.get_json()
    [reason] = refused.get_json()["reasons"]
    assert reason["rule"] == "dm_ceiling" and reason["code"] == "eligibility_failed"
    assert reason["message"].startswith("De minimis atlikums: Kopš ")
    assert "300\xa0000,01" not in reason["message"] and "pārsniedz 300\xa0000,00 EUR" in reason["message"]

    refused = client.post(url, json={"trigger": "submit", "version": 1}, headers={**bearer(applicant), **EN})
    assert refused.status_code == 409
    [reason] = refused.get_json()["reasons"]
    assert reason["rule"] == "dm_ceiling"
    assert reason["message"].startswith("De minimis headroom: Aid received since ")
    assert "exceeds 300,000.00 EUR" in reason["message"]
    assert session.get(type(application), application.id).state == "draft"

    # one cent less and it goes through
    session.execute(sa.update(DeMinimisAid).values(amount=Decimal("295000.00")))
    accepted = client.post(url, json={"trigger": "submit", "version": 1}, headers={**bearer(applicant), **EN})
    assert accepted.status_code == 200, accepted.get_json()


# --- CSV import ------------------------------------------------------------------------------------

def test_import_happy_path_semicolons_bom_decimal_comma_and_dates_both_ways(client, session, officer):
    content = ("\ufeffregistration_number;undertaking;amount;granted_on;granting_authority;reference\n"
               "40003000001;SIA \"Ābele\";1 500,50;01.02.2025;LIAA;L-1\n"
               "\n"
               "40003000002;Biedrība Ozols;20000;2024-12-31;Altum;\n").encode()
    response = _upload(client, content, bearer(officer))
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"imported": 2}
    rows = session.scalars(sa.select(DeMinimisAid).order_by(DeMinimisAid.registration_number)).all()
    assert [(r.registration_number, r.undertaking, r.amount, r.granted_on, r.granting_authority, r.reference,
             r.source) for r in rows] == [
        ("40003000001", 'SIA "Ābele"', Decimal("1500.50"), date(2025, 2, 1), "LIAA", "L-1", AidSource.IMPORT),
        ("40003000002", "Biedrība Ozols", Decimal("20000.00"), date(2024, 12, 31), "Altum", "", AidSource.IMPORT)]

    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "de_minimis.import")).all()
    assert event.payload["rows"] == 2 and event.payload["sha256"] == hashlib.sha256(content).hexdigest()
    assert event.actor_id == officer.id and event.role == "officer"


def test_import_commas_quoted_fields_and_columns_in_any_order(client, session, officer):
    content = (b"reference,amount,registration_number,undertaking,granted_on,granting_authority\n"
               b'R-9,"1234,5",40003000009,"SIA ""A, B""",2025-03-04,"Ministry, of Welfare"\n')
    response = _upload(client, content, bearer(officer))
    assert response.status_code == 201, response.get_json()
    aid = session.scalars(sa.select(DeMinimisAid)).one()
    assert (aid.amount, aid.undertaking, aid.granting_authority) == (Decimal("1234.50"), 'SIA "A, B"',
                                                                      "Ministry, of Welfare")


FUTURE = (today() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(("line", "field", "message"), [
    ("40003000001,SIA,abc,2025-01-01,LIAA,", "amount", "Enter an amount in euros"),
    ("40003000001,SIA,-5,2025-01-01,LIAA,", "amount", "cannot be negative"),
    ("40003000001,SIA,10.005,2025-01-01,LIAA,", "amount", "at most two decimals"),
    ('40003000001,SIA,"1.500,00",2025-01-01,LIAA,', "amount", "one decimal separator"),
    ("40003000001,SIA,,2025-01-01,LIAA,", "amount", "Enter the amount"),
    ("40003000001,SIA,10,2025-02-30,LIAA,", "granted_on", "YYYY-MM-DD or DD.MM.YYYY"),
    ("40003000001,SIA,10,01/02/2025,LIAA,", "granted_on", "YYYY-MM-DD or DD.MM.YYYY"),
    (f"40003000001,SIA,10,{FUTURE},LIAA,", "granted_on", "in the future"),
    (",SIA,10,2025-01-01,LIAA,", "registration_number", "Enter the registration number"),
    ("4000300000#,SIA,10,2025-01-01,LIAA,", "registration_number", "letters, digits"),
    (f"{'4' * 51},SIA,10,2025-01-01,LIAA,", "registration_number", "at most 50 characters"),
    ("40003000001,SIA,10,2025-01-01,,", "granting_authority", "who granted"),
    (f"40003000001,{'x' * 301},10,2025-01-01,LIAA,", "undertaking", "at most 300 characters"),
])
def test_a_bad_cell_imports_nothing_and_names_its_line_and_column(client, session, officer, line, field, message):
    content = (HEADER + "40003000001,SIA,10,2025-01-01,LIAA,ok\n" + line + "\n").encode()
    response = _upload(client, content, bearer(officer))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_error"
    assert list(body["fields"]) == [f"line 3.{field}"]
    assert message in " ".join(body["fields"][f"line 3.{field}"])
    assert _count(session) == 0
    assert session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "de_minimis.import")).all() == []


def test_every_bad_row_is_reported_at_once(officer, app):
    content = (HEADER + "40003000001,SIA,x,2025-01-01,LIAA,\n40003000001,SIA,10\n"
               "40003000001,SIA,10,2025-01-01,LIAA,\n,SIA,-1,bad,LIAA,\n").encode()
    with pytest.raises(Exception) as caught:
        read_csv(content)
    assert set(caught.value.fields) == {"line 2.amount", "line 3", "line 5.registration_number", "line 5.amount",
                                        "line 5.granted_on"}
    assert "jālabo 3 rindas" in caught.value.message  # Latvian, the default language


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty or has no header"),
    (HEADER.encode(), "no rows under the header"),
    (b"registration_number,amount,granted_on\n40003000001,10,2025-01-01\n", "missing columns: undertaking"),
    (HEADER.replace("reference", "reference,notes").encode() + b"1,SIA,10,2025-01-01,LIAA,,x\n",
     "unknown columns: notes"),
    (HEADER.replace("reference", "amount").encode(), "repeated columns: amount"),
    (HEADER.encode() + "40003000001,Ābele,10,2025-01-01,LIAA,\n".encode("cp1257"), "not UTF-8"),
    (HEADER.encode() + b'40003000001,"' + b"x" * 200_000 + b'",10,2025-01-01,LIAA,\n', "not a valid CSV"),
    (HEADER.encode() + b"40003000001,SIA,10,2025-01-01,LIAA,\n" * (MAX_ROWS + 1), "more than 10000 rows"),
    (HEADER.encode() + b"40003000001,SIA,10,2025-01-01,LIAA," + b"x" * 100 + b"\n" * (5 * 1024 * 1024),
     "larger than 5 MB"),
])
def test_a_bad_file_imports_nothing(client, session, officer, content, message):
    response = _upload(client, content, bearer(officer))
    assert response.status_code == 422
    body = response.get_json()
    assert list(body["fields"]) == ["file"]
    assert message in body["fields"]["file"][0]
    assert _count(session) == 0


def test_at_most_ten_thousand_rows_are_fine(session, officer, client):
    content = HEADER.encode() + b"40003000001,SIA,1,2025-01-01,LIAA,\n" * MAX_ROWS
    response = _upload(client, content, bearer(officer))
    assert response.status_code == 201
    assert response.get_json() == {"imported": MAX_ROWS}
    assert headroom("40003000001", on=date(2026, 1, 1))["received"] == Decimal(MAX_ROWS)


def test_import_needs_a_file(client, officer):
    response = client.post(f"{URL}/import", data={}, headers={**bearer(officer), **EN},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "file" in response.get_json()["fields"]


# --- API: list, add, headroom, permissions ----------------------------------------------------------

def test_add_list_and_headroom_through_the_api(client, session, officer):
    finance = make_user("finance")
    added = client.post(URL, json={"registration_number": " 40003000001 ", "undertaking": "SIA Ābele",
                                   "amount": "1000,50", "granted_on": (today() - timedelta(days=10)).isoformat(),
                                   "granting_authority": "LIAA", "reference": "L-1"}, headers=bearer(finance))
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert (body["registration_number"], body["amount"], body["source"], body["application_id"]) == (
        "40003000001", "1000.50", "manual", None)
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "de_minimis.add")).one()
    assert event.object_id == str(body["id"]) and event.payload["amount"] == "1000.50" and event.role == "finance"

    _aid(session, "40003000001", "2000.00", today() - timedelta(days=400))
    _aid(session, "40003000001", "5.00", today() - timedelta(days=4 * 366))
    _aid(session, "40003000002", "7.00", today())
    listed = client.get(URL, query_string={"registration_number": "40003000001"}, headers=bearer(officer))
    assert listed.status_code == 200
    page = listed.get_json()
    assert page["total"] == 3 and page["page"] == 1
    assert [item["amount"] for item in page["items"]] == ["1000.50", "2000.00", "5.00"]  # newest first
    assert client.get(URL, headers=bearer(officer)).get_json()["total"] == 4
    second = client.get(URL, query_string={"per_page": 2, "page": 2}, headers=bearer(officer)).get_json()
    assert second["page"] == 2 and len(second["items"]) == 2

    room = client.get(f"{URL}/headroom", query_string={"registration_number": "40003000001"},
                      headers=bearer(officer)).get_json()
    assert (room["received"], room["remaining"], room["ceiling"], room["years"]) == (
        "3000.50", "296999.50", "300000.00", 3)
    room = client.get(f"{URL}/headroom", query_string={"registration_number": "40003000001", "ceiling": "2500",
                                                       "years": 5}, headers=bearer(officer)).get_json()
    assert (room["received"], room["remaining"]) == ("3005.50", "0.00")
    bad = client.get(f"{URL}/headroom", query_string={"years": 0}, headers={**bearer(officer), **EN})
    assert bad.status_code == 422 and {"registration_number", "years"} <= set(bad.get_json()["fields"])


def test_add_reports_every_wrong_field(client, session, officer):
    response = client.post(URL, json={"registration_number": "", "amount": "-1", "granted_on": "2099-01-01",
                                      "granting_authority": ""}, headers={**bearer(officer), **EN})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"registration_number", "amount", "granted_on",
                                                  "granting_authority"}
    assert _count(session) == 0


def test_award_entries_show_their_source_and_application(client, session, officer):
    application = make_application(make_call())
    _aid(session, "40003000001", "10.00", today(), source=AidSource.AWARD, application_id=application.id)
    item = client.get(URL, headers=bearer(officer)).get_json()["items"][0]
    assert (item["source"], item["application_id"]) == ("award", application.id)


@pytest.mark.parametrize(("role", "read", "write"), [
    ("officer", 200, 201), ("finance", 200, 201), ("admin", 200, 201), ("auditor", 200, 403),
    ("applicant", 403, 403), ("evaluator", 403, 403), ("committee", 403, 403)])
def test_who_may_read_and_write(client, session, role, read, write):
    headers = bearer(make_user(role))
    assert client.get(URL, headers=headers).status_code == read
    assert client.get(f"{URL}/headroom", query_string={"registration_number": "1"}, headers=headers).status_code \
        == read
    entry = {"registration_number": "40003000001", "amount": "1", "granted_on": "2025-01-01",
             "granting_authority": "LIAA"}
    assert client.post(URL, json=entry, headers=headers).status_code == write
    assert _upload(client, (HEADER + "40003000001,SIA,1,2025-01-01,LIAA,\n").encode(), headers).status_code \
        == write
    assert _count(session) == (2 if write == 201 else 0)


def test_anonymous_gets_401(client):
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={}).status_code == 401
    assert client.get(PAGE).status_code in (302, 401)


# --- The page ----------------------------------------------------------------------------------------

def test_page_lists_filters_and_shows_the_headroom(client, session, officer):
    application = make_application(make_call())
    _aid(session, "40003000001", "1000.00", today() - timedelta(days=5), reference="REF-A")
    _aid(session, "40003000001", "10.00", today(), source=AidSource.AWARD, application_id=application.id)
    _aid(session, "40003000002", "7.00", today(), reference="REF-B")
    login(client, officer)
    html = client.get(PAGE, query_string={"lang": "en"}).get_data(as_text=True)
    assert "REF-A" in html and "REF-B" in html
    assert f"/applications/{application.id}" in html and "Award in this programme" in html
    assert "Headroom of" not in html
    html = client.get(PAGE, query_string={"registration_number": "40003000001"}).get_data(as_text=True)
    assert "REF-A" in html and "REF-B" not in html
    assert "40003000001 atlikums" in html and "1010.00 EUR" in html and "298990.00 EUR" in html


def test_page_query_count_does_not_grow_with_the_register(client, session, officer, count_queries):
    login(client, officer)
    application = make_application(make_call())
    _aid(session, "40003000001", "1.00", today(), source=AidSource.AWARD, application_id=application.id)
    client.get(PAGE)
    with count_queries() as few:
        assert client.get(PAGE, query_string={"registration_number": "40003000001"}).status_code == 200
    for i in range(20):
        _aid(session, "40003000001", "1.00", today(), source=AidSource.AWARD if i % 2 else AidSource.IMPORT,
             application_id=application.id if i % 2 else None)
    with count_queries() as many:
        assert client.get(PAGE, query_string={"registration_number": "40003000001"}).status_code == 200
    assert many.count == few.count


def test_page_add_keeps_what_was_typed_on_error_then_adds(client, session, officer):
    login(client, officer)
    token = csrf_token_from(client.get(PAGE).get_data(as_text=True))
    typed = {"csrf_token": token, "registration_number": "40003000001", "undertaking": "SIA Tipā",
             "amount": "12,345", "granted_on": "01.02.2025", "granting_authority": "LIAA", "reference": "R-1"}
    response = client.post(PAGE, data=typed, query_string={"lang": "en"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Use at most two decimals" in html
    assert 'value="12,345"' in html and 'value="SIA Tipā"' in html and 'value="01.02.2025"' in html
    assert _count(session) == 0

    response = client.post(PAGE, data={**typed, "amount": "12,34"})
    assert response.status_code == 302
    aid = session.scalars(sa.select(DeMinimisAid)).one()
    assert (aid.amount, aid.granted_on, aid.source) == (Decimal("12.34"), date(2025, 2, 1), AidSource.MANUAL)


def test_page_import_lists_errors_per_line_then_imports(client, session, officer):
    login(client, officer)
    token = csrf_token_from(client.get(PAGE).get_data(as_text=True))
    bad = (HEADER + "40003000001,SIA,10,2025-01-01,LIAA,\n40003000001,SIA,abc,2025-01-01,LIAA,\n").encode()
    response = client.post(f"{PAGE}import", data={"csrf_token": token, "file": (io.BytesIO(bad), "aid.csv")},
                           content_type="multipart/form-data", query_string={"lang": "en"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "line 3.amount" in html and "Nothing was imported" in html
    assert _count(session) == 0

    good = (HEADER + "40003000001,SIA,10,2025-01-01,LIAA,\n").encode()
    response = client.post(f"{PAGE}import", data={"csrf_token": token, "file": (io.BytesIO(good), "aid.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert _count(session) == 1


def test_auditor_reads_the_page_without_forms_and_cannot_post(client, session):
    auditor = make_user("auditor")
    login(client, auditor)
    html = client.get(PAGE).get_data(as_text=True)
    assert 'action="/eligibility/de-minimis/import"' not in html
    token = csrf_token_from(html)
    assert client.post(PAGE, data={"csrf_token": token}).status_code == 403
    applicant = make_user("applicant")
    client.post("/logout", data={"csrf_token": token})
    login(client, applicant)
    assert client.get(PAGE).status_code == 403
