"""Grant pages (issue 13, item 8): the grants list, one grant, the agreement form and its printable
version, the finance work list, the dashboard's grant panels; who sees what, forms that refuse bad input
with 422 and keep it, and query counts that do not grow with the data."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from grants.core.db import db, today
from grants.evaluations.models import Assignment
from grants.grants_mgmt.agreements import attach_signed_file, save_agreement
from grants.grants_mgmt.awards import agreement_of
from grants.grants_mgmt.models import Irregularity
from grants.grants_mgmt.payments import payments_of
from grants.workflows.engine import fire
from tests.conftest import csrf_token_from
from tests.factories import (
    approved,
    gate_call,
    headers_of,
    login,
    make_evaluation_call,
    make_organisation,
    make_pool,
    make_user,
    member_of,
    pdf_bytes,
    score_gate,
    to_gate,
)


@pytest.fixture
def people(app):
    return {"officer": make_user("officer", name="Olga Referente"), "committee": make_user("committee"),
            "finance1": make_user("finance", name="Fēlikss Pirmais"), "finance2": make_user("finance"),
            "auditor": make_user("auditor", name="Auguste Revidente")}


def _login(client, user):
    """Sign out whoever was signed in, sign ``user`` in, and read the pages in English."""
    page = client.get("/calls/").get_data(as_text=True)
    if 'action="/logout"' in page:
        client.post("/logout", data={"csrf_token": csrf_token_from(page)})
    login(client, user)
    client.get("/language/en")


def _award(people, *, title="Kopienas darbnīca", amount="4000.00", call=None):
    call = call or make_evaluation_call(workflow_version=4)
    return approved(call, people["officer"], people["committee"], amount=amount, title=title)


def _terms(amount="4000.00", *, schedule=None, targets=None):
    """An agreement that started 200 days ago: a progress report overdue by now, a final one to come."""
    start = today() - timedelta(days=200)
    end = start + timedelta(days=250)
    middle = start + timedelta(days=125)
    total = Decimal(amount)
    return {"start_date": start.isoformat(), "end_date": end.isoformat(), "awarded_amount": amount,
            "indicator_targets": targets or {},
            "reports": [{"kind": "progress", "period_end": middle.isoformat(),
                         "due_on": (middle + timedelta(days=20)).isoformat()},
                        {"kind": "final", "period_end": end.isoformat(),
                         "due_on": (end + timedelta(days=5)).isoformat()}],
            "schedule": schedule or [
                {"kind": "advance", "amount": f"{total * Decimal('0.4'):.2f}", "due_on": start.isoformat()},
                {"kind": "interim", "amount": f"{total * Decimal('0.4'):.2f}",
                 "due_on": (middle + timedelta(days=25)).isoformat()},
                {"kind": "final", "amount": f"{total * Decimal('0.2'):.2f}",
                 "due_on": (end + timedelta(days=10)).isoformat()}]}


def _running(people, application, **terms):
    """The agreement saved, its signed scan uploaded, signed and started (through the services)."""
    officer = people["officer"]
    save_agreement(application, officer, _terms(**terms), today=today())
    attach_signed_file(application, officer, FileStorage(io.BytesIO(pdf_bytes()), filename="ligums.pdf",
                                                         content_type="application/pdf"))
    fire(application, "sign_contract", officer)
    fire(application, "start_implementation", officer)
    return application


def _page(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def _post_forms(html: str) -> list[str]:
    """The actions of the page's POST forms, but the sign-out in the header."""
    return [action for action in re.findall(r'<form method="post"[^>]*action="([^"]*)"', html)
            if not action.endswith("/logout")] + re.findall(r'<form method="post"(?![^>]*action=)[^>]*>', html)


# --- 1. the grants ------------------------------------------------------------------------------------

def test_staff_see_every_grant_and_a_grantee_only_theirs(client, session, people):
    ours = _running(people, _award(people, title="Kopienas darbnīca"), targets={"esf_entities_supported": "2"})
    theirs = _award(people, title="Senioru klubs")
    _login(client, people["officer"])
    page = _page(client, "/grants/")
    assert "Kopienas darbnīca" in page and "Senioru klubs" in page and "2 grants" in page
    number = agreement_of(ours).number
    assert number in page and "1 overdue" in page and "(provisional)" in page
    assert f'href="/grants/{ours.id}"' in page and "4,000.00" in page
    filtered = _page(client, "/grants/?state=approved&q=klubs")
    assert "Senioru klubs" in filtered and "Kopienas darbnīca" not in filtered
    assert "Kopienas darbnīca" in _page(client, "/grants/?overdue=1")
    assert "Senioru klubs" not in _page(client, "/grants/?overdue=1")

    _login(client, member_of(ours))
    mine = _page(client, "/grants/")
    assert "My grants" in mine and "Kopienas darbnīca" in mine and "Senioru klubs" not in mine
    assert "Grant agreement signed" not in mine and "Project in implementation" in mine  # the grantee's status
    assert "0 of 1 target reached" in mine and '<progress max="100" value="0"' in mine
    _login(client, member_of(theirs))
    assert "Kopienas darbnīca" not in _page(client, "/grants/")


def test_the_grants_list_queries_do_not_grow_with_the_grants(client, session, people, count_queries):
    call = make_evaluation_call(workflow_version=4)
    _running(people, _award(people, call=call))
    _login(client, people["officer"])
    client.get("/grants/")
    with count_queries() as one:
        assert client.get("/grants/").status_code == 200
    for title in ("Otrais", "Trešais"):
        _running(people, _award(people, call=call, title=title))
    with count_queries() as three:
        page = client.get("/grants/").get_data(as_text=True)
    assert "3 grants" in page
    assert three.count == one.count <= 10


def test_navigation_and_the_application_page_lead_to_the_grants(client, session, people):
    application = _award(people)
    _login(client, people["finance1"])
    page = _page(client, f"/applications/{application.id}")
    assert 'href="/grants/"' in page and 'href="/grants/payments"' in page
    assert f'href="/grants/{application.id}"' in page
    _login(client, member_of(application))
    page = _page(client, f"/applications/{application.id}")
    assert 'href="/grants/"' in page and 'href="/grants/payments"' not in page
    assert f'href="/grants/{application.id}"' in page


# --- 2. one grant -----------------------------------------------------------------------------------------

def test_the_grantee_reads_the_grant_and_others_are_told_it_does_not_exist(client, session, people):
    application = _running(people, _award(people))
    grantee = member_of(application)
    _login(client, grantee)
    page = _page(client, f"/grants/{application.id}")
    number = agreement_of(application).number
    assert "Kopienas darbnīca" in page and number in page and "Project in implementation" in page
    assert "4,000.00" in page and "ligums.pdf" in page and "provisional" in page
    assert "Advance" in page and "Interim payment" in page and "Final payment" in page
    assert "Progress report" in page and "overdue" in page
    assert f"/grants/{application.id}/reports/new?kind=progress" in page  # write the missing report
    assert _post_forms(page) == []  # nothing for the grantee to press here
    with client.get(f"/grants/{application.id}/files/{agreement_of(application).signed_file_id}") as scan:
        assert scan.status_code == 200 and scan.data.startswith(b"%PDF")

    _login(client, make_user("applicant"))
    assert client.get(f"/grants/{application.id}").status_code == 404
    outsider = make_user("applicant")
    make_organisation(outsider)
    _login(client, outsider)
    assert client.get(f"/grants/{application.id}").status_code == 404
    assert client.get(f"/grants/{application.id}/agreement/print").status_code == 404
    assert client.get(f"/grants/{application.id}/files/{agreement_of(application).signed_file_id}").status_code \
        == 404
    _login(client, make_user("evaluator"))
    assert client.get(f"/grants/{application.id}").status_code == 404
    assert client.get("/grants/payments").status_code == 403


def test_the_auditor_sees_everything_and_no_form(client, session, people):
    application = _running(people, _award(people))
    session.add(Irregularity(application_id=application.id, amount=Decimal("100.00"), description="Dubults rēķins",
                             detected_on=today(), reported_by_id=people["officer"].id))
    session.flush()
    _login(client, people["auditor"])
    page = _page(client, f"/grants/{application.id}")
    assert "In implementation" in page and "Dubults rēķins" in page and "Suspected" in page
    assert "Payment schedule" in page and "Reports" in page and "History" in page
    assert _post_forms(page) == [] and 'name="trigger"' not in page
    work_list = _page(client, "/grants/payments?state=planned")
    assert "Kopienas darbnīca" in work_list and "act_on_payment" not in work_list
    assert _post_forms(work_list) == []
    assert client.get(f"/grants/{application.id}/agreement").status_code == 403


def test_the_grant_page_queries_do_not_grow_with_the_payments(client, session, people, count_queries):
    application = _award(people)
    officer = people["officer"]
    two = [{"kind": "advance", "amount": "2000.00", "due_on": today().isoformat()},
           {"kind": "final", "amount": "2000.00", "due_on": today().isoformat()}]
    save_agreement(application, officer, _terms(schedule=two), today=today())
    _login(client, officer)
    client.get(f"/grants/{application.id}")
    with count_queries() as small:
        assert client.get(f"/grants/{application.id}").status_code == 200
    five = [{"kind": "advance", "amount": "800.00", "due_on": today().isoformat()} for _ in range(4)] + [
        {"kind": "final", "amount": "800.00", "due_on": today().isoformat()}]
    save_agreement(db.session.get(type(application), application.id), officer, {"schedule": five}, today=today(),
                   expected_version=None)
    with count_queries() as large:
        page = client.get(f"/grants/{application.id}").get_data(as_text=True)
    assert page.count('data-payment="') == 5
    assert large.count == small.count


# --- 3. the agreement form ---------------------------------------------------------------------------------

def _form_fields(html: str) -> dict[str, str]:
    """The values the agreement form would send as it is shown."""
    fields = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        fields[name] = value
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options) or re.search(r'<option value="([^"]*)"',
                                                                                        options)
        fields[name] = chosen.group(1) if chosen else ""
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields[name] = text.strip()
    return fields


def test_the_officer_drafts_the_agreement_signs_and_starts_the_grant(client, session, people):
    application = _award(people)
    path = f"/grants/{application.id}/agreement"
    _login(client, people["officer"])
    page = _page(client, path)
    assert "Draft the grant agreement" in page and 'value="4000.00"' in page
    fields = _form_fields(page)
    assert fields["reports-0-kind"] == "progress" and fields["reports-1-kind"] == "final"
    assert fields["reports-2-period_end"] == ""  # room for one more
    assert [fields[f"schedule-{i}-amount"] for i in range(3)] == ["1600.00", "1600.00", "800.00"]

    # A schedule that does not add up is refused; every typed value is kept; nothing is saved.
    wrong = {**fields, "schedule-0-amount": "1 500,00", "conditions": "Iesniegt dalībnieku sarakstu.",
             "target-esf_entities_supported": "2"}
    response = client.post(path, data=wrong)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please correct the following" in html and "The instalments add up to 3,900.00" in html
    assert 'value="1 500,00"' in html and "Iesniegt dalībnieku sarakstu." in html
    assert 'name="target-esf_entities_supported" value="2"' in html
    assert agreement_of(application) is None

    # A row's date is wrong: the message sits by the input and the summary links to it.
    late = {**fields, "reports-1-due_on": "2000-01-01"}
    html = client.post(path, data=late).get_data(as_text=True)
    assert 'id="reports-1-due_on"' in html and 'aria-describedby="reports-1-due_on-error"' in html
    assert 'href="#reports-1-due_on"' in html and "A report is due after the end of its period." in html
    over = client.post(path, data={**fields, "awarded_amount": "4000.01"})
    assert over.status_code == 422 and "the committee decided" in over.get_data(as_text=True)

    saved = client.post(path, data={**fields, "target-esf_entities_supported": "2"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/grants/{application.id}#agreement")
    agreement = agreement_of(application)
    assert agreement.awarded_amount == Decimal("4000.00") and agreement.indicator_targets == {
        "esf_entities_supported": "2"}
    page = _page(client, f"/grants/{application.id}")
    assert "The grant agreement has been saved." in page and "Upload the scan of the signed agreement." in page
    assert "Edit the agreement" in page and 'value="sign_contract"' in page

    # Signing is refused until the scan is there; then the scan, the signature, the start.
    token = csrf_token_from(page)
    refused = client.post(f"/grants/{application.id}", data={"csrf_token": token, "trigger": "sign_contract",
                                                             "version": application.version})
    assert refused.status_code == 409 and "Upload the scan of the signed agreement." in refused.get_data(as_text=True)
    upload = client.post(f"/grants/{application.id}/agreement/file", content_type="multipart/form-data",
                         data={"csrf_token": token, "file": (io.BytesIO(pdf_bytes()), "parakstits.pdf")})
    assert upload.status_code == 302
    page = _page(client, f"/grants/{application.id}")
    assert "The scan parakstits.pdf has been uploaded." in page and "What stops the signature" not in page
    for trigger in ("sign_contract", "start_implementation"):
        version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', page).group(1)
        assert client.post(f"/grants/{application.id}", data={"csrf_token": token, "trigger": trigger,
                                                              "version": version}).status_code == 302
        page = _page(client, f"/grants/{application.id}")
    session.refresh(application)
    assert application.state == "in_implementation"

    # Signed: the agreement no longer changes.
    frozen = client.get(path)
    assert frozen.status_code == 409 and "only until it is signed" in frozen.get_data(as_text=True)
    _login(client, member_of(application))
    assert client.get(path).status_code == 403


def test_a_stage_gated_agreement_has_a_tranche_per_stage(client, session, people):
    call = gate_call()
    make_pool(call, 2, people["officer"])
    application = approved(call, people["officer"], people["committee"], amount="12000.00",
                           totals=({"need": 45, "novelty": 45},) * 2, requested_amount=Decimal("12000.00"))
    path = f"/grants/{application.id}/agreement"
    _login(client, people["officer"])
    page = _page(client, path)
    assert "Tranches by SI stage" in page and 'name="tranches-1-amount"' in page
    fields = _form_fields(page)
    assert fields["reports-0-si_stage"] == "idea_generation" and fields["reports-1-si_stage"] == "prototyping"
    wrong = client.post(path, data={**fields, "tranches-0-amount": "4000.00", "tranches-1-amount": "9000.00"})
    assert wrong.status_code == 422 and "The tranches add up to 13,000.00" in wrong.get_data(as_text=True)
    saved = client.post(path, data={**fields, "tranches-0-amount": "4000.00", "tranches-1-amount": "8000.00"})
    assert saved.status_code == 302
    assert agreement_of(application).tranches == [{"si_stage": "idea_generation", "amount": "4000.00"},
                                                  {"si_stage": "prototyping", "amount": "8000.00"}]
    # No schedule typed: the first tranche's is proposed.
    assert sum(p.amount for p in payments_of(application)) == Decimal("4000.00")


# --- 4. the printable agreement ------------------------------------------------------------------------

def test_the_printable_agreement(client, session, people):
    application = _award(people)
    _login(client, people["officer"])
    assert client.get(f"/grants/{application.id}/agreement/print").status_code == 404  # none yet
    save_agreement(application, people["officer"], _terms(), today=today())
    assert "Draft: not signed" in _page(client, f"/grants/{application.id}/agreement/print")
    _running(people, application)
    _login(client, member_of(application))
    page = _page(client, f"/grants/{application.id}/agreement/print")
    organisation = application.organisation
    number = agreement_of(application).number
    assert f"Grant agreement No. {number}" in page and application.call.programme.title_en in page
    assert organisation.name in page and organisation.registration_number in page and "Association" in page
    assert "Rīga" in page and application.call.code in page and "4,000.00" in page
    assert "Payment schedule" in page and "1,600.00" in page and "Progress report" in page
    assert "For the programme operator" in page and "For the grantee" in page
    assert "data-print" in page and "js/print.js" in page and 'class="print-tools no-print"' in page
    assert "Draft: not signed" not in page
    _login(client, people["auditor"])
    assert number in _page(client, f"/grants/{application.id}/agreement/print")


# --- payments -------------------------------------------------------------------------------------------------

def _act(client, payment_id, trigger, page, **extra):
    version = re.search(rf'action="/grants/payments/{payment_id}/act".*?name="version" value="(\d+)"', page,
                        re.S).group(1)
    return client.post(f"/grants/payments/{payment_id}/act", data={
        "csrf_token": csrf_token_from(page), "trigger": trigger, "version": version, **extra})


def test_payments_are_verified_by_one_and_paid_by_another(client, session, people):
    application = _running(people, _award(people))
    advance = payments_of(application)[0]
    _login(client, people["officer"])
    page = _page(client, f"/grants/{application.id}")
    requested = _act(client, advance.id, "request", page, next="https://example.com/elsewhere")
    assert requested.status_code == 302 and requested.headers["Location"].endswith(f"/grants/{application.id}#payments")

    _login(client, people["finance1"])
    work_list = _page(client, "/grants/payments")  # to verify, by default
    assert "Kopienas darbnīca" in work_list and 'value="verify"' in work_list and "To verify" in work_list
    verified = _act(client, advance.id, "verify", work_list, next="/grants/payments")
    assert verified.status_code == 302 and verified.headers["Location"].endswith("/grants/payments")
    to_pay = _page(client, "/grants/payments?state=verified")
    assert "is now: Verified" in to_pay and 'value="pay"' in to_pay and 'name="paid_on"' in to_pay
    refused = _act(client, advance.id, "pay", to_pay, next="/grants/payments?state=verified", reference="MP-1")
    assert refused.status_code == 302
    page = _page(client, refused.headers["Location"])
    assert "The payment was not changed" in page and "another finance officer must pay it" in page
    session.refresh(advance)
    assert advance.state == "verified"

    _login(client, people["finance2"])
    to_pay = _page(client, "/grants/payments?state=verified")
    paid = _act(client, advance.id, "pay", to_pay, paid_on=today().isoformat(), reference="MP-100")
    assert paid.status_code == 302
    page = _page(client, f"/grants/{application.id}")
    assert "is now: Paid" in page and "MP-100" in page
    session.refresh(advance)
    assert (advance.state, advance.reference, advance.paid_on) == ("paid", "MP-100", today())

    # The interim payment waits for the accepted progress report; a rejection needs a reason.
    interim = payments_of(application)[1]
    _login(client, people["officer"])
    page = _page(client, f"/grants/{application.id}")
    _act(client, interim.id, "request", page)
    page = _page(client, f"/grants/{application.id}")
    assert "An interim payment needs an accepted progress report" in page
    _act(client, interim.id, "reject", page)
    assert "The payment was not changed" in _page(client, f"/grants/{application.id}")
    _login(client, make_user("applicant"))
    assert client.get("/grants/payments").status_code == 403


def test_planning_an_instalment_over_the_award_is_refused(client, session, people):
    application = _running(people, _award(people))
    final = payments_of(application)[2]
    _login(client, people["officer"])
    page = _page(client, f"/grants/{application.id}")
    over = client.post(f"/grants/{application.id}/payments", data={
        "plan-csrf_token": csrf_token_from(page), "plan-kind": "interim", "plan-amount": "500.00",
        "plan-due_on": today().isoformat()})
    html = over.get_data(as_text=True)
    assert over.status_code == 422 and "more than the 4,000.00" in html
    assert 'id="plan-amount"' in html and 'value="500.00"' in html and 'aria-invalid="true"' in html
    bad_date = client.post(f"/grants/{application.id}/payments", data={
        "plan-csrf_token": csrf_token_from(page), "plan-kind": "interim", "plan-amount": "500.00",
        "plan-due_on": "vakar"})
    assert bad_date.status_code == 422 and "Give the due date (YYYY-MM-DD)." in bad_date.get_data(as_text=True)

    # Rejecting the final instalment leaves room for another one.
    rejected = _act(client, final.id, "reject", page, comment="Grafiks mainās.")
    assert rejected.status_code == 302
    planned = client.post(f"/grants/{application.id}/payments", data={
        "plan-csrf_token": csrf_token_from(page), "plan-kind": "final", "plan-amount": "800,00",
        "plan-due_on": (today() + timedelta(days=30)).isoformat()})
    assert planned.status_code == 302
    session.expire_all()
    assert [(p.kind.value, p.amount, p.state) for p in payments_of(application)][-2:] in (
        [("final", Decimal("800.00"), "rejected"), ("final", Decimal("800.00"), "planned")],
        [("final", Decimal("800.00"), "planned"), ("final", Decimal("800.00"), "rejected")])
    _login(client, people["finance1"])
    assert client.post(f"/grants/{application.id}/payments", data={
        "plan-csrf_token": csrf_token_from(_page(client, "/grants/"))}).status_code == 403


def test_the_payment_list_queries_do_not_grow_with_the_payments(client, session, people, count_queries):
    call = make_evaluation_call(workflow_version=4)
    _running(people, _award(people, call=call))
    _login(client, people["finance1"])
    client.get("/grants/payments?state=planned")
    with count_queries() as three:
        page = client.get("/grants/payments?state=planned").get_data(as_text=True)
    assert page.count('data-payment="') == 3
    _running(people, _award(people, call=call, title="Otrais"))
    with count_queries() as six:
        page = client.get("/grants/payments?state=planned").get_data(as_text=True)
    assert page.count('data-payment="') == 6 and page.count('value="request"') == 6
    assert six.count == three.count


# --- the stage gate ------------------------------------------------------------------------------------

def test_the_committee_decides_the_gate_on_the_grant_page(client, session, people):
    call = gate_call()
    make_pool(call, 2, people["officer"])
    application, _grantee, _payments = to_gate(client, people, call, headers_of(people))
    score_gate(client, application, [(55, 35), (50, 30)])
    path = f"/grants/{application.id}"
    _login(client, member_of(application))
    page = _page(client, path)
    assert "Results reviewed" in page and "Final score" not in page and "gate-form" not in page
    reviewer = session.scalars(sa.select(Assignment).where(Assignment.application_id == application.id,
                                                           Assignment.gate_stage == "prototyping")).first().evaluator
    _login(client, reviewer)  # an evaluator of the gate reads the grant, not the consolidated score
    page = _page(client, path)
    assert "Stage gate: Proposals and ideas → Prototyping and pilots" in page and "Final score" not in page
    assert _post_forms(page) == []

    _login(client, people["committee"])
    page = _page(client, path)
    assert "Final score" in page and "85" in page and "Passed" in page and 'name="gate-outcome"' in page
    assert 'value="pass_gate"' not in page
    date_input = re.search(r'<input[^>]*id="gate-decided_on"[^>]*>', page).group(0)
    assert 'value=""' in date_input or "value=" not in date_input  # the committee gives the date (DESIGN §7)
    token = csrf_token_from(page)
    future = client.post(f"{path}/gate-decision", data={
        "gate-csrf_token": token, "gate-outcome": "passed", "gate-reason": "Prototips pierādīts.",
        "gate-decided_on": (today() + timedelta(days=1)).isoformat()})
    html = future.get_data(as_text=True)
    assert future.status_code == 422 and "The decision date cannot be in the future." in html
    assert "Prototips pierādīts." in html and 'id="gate-decided_on"' in html
    closing = client.post(f"{path}/gate-decision", data={
        "gate-csrf_token": token, "gate-outcome": "failed", "gate-decided_on": today().isoformat()})
    assert closing.status_code == 422 and 'id="gate-reason-error"' in closing.get_data(as_text=True)
    passed = client.post(f"{path}/gate-decision", data={
        "gate-csrf_token": token, "gate-outcome": "passed", "gate-reason": "Prototips pierādīts.",
        "gate-decided_on": today().isoformat()})
    assert passed.status_code == 302
    page = _page(client, path)
    assert "The stage gate decision has been recorded." in page and "Tranche" in page and "8,000.00" in page
    session.refresh(application)
    assert (application.state, application.award_stage) == ("in_implementation", "prototyping")
    assert client.post(f"{path}/gate-decision", data={"gate-csrf_token": token}).status_code == 422
    _login(client, people["officer"])
    token = csrf_token_from(_page(client, path))
    assert client.post(f"{path}/gate-decision", data={"gate-csrf_token": token}).status_code == 403


# --- irregularities ------------------------------------------------------------------------------------------

def test_an_officer_records_an_irregularity_the_grantee_sees_it_once_confirmed(client, session, people):
    application = _running(people, _award(people))
    path = f"/grants/{application.id}"
    _login(client, people["officer"])
    page = _page(client, path)
    token = csrf_token_from(page)
    bad = client.post(f"{path}/irregularities", data={
        "irregularity-csrf_token": token, "irregularity-amount": "-5", "irregularity-description": "Dubults rēķins",
        "irregularity-detected_on": today().isoformat()})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Give the amount concerned in euros" in html and "Dubults rēķins" in html
    good = client.post(f"{path}/irregularities", data={
        "irregularity-csrf_token": token, "irregularity-amount": "250,00",
        "irregularity-description": "Dubults rēķins", "irregularity-detected_on": today().isoformat()})
    assert good.status_code == 302
    irregularity = session.scalars(sa.select(Irregularity).where(Irregularity.application_id == application.id)).one()
    page = _page(client, path)
    assert f'href="/grants/irregularities/{irregularity.id}"' in page and "250.00" in page
    _login(client, member_of(application))
    assert "Dubults rēķins" not in _page(client, path)  # suspected: still being examined
    fire(irregularity, "confirm", people["officer"], comment="Apstiprināts.")
    page = _page(client, path)
    assert "Dubults rēķins" in page and f"/grants/irregularities/{irregularity.id}" not in page


# --- the dashboard ------------------------------------------------------------------------------------------

def test_the_dashboard_shows_grants_to_the_grantee_and_the_work_to_staff(client, session, people, count_queries):
    application = _running(people, _award(people))
    advance = payments_of(application)[0]
    fire(advance, "request", people["officer"])
    _login(client, member_of(application))
    page = _page(client, "/dashboard/")
    assert "My grants" in page and "Kopienas darbnīca" in page and "1 overdue" in page
    assert "Grants at a glance" not in page

    _login(client, people["finance1"])
    client.get("/dashboard/")
    with count_queries() as counted:
        page = _page(client, "/dashboard/")
    assert "Grants at a glance" in page and "Payments to verify" in page and "1,600.00" in page
    assert "Overdue reports" in page and "Progress report" in page and 'href="/grants/irregularities/"' in page
    assert counted.count <= 15
