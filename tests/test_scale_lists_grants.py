"""The grants, payments and initiatives lists at scale (issue 15): each now reads a page's worth of rows (the
money of the page's grants only, the page's payments chosen before they are joined, the page's initiatives
before their application counts) and counts without the joins. These tests hold them to the rows and totals of
the straightforward joins they replaced, page by page and filter by filter, and keep their statements flat."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.calls.models import Call
from grants.core.db import Money, db, today
from grants.core.paging import count_of, window
from grants.decisions.models import Decision, Outcome
from grants.eligibility.models import AidSource, DeMinimisAid
from grants.grants_mgmt import payments
from grants.grants_mgmt.listings import (
    GrantRow,
    _decided,
    grant_rows,
    grants_query,
    grants_total,
    payment_page,
    payments_total,
)
from grants.grants_mgmt.models import GrantAgreement, GrantReport, Payment, ReportDue
from grants.grants_mgmt.models.payments import OPEN_PAYMENT_STATES
from grants.grants_mgmt.models.reports import DELIVERED_STATES
from grants.grants_mgmt.permissions import reads_all
from grants.grants_mgmt.retention import keep_until
from grants.initiatives.services import list_query, page_with_counts
from grants.organisations.models import Membership, Organisation
from grants.workflows.engine import available_triggers
from tests.factories import (
    approved,
    bearer,
    in_evaluation,
    login,
    make_application,
    make_call,
    make_evaluation_call,
    make_initiative,
    make_organisation,
    make_programme,
    make_user,
    member_of,
    signed_grant,
)


@pytest.fixture
def people(app):
    return {"officer": make_user("officer"), "committee": make_user("committee"),
            "finance1": make_user("finance"), "finance2": make_user("finance"), "auditor": make_user("auditor")}


# --- what the lists were: the joins they replaced, kept here as the reference ----------------------------

def _old_overdue(day: date) -> sa.Select:
    delivered = sa.select(GrantReport.due_id).where(GrantReport.state.in_(DELIVERED_STATES))
    return (sa.select(ReportDue.application_id)
            .join(GrantAgreement, GrantAgreement.application_id == ReportDue.application_id)
            .join(Application, Application.id == ReportDue.application_id)
            .where(ReportDue.due_on < day, GrantAgreement.signed_at.is_not(None), Application.state != "terminated",
                   ReportDue.id.not_in(delivered)))


def _old_grants_query(user, *, call_id=None, state=None, si_stage=None, programme_id=None, overdue=False,
                      today=None, q=None) -> sa.Select:
    """Every payment grouped by application and joined to every grant, filters on the joined rows."""
    from grants.applications.search import matching_ids

    is_paid = Payment.state == "paid"
    paid = (sa.select(Payment.application_id,
                      sa.type_coerce(sa.func.sum(sa.case((is_paid, Payment.amount), else_=0)), Money).label("paid"),
                      sa.func.max(sa.case((is_paid, Payment.paid_on))).label("last_paid_on"),
                      sa.func.count(sa.case((Payment.state.in_(OPEN_PAYMENT_STATES), 1))).label("open"))
            .group_by(Payment.application_id).subquery("paid"))
    decided = _decided()
    de_minimis = sa.select(DeMinimisAid.application_id).where(DeMinimisAid.source == AidSource.AWARD,
                                                             DeMinimisAid.application_id.is_not(None))
    query = (sa.select(Application.id, Application.title, Organisation.name, Organisation.id, Call.id, Call.code,
                       Application.si_stage, Application.award_stage, Application.state, Application.workflow_name,
                       Application.workflow_version, GrantAgreement.number, GrantAgreement.awarded_amount,
                       decided.c.amount, GrantAgreement.end_date, GrantAgreement.signed_at,
                       sa.func.coalesce(paid.c.paid, 0), paid.c.last_paid_on, sa.func.coalesce(paid.c.open, 0),
                       Application.id.in_(de_minimis))
             .join(Organisation, Organisation.id == Application.organisation_id)
             .join(Call, Call.id == Application.call_id)
             .join(decided, decided.c.application_id == Application.id)
             .outerjoin(GrantAgreement, GrantAgreement.application_id == Application.id)
             .outerjoin(paid, paid.c.application_id == Application.id)
             .order_by(Application.id.desc()))
    if not reads_all(user):
        query = query.where(Application.organisation_id.in_(
            sa.select(Membership.organisation_id).where(Membership.user_id == user.id)))
    if call_id is not None:
        query = query.where(Application.call_id == call_id)
    if programme_id is not None:
        query = query.where(Call.programme_id == programme_id)
    if state:
        query = query.where(Application.state == state)
    if si_stage:
        query = query.where(Application.si_stage == si_stage)
    if overdue:
        query = query.where(Application.id.in_(_old_overdue(today)))
    if q and q.strip():
        escaped = q.strip().replace("/", "//").replace("%", "/%").replace("_", "/_")
        query = query.where(sa.or_(Application.id.in_(matching_ids(q)),
                                   GrantAgreement.number.ilike(f"%{escaped}%", escape="/")))
    return query


def _old_payments_query(*, state=None, call_id=None) -> sa.Select:
    """Every payment joined to its grant, then ordered."""
    query = (sa.select(Payment.id, Payment.application_id, Application.title, Organisation.name, GrantAgreement.number,
                       Payment.kind, Payment.si_stage, Payment.amount, Payment.due_on, Payment.state,
                       Payment.requested_at, Payment.verified_by_id, Payment.verified_at, Payment.paid_on)
             .join(Application, Application.id == Payment.application_id)
             .join(Organisation, Organisation.id == Application.organisation_id)
             .outerjoin(GrantAgreement, GrantAgreement.application_id == Payment.application_id)
             .order_by(Payment.due_on, Payment.id))
    if state:
        query = query.where(Payment.state == state)
    if call_id is not None:
        query = query.where(Application.call_id == call_id)
    return query


def _grants(people):
    """Two calls of two programmes: a grant with its advance paid, one with its advance requested, one signed but
    not started, one approved only; an application that is no grant; and a second approval of one grant."""
    other_programme = make_programme(code="OTR")
    first_call = make_evaluation_call(workflow_version=4)
    second_call = make_evaluation_call(programme=other_programme, workflow_version=4)
    paid = signed_grant(people, call=first_call)
    requested = signed_grant(people, call=first_call)
    contracted = signed_grant(people, call=second_call, contracted_only=True)
    only_approved = approved(second_call, people["officer"], people["committee"], title="Tikai apstiprināts")
    in_evaluation(second_call, people["officer"], title="Vēl vērtē")
    day = today()
    advance = next(p for p in payments.payments_of(paid) if p.kind.value == "advance")
    payments.act_on_payment(advance, "request", people["officer"], today=day)
    payments.act_on_payment(advance, "verify", people["finance1"], today=day)
    payments.act_on_payment(advance, "pay", people["finance2"], today=day, reference="MP-1")
    advance = next(p for p in payments.payments_of(requested) if p.kind.value == "advance")
    payments.act_on_payment(advance, "request", people["officer"], today=day)
    # a second approval of the same application: still one row, the newest approval's amount
    db.session.add(Decision(application_id=only_approved.id, outcome=Outcome.APPROVED, amount=Decimal("1000.00"),
                            decided_on=day, decided_by_id=people["committee"].id, justification="Samazināts."))
    # the paid grant's award in the de minimis register (its call need not check de minimis for this), and an
    # imported row of the same organisation, which is no award
    for source, application_id in ((AidSource.AWARD, paid.id), (AidSource.IMPORT, None)):
        db.session.add(DeMinimisAid(registration_number=paid.organisation.registration_number, amount=Decimal("1.00"),
                                    granted_on=day, source=source, application_id=application_id))
    db.session.flush()
    return {"first_call": first_call, "second_call": second_call, "programme": other_programme, "paid": paid,
            "requested": requested, "contracted": contracted, "only_approved": only_approved}


# --- the grants --------------------------------------------------------------------------------------------

def test_the_grants_list_gives_the_rows_and_totals_of_the_joins_it_replaced(app, session, people):
    made = _grants(people)
    day = today()
    number = db.session.scalar(sa.select(GrantAgreement.number).where(
        GrantAgreement.application_id == made["requested"].id))
    filters = [{}, {"call_id": made["first_call"].id}, {"call_id": made["second_call"].id},
               {"programme_id": made["programme"].id}, {"state": "in_implementation"}, {"state": "approved"},
               {"si_stage": "idea_generation"}, {"si_stage": "scaling"}, {"overdue": True},
               {"q": number[-4:]}, {"q": "apstiprin"}, {"q": "nekas tāds"}]
    grantee = member_of(made["paid"])
    for user in (people["officer"], people["auditor"], grantee):
        for given in filters:
            new, old = grants_query(user, today=day, **given), _old_grants_query(user, today=day, **given)
            expected = db.session.execute(old).all()
            # the same rows; whether the award is de minimis aid now comes with grant_rows (for signed awards)
            assert [tuple(row) for row in db.session.execute(new)] == [tuple(row[:-1]) for row in expected], given
            assert grants_total(user, today=day, **given) == count_of(old) == len(expected), given
            for page in (1, 2, 3):
                paged = grants_query(user, page=page, per_page=2, today=day, **given)
                assert ([tuple(row) for row in db.session.execute(paged)]
                        == [tuple(row[:-1]) for row in db.session.execute(window(old, page, 2))]), (given, page)
            rows = grant_rows(grants_query(user, page=1, per_page=50, today=day, **given), today=day)
            assert [(row.application_id, row.de_minimis, row.keep_until) for row in rows] == [
                (row[0], row[-1] and row[15] is not None, old_row.keep_until)
                for row, old_row in zip(expected, [GrantRow(*row) for row in expected], strict=True)], given
    everything = db.session.execute(grants_query(people["officer"], today=day)).all()
    assert len(everything) == 4  # one row per grant, the second approval included once
    assert {row[0]: row[13] for row in everything}[made["only_approved"].id] == Decimal("1000.00")
    signed = {row.application_id: row for row in grant_rows(grants_query(people["officer"], today=day), today=day)}
    assert signed[made["paid"].id].de_minimis and not signed[made["requested"].id].de_minimis
    assert signed[made["paid"].id].keep_until == keep_until(day, True)  # paid today, de minimis
    assert signed[made["requested"].id].keep_until == keep_until(date(2025, 6, 30), False)  # the agreement's end
    assert grants_total(grantee, today=day) == 1


def test_the_grants_rows_carry_their_money_and_the_next_report(app, session, people):
    made = _grants(people)
    rows = {row.application_id: row for row in grant_rows(grants_query(people["officer"], page=1, today=today()),
                                                          today=today())}
    paid, requested = rows[made["paid"].id], rows[made["requested"].id]
    assert paid.paid_amount == paid.amount / 2 and paid.last_paid_on == today() and paid.open_payments == 2
    assert requested.paid_amount == 0 and requested.last_paid_on is None and requested.open_payments == 3
    assert paid.next_report_due is not None and paid.overdue_reports == 2  # the 2025 agreement: both overdue
    assert rows[made["only_approved"].id].agreement_number is None


def test_the_grants_filter_offers_the_calls_that_have_grants(client, session, people):
    made = _grants(people)
    empty_call = make_evaluation_call(workflow_version=4)
    in_evaluation(empty_call, people["officer"], title="Nav piešķirts")
    login(client, people["officer"])
    page = client.get("/grants/").get_data(as_text=True)
    offered = {int(value) for value in re.findall(r'<option value="(\d+)"', page.split('id="f-call"')[1]
                                                                                 .split("</select>")[0])}
    assert offered == {made["first_call"].id, made["second_call"].id}


def test_the_grants_list_and_api_statements_stay_flat_with_filters(client, session, people, count_queries):
    made = _grants(people)
    login(client, people["officer"])
    headers = bearer(people["officer"])
    paths = [f"/grants/?call_id={made['first_call'].id}&state=in_implementation", "/grants/?overdue=1&q=a",
             f"/api/v1/grants?programme_id={made['programme'].id}", "/api/v1/grants?q=a&overdue=true"]

    def counts():
        found = {}
        for path in paths:
            with count_queries() as counter:
                response = client.get(path, headers=headers if path.startswith("/api") else {})
            assert response.status_code == 200, path
            found[path] = counter
        return found

    counts()
    few = counts()
    for _ in range(2):
        signed_grant(people, call=made["first_call"])
    many = counts()
    assert {path: c.count for path, c in many.items()} == {path: c.count for path, c in few.items()}
    for counter in many.values():  # the money of the page's grants only, never every payment grouped
        assert not any("GROUP BY payments.application_id" in statement for statement in counter.statements)


# --- the payments ------------------------------------------------------------------------------------------

def test_the_payments_list_gives_the_rows_and_totals_of_the_join_it_replaced(app, session, people):
    made = _grants(people)
    for given in ({}, {"state": "planned"}, {"state": "requested"}, {"state": "paid"}, {"state": "rejected"},
                  {"call_id": made["first_call"].id}, {"call_id": made["second_call"].id, "state": "planned"}):
        old = _old_payments_query(**given)
        expected = db.session.execute(old).all()
        assert payments_total(**given) == count_of(old) == len(expected), given
        for per_page in (2, 5, 50):
            for page in range(1, len(expected) // per_page + 3):
                rows = payment_page(page, per_page, **given)
                wanted = db.session.execute(window(old, page, per_page)).all()
                assert [(*row.__dict__.values(),)[:14] for row in rows] == [
                    (*row[:5], row[5].value, *row[6:]) for row in wanted], (given, per_page, page)
    # the rows carry what the buttons need: the same triggers and version as the payments themselves
    for row in payment_page(1, 50):
        payment = db.session.get(Payment, row.id)
        assert row.version == payment.version and row.organisation_id == payment.organisation_id
        for actor in (people["finance1"], people["officer"], people["auditor"]):
            assert available_triggers(row, actor) == available_triggers(payment, actor)


def test_the_payments_page_and_api_statements_stay_flat(client, session, people, count_queries):
    call = make_evaluation_call(workflow_version=4)
    signed_grant(people, call=call)
    login(client, people["finance1"])
    headers = bearer(people["finance1"])
    paths = ["/grants/payments?state=all", "/grants/payments", "/api/v1/payments",
             f"/api/v1/payments?state=planned&call_id={call.id}"]

    def counts():
        found = {}
        for path in paths:
            with count_queries() as counter:
                response = client.get(path, headers=headers if path.startswith("/api") else {})
            assert response.status_code == 200, path
            found[path] = counter
        return found

    counts()
    few = counts()
    for _ in range(2):
        signed_grant(people, call=call)
    many = counts()
    assert {path: c.count for path, c in many.items()} == {path: c.count for path, c in few.items()}
    page = client.get("/grants/payments?state=planned").get_data(as_text=True)
    assert page.count('data-payment="') == 9 and page.count('value="request"') == 9
    # the buttons come from the rows: no payment, application or submission is loaded as an object
    assert not any("FROM submissions" in statement or "answers" in statement
                   for statement in many["/grants/payments?state=all"].statements)


# --- the initiatives ---------------------------------------------------------------------------------------

def test_the_initiatives_pages_give_the_order_and_counts_of_every_row(app, session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    call = make_call()
    made = []
    for n, title in enumerate(["Beta", "alfa", "Alfa", "Beta", "Gamma", "Ābele", "Beta"]):
        initiative = make_initiative(organisation, title=title)
        for _ in range(n % 3):
            make_application(call, organisation, initiative=initiative)
        made.append(initiative)
    counts = {initiative.id: len(initiative.applications) for initiative in made}
    # the order is the database's (its collation), as the whole list unpaged gives it
    expected = [(initiative.id, counts[initiative.id])
                for initiative in db.session.scalars(list_query(make_user("officer"), organisation_id=organisation.id))]
    assert sorted(expected) == sorted(counts.items())
    officer = make_user("officer")
    for per_page in (1, 2, 3, 7, 50):
        got = []
        for page in range(1, 9):
            rows, total = page_with_counts(list_query(officer, organisation_id=organisation.id), page, per_page)
            assert total == len(made)
            got.extend((initiative.id, count) for initiative, count in rows)
        assert got == expected, per_page
    rows, _total = page_with_counts(list_query(applicant, si_stage="scaling"), 1, 50)
    assert rows == []


def test_the_initiatives_page_and_api_statements_stay_flat_for_staff(client, session, count_queries):
    officer = make_user("officer")
    call = make_call()

    def add(n):
        applicant = make_user("applicant")
        organisation = make_organisation(applicant)
        for i in range(n):
            initiative = make_initiative(organisation, title=f"Iniciatīva {i}")
            make_application(call, organisation, initiative=initiative)

    add(1)
    login(client, officer)
    headers = bearer(officer)
    client.get("/initiatives/")
    client.get("/api/v1/initiatives", headers=headers)
    with count_queries() as few_page:
        client.get("/initiatives/")
    with count_queries() as few_api:
        client.get("/api/v1/initiatives", headers=headers)
    add(4)
    with count_queries() as many_page:
        page = client.get("/initiatives/").get_data(as_text=True)
    with count_queries() as many_api:
        body = client.get("/api/v1/initiatives", headers=headers).get_json()
    assert page.count('<td class="num">1</td>') >= 5 and body["total"] >= 5
    assert many_page.count == few_page.count and many_api.count == few_api.count
    # the counts of the page's initiatives only, never every initiative's applications grouped and joined
    assert not any("GROUP BY applications.initiative_id" in s and "LIMIT" not in s and "= initiatives.id" not in s
                   for s in many_page.statements)

