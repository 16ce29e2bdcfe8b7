"""The deadline rush (DESIGN §11): gunicorn (2 workers) serving the API on 127.0.0.1, hundreds of applicants
submitting at once in the last minutes before the call closes, some pressing Submit twice. No 5xx; every
application submitted exactly once (one snapshot, one submit event); the second press of a double submit is a
409; the audit chain verifies.

It runs on the suite's database: on PostgreSQL (the production server) with 200 drafts and 20 submitters at a
time; on SQLite (a file) with fewer, to show that writers queue (BEGIN IMMEDIATE, busy timeout) without errors.
Bounded: requests time out after 60 s, the whole rush must end within RUSH_SECONDS.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa

from bench.submit import build
from grants.applications.models import Application, Submission
from grants.audit.models import AuditEvent
from grants.audit.services import verify_chain
from grants.calls.models import Call
from grants.core.db import db, utcnow
from grants.eligibility.models import EligibilityResult
from grants.users.models import User
from grants.users.services import issue_token
from tests import live_server
from tests.conftest import ADMIN_URL, live_application

ON_POSTGRES = ADMIN_URL.startswith("postgresql")
#: Drafts and submitters at a time: PostgreSQL serves the real rush, SQLite shows its writers queue.
DRAFTS, SUBMITTERS = (200, 20) if ON_POSTGRES else (60, 6)
#: Every DOUBLE-th application's Submit is pressed twice at once.
DOUBLE = 10
#: The rush must be over within this many seconds (it takes a few).
RUSH_SECONDS = 90


def prepare(app, drafts: int, *, closes_in: timedelta, prefix: str) -> tuple[int, list[tuple[int, str]]]:
    """A call closing in ``closes_in`` and ``drafts`` drafts ready to submit, with a token for each member."""
    with app.test_request_context():
        call_id, made = build(drafts, closes_in=closes_in, prefix=prefix)
        tokens = [(application_id, issue_token(db.session.get(User, member_id))[0])
                  for application_id, member_id in made]
        db.session.commit()
        db.session.remove()
    return call_id, tokens


def outcome(app, call_id: int) -> dict:
    """What the database holds after the rush, per application of the call."""
    with app.app_context():
        states = dict(db.session.execute(sa.select(Application.id, Application.state)
                                         .where(Application.call_id == call_id)).all())
        rounds = Counter(db.session.scalars(sa.select(Submission.application_id)
                                            .where(Submission.application_id.in_(states))))
        submit_events = Counter(int(i) for i in db.session.scalars(
            sa.select(AuditEvent.object_id).where(AuditEvent.action == "application.submit",
                                                  AuditEvent.object_type == "application")) if int(i) in states)
        results = Counter(db.session.scalars(sa.select(EligibilityResult.application_id)
                                             .where(EligibilityResult.application_id.in_(states))))
        chain = verify_chain()
        closes_at = db.session.get(Call, call_id).closes_at
        db.session.remove()
    return {"states": states, "rounds": rounds, "events": submit_events, "results": results, "chain": chain,
            "closes_at": closes_at}


def test_deadline_rush(tmp_path):
    with live_application(tmp_path) as app:
        call_id, tokens = prepare(app, DRAFTS, closes_in=timedelta(minutes=5), prefix="rush")
        presses = [(application_id, token) for application_id, token in tokens]
        presses += [(application_id, token) for application_id, token in tokens[::DOUBLE]]  # pressed twice
        with live_server.serving(app.config["DATABASE_URL"], tmp_path, workers=2) as server:
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
                answers = list(pool.map(lambda press: (press[0], live_server.submit(server, *press)), presses))
            took = time.monotonic() - started
            log = server.tail()
        result = outcome(app, call_id)

    assert took < RUSH_SECONDS, f"the rush took {took:.0f} s"
    assert utcnow() < result["closes_at"], "the rush ran past the deadline: the test proves nothing"
    statuses = Counter(status for _id, (status, _body) in answers)
    assert not [s for s in statuses if s >= 500], f"server errors: {statuses}\n{log}"
    by_application: dict[int, list[int]] = {}
    for application_id, (status, body) in answers:
        by_application.setdefault(application_id, []).append(status)
        assert status in (200, 409), (status, body)
        if status == 409:
            assert body["error"] in ("conflict", "transition_not_allowed"), body
    # exactly one press of each application was taken; the second press of a double one was refused
    assert all(sorted(codes) == ([200, 409] if len(codes) == 2 else [200]) for codes in by_application.values()), \
        {k: v for k, v in by_application.items() if v.count(200) != 1}
    assert set(result["states"].values()) <= {"submitted", "eligibility_review"}
    assert len(result["states"]) == DRAFTS
    assert all(result["rounds"][i] == 1 and result["events"][i] == 1 for i in result["states"]), "lost or doubled"
    rules = set(result["results"].values())
    assert len(rules) == 1 and rules.pop() > 0  # every submission stored each rule's result, once
    assert result["chain"].valid, result["chain"]
    print(f"rush: {len(presses)} presses of {DRAFTS} drafts by {SUBMITTERS} submitters in {took:.1f} s "
          f"({len(presses) / took:.0f} requests/s): {dict(statuses)}")
