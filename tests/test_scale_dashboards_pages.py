"""The officers' dashboards at scale (issue 15): the call's evaluation dashboard, the assignments page, the pool
API and the eligibility queue read only the call's (or the page's) rows, in a fixed number of statements, and
show what they showed before: the numbers are checked here against the plain definitions they replaced."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.core.db import db, utcnow
from grants.dashboard import calls as call_dashboard
from grants.decisions.ranking import is_ranked
from grants.evaluations import listings
from grants.evaluations.models import Assignment, EvaluationResult
from grants.evaluations.rubrics import rubric_of
from grants.evaluations.services import add_to_pool, auto_assign, declare
from grants.workflows.engine import fire
from tests.factories import (
    bearer,
    in_evaluation,
    login,
    make_application,
    make_evaluation_call,
    make_organisation,
    make_pool,
    make_user,
    review,
)


@pytest.fixture
def officer(app):
    return make_user("officer")


def _assignments(application, *states):
    query = sa.select(Assignment).where(Assignment.application_id == application.id).order_by(Assignment.id)
    if states:
        query = query.where(Assignment.state.in_(states))
    return list(db.session.scalars(query).unique())


def _call_in_evaluation(officer, *, disputed: int = 1, waiting: int = 1):
    """A call with ``disputed`` applications waiting for a third evaluator (totals 100 and 69) and ``waiting``
    in evaluation without evaluators; a ranked appeal against a rejection and an appeal against ineligibility
    (never scored) beside them."""
    call = make_evaluation_call()
    make_pool(call, 3, officer)
    scored = [in_evaluation(call, officer) for _ in range(disputed)]
    auto_assign(call, officer)
    for application in scored:
        for assignment, total in zip(_assignments(application)[:2], (100, 69), strict=True):
            review(assignment, total)
    for _ in range(waiting):
        in_evaluation(call, officer)
    make_application(call, state="appealed", appealed_from="rejected")
    make_application(call, state="appealed", appealed_from="ineligible")
    db.session.flush()
    return call, scored


def _reviews_required_as_defined(call) -> int:
    """The dashboard's required reviews as first written: every ranked application of the call joined to its
    selection result."""
    applications, thirds = db.session.execute(
        sa.select(sa.func.count(Application.id),
                  sa.func.coalesce(sa.func.sum(sa.case((EvaluationResult.discrepancy.is_(True), 1), else_=0)), 0))
        .outerjoin(EvaluationResult, sa.and_(EvaluationResult.application_id == Application.id,
                                             EvaluationResult.gate_stage == ""))
        .where(Application.call_id == call.id, is_ranked())).one()
    return applications * rubric_of(call.rubric).evaluators_required + int(thirds or 0)


def test_the_call_dashboard_counts_its_own_call_only(client, officer):
    call, disputed = _call_in_evaluation(officer, disputed=2, waiting=2)
    other, _other_disputed = _call_in_evaluation(officer, disputed=1, waiting=3)
    for application in disputed:
        [third] = _assignments(application, "assigned")
        third.due_at = utcnow() - timedelta(days=2, hours=application.id % 5)
    db.session.flush()
    for board_call in (call, other):
        assert call_dashboard._reviews_required(board_call) == _reviews_required_as_defined(board_call)
    body = client.get(f"/api/v1/calls/{call.id}/evaluation", headers=bearer(officer)).get_json()
    ids = {application.id for application in disputed}
    assert {row["application_id"] for row in body["discrepancies"]} == ids
    assert all(row["third_assigned"] and sorted(row["totals"]) == [69.0, 100.0] for row in body["discrepancies"])
    # overdue: this call's only, the earliest due first, with their number
    overdue = body["overdue"]
    assert {row["application_id"] for row in overdue} == ids and body["overdue_total"] == 2
    assert [row["due_at"] for row in overdue] == sorted(row["due_at"] for row in overdue)
    # short of evaluators: the two waiting (two each), not the other call's three
    assert body["short_total"] == 2 and all(item["missing"] == 2 for item in body["short"])
    assert not {item["application_id"] for item in body["short"]} & ids
    # 2 scored + 2 waiting + the appeal against a rejection, two reviews each, a third for each discrepancy
    assert body["progress"]["reviews_required"] == 5 * 2 + 2


def test_short_of_evaluators_reads_the_calls_results_only(officer):
    call, disputed = _call_in_evaluation(officer, disputed=1, waiting=1)
    other, other_disputed = _call_in_evaluation(officer, disputed=1, waiting=0)
    # a third is missing again once the one assigned recuses: short by one, in its own call only
    [third] = _assignments(disputed[0], "assigned")
    declare(third, third.evaluator, True, "Radinieks.")
    db.session.flush()
    short = {item["application_id"]: item for item in listings.short_of_evaluators(call)}
    assert short[disputed[0].id]["assigned"] == 2 and short[disputed[0].id]["missing"] == 1
    assert other_disputed[0].id not in short
    assert [item["application_id"] for item in listings.short_of_evaluators(other)] == []


def test_the_call_pages_send_the_same_statements_however_many_rows(client, officer, count_queries):
    call, disputed = _call_in_evaluation(officer)
    for assignment in _assignments(disputed[0], "assigned"):  # one overdue: its list is read
        assignment.due_at = utcnow() - timedelta(days=1)
    db.session.flush()
    login(client, officer)
    urls = [f"/calls/{call.id}/evaluation", f"/calls/{call.id}/assignments"]
    for url in urls:
        client.get(url)
    small = {}
    for url in urls:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        small[url] = counter.count
    more, _more_disputed = _call_in_evaluation(officer, disputed=3, waiting=2)
    for application in _more_disputed:
        for assignment in _assignments(application, "assigned"):
            assignment.due_at = utcnow() - timedelta(days=1)
    for _ in range(3):
        in_evaluation(call, officer)
    auto_assign(call, officer)
    db.session.flush()
    for url in urls + [f"/calls/{more.id}/evaluation", f"/calls/{more.id}/assignments"]:
        client.get(url)
        with count_queries() as counter:
            html = client.get(url).get_data(as_text=True)
        assert counter.count == small[url.replace(str(more.id), str(call.id))], url
        # the assignments page reads no snapshots
        assert not any("snapshot" in statement for statement in counter.statements), url
        assert "data-application=" in html


def test_the_pool_api_pages_with_the_workload_in_two_statements(client, officer, count_queries):
    call = make_evaluation_call()
    evaluators = make_pool(call, 5, officer)
    for _ in range(3):
        in_evaluation(call, officer)
    auto_assign(call, officer)
    busy_elsewhere = make_evaluation_call()
    add_to_pool(busy_elsewhere, evaluators[0], officer)
    in_evaluation(busy_elsewhere, officer)
    auto_assign(busy_elsewhere, officer)
    db.session.flush()
    expected = [listings.pool_item(row) for row in db.session.execute(listings.pool_query(call))]
    headers = bearer(officer)
    url = f"/api/v1/calls/{call.id}/evaluators"
    client.get(url, headers=headers)
    items, counts = [], []
    for page in (1, 2, 3):
        with count_queries() as counter:
            body = client.get(f"{url}?page={page}&per_page=2", headers=headers).get_json()
        counts.append(counter.count)
        assert body["total"] == 5 and body["page"] == page
        items += body["items"]
    assert counts[0] == counts[1] == counts[2]
    assert [item["user_id"] for item in items] == [item["user_id"] for item in expected]
    for item, want in zip(items, expected, strict=True):
        assert {k: item[k] for k in ("open_assignments", "open_in_call", "submitted_in_call", "name")} == \
               {k: want[k] for k in ("open_assignments", "open_in_call", "submitted_in_call", "name")}
    assert any(item["open_assignments"] > item["open_in_call"] for item in items)  # open elsewhere counted
    past = client.get(f"{url}?page=9&per_page=2", headers=headers).get_json()
    assert past["items"] == [] and past["total"] == 5


def test_the_eligibility_queue_pages_oldest_first_without_reading_snapshots(client, session, officer,
                                                                           monkeypatch, count_queries):
    from grants.eligibility import views

    call = make_evaluation_call()
    queued = []
    for i in range(5):
        applicant = make_user("applicant")
        application = make_application(call, make_organisation(applicant), title=f"Rinda {i}")
        fire(application, "submit", applicant)
        queued.append(application.id)
    elsewhere = in_evaluation(call, officer)  # past the queue
    db.session.flush()
    monkeypatch.setattr(views, "PER_PAGE", 2)
    login(client, officer)
    shown, counts = [], []
    for page in (1, 2, 3):
        with count_queries() as counter:
            html = client.get(f"/eligibility/?call_id={call.id}&page={page}").get_data(as_text=True)
        counts.append(counter.count)
        assert not any("snapshot" in statement for statement in counter.statements)
        shown += [int(n) for n in re.findall(r'class="queue-row" data-application="(\d+)"', html)]
    assert shown == queued  # submitted one after the other: the oldest first, across the pages
    assert elsewhere.id not in shown
    assert counts[0] == counts[1] == counts[2]
