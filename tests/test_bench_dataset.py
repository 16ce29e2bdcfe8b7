"""The bench dataset builder (bench/dataset.py) on a tiny dataset, and the Server-Timing header the page
benchmark reads (grants.core.timing, only with BENCH_TIMING).

The builder writes rows in bulk, as the services would have written them: the chain it writes must verify,
the counts must be what was asked for, and the services' own reads and pages must work on what it wrote.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from bench.dataset import BENCH_PASSWORD, BIG_CALL, build_dataset
from grants import create_app
from grants.applications.models import Application, Submission
from grants.audit.models import AuditEvent, AuditHead
from grants.audit.services import verify_chain
from grants.calls.models import Call
from grants.core.db import content_hash, db
from grants.decisions.ranking import ranking
from grants.evaluations.models import Assignment, EvaluationResult, Review
from grants.users.models import User
from tests.conftest import csrf_token_from, live_application

#: Small enough for a few seconds; the story of 200 applications takes about 3,000 events, so 4,000 leaves
#: room for the sign-ins that pad the chain to the number asked for.
SIZES = {"applications": 200, "reviews": 500, "events": 4_000, "users": 60}


@pytest.fixture(scope="module")
def bench_app(tmp_path_factory):
    with live_application(tmp_path_factory.mktemp("bench")) as app:
        with app.app_context(), app.test_request_context():
            report = build_dataset(SIZES, seed=7)
            db.session.remove()
        app.config["BENCH_REPORT"] = report
        yield app


def _sign_in(client, email: str) -> None:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": BENCH_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_the_chain_verifies_and_the_counts_are_what_was_asked(bench_app):
    report = bench_app.config["BENCH_REPORT"]
    with bench_app.app_context():
        count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
        chain = verify_chain()
        assert chain.valid and chain.events == SIZES["events"]
        head = db.session.get(AuditHead, 1)
        assert head.event_id == db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
        assert count(Application) == SIZES["applications"]
        assert count(User) == SIZES["users"]
        assert count(AuditEvent) == SIZES["events"]
        # the reviews: about the number asked for (a discrepancy brings a third evaluator in by chance)
        assert abs(count(Review) - SIZES["reviews"]) <= SIZES["reviews"] * 0.15
        assert report["counts"]["reviews"] == count(Review)
        db.session.remove()


def test_rows_are_what_the_services_write(bench_app):
    with bench_app.app_context():
        # every submission's hash is the hash of its snapshot; one submission per round
        for submission in db.session.scalars(sa.select(Submission).limit(50)):
            assert submission.content_hash == content_hash(submission.snapshot)
        # an application's version counts its state changes; every state has its rows
        states = dict(db.session.execute(
            sa.select(Application.state, sa.func.count()).group_by(Application.state)).all())
        assert {"draft", "eligibility_review", "in_evaluation", "evaluated", "rejected",
                "in_implementation"} <= set(states)
        evaluated = db.session.scalars(sa.select(Application).where(Application.state == "evaluated")).unique().all()
        results = {r.application_id: r for r in db.session.scalars(sa.select(EvaluationResult))}
        for application in evaluated:
            result = results[application.id]
            assert result.final_score is not None and len(result.review_ids) >= 2
            reviews = db.session.scalars(sa.select(Review).where(Review.id.in_(result.review_ids))).all()
            assert all(r.submitted_at is not None for r in reviews)
        # denormalised columns are what the services keep (the search text, where the migration made it)
        if hasattr(Application, "search_text"):
            from grants.applications.search import application_search_text

            for application in evaluated[:20]:
                assert application.search_text == application_search_text(
                    application.title, application.organisation.name, application.initiative.title)
        # an assignment that reviews was declared first (the CHECK constraint would say so too)
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(Assignment).where(
            Assignment.state == "submitted", Assignment.declared_at.is_(None)))
        db.session.remove()


def test_the_services_read_it(bench_app):
    with bench_app.app_context(), bench_app.test_request_context():
        call = db.session.execute(sa.select(Call).where(Call.code == BIG_CALL)).unique().scalar_one()
        rows = ranking(call)
        assert len(rows) == db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
            Application.call_id == call.id, Application.state.in_(("in_evaluation", "evaluated", "approved",
                                                                  "reserve", "rejected"))))
        assert any(row.final_score is not None for row in rows)
        call_id = call.id
        db.session.remove()
    client = bench_app.test_client()
    _sign_in(client, "officer1@bench.lv")
    for path in ("/applications/", "/applications/?page=2", "/eligibility/", f"/calls/{call_id}/ranking",
                 f"/calls/{call_id}/evaluation", "/grants/", "/grants/payments"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    assert "Server-Timing" not in response.headers  # not unless asked for
    token = client.post("/api/v1/auth/tokens", json={"email": "officer1@bench.lv", "password": BENCH_PASSWORD})
    assert token.status_code in (200, 201), token.get_json()
    auth = {"Authorization": f"Bearer {token.get_json()['token']}"}
    for path in ("/api/v1/applications", f"/api/v1/calls/{call_id}/ranking", "/api/v1/grants"):
        assert client.get(path, headers=auth).status_code == 200, path
    applicant = bench_app.test_client()
    _sign_in(applicant, "applicant1@bench.lv")
    assert applicant.get("/dashboard/").status_code == 200
    evaluator = bench_app.test_client()
    _sign_in(evaluator, "evaluator1@bench.lv")
    assert evaluator.get("/evaluations/").status_code == 200


SERVER_TIMING = re.compile(r'^app;dur=\d+\.\d{3}, db;dur=\d+\.\d{3}, sql;desc="(\d+)", worker;desc="\d+"$')


def test_server_timing_only_with_the_flag(app, client, count_queries):
    plain = client.get("/api/v1/calls")
    assert plain.status_code == 200 and "Server-Timing" not in plain.headers

    timed_app = create_app("testing", DATABASE_URL=app.config["DATABASE_URL"], BENCH_TIMING=True)
    with timed_app.app_context():
        db.session.configure(bind=None)
        try:
            with count_queries() as counter:
                response = timed_app.test_client().get("/api/v1/calls")
        finally:
            db.session.remove()
            db.engine.dispose()  # its own engine: no connection left for the garbage collector
    assert response.status_code == 200
    match = SERVER_TIMING.match(response.headers["Server-Timing"])
    assert match, response.headers["Server-Timing"]
    assert int(match.group(1)) == counter.count > 0  # every statement of the request, counted once
    # the untimed app in the same process still sends none (the counters are per app's requests)
    assert "Server-Timing" not in client.get("/api/v1/calls").headers
