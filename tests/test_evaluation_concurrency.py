"""Evaluators submitting at the same moment, committed for real: whoever commits last sees the
other's review, so every application is consolidated exactly once and none is left waiting.

Like tests/test_workflow_concurrency.py this runs on a throw-away database of its own (SQLite
file or PostgreSQL), each thread in its own transaction, every join with a timeout.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.audit.services import verify_chain
from grants.core.db import db
from grants.evaluations.models import Assignment, EvaluationResult
from grants.evaluations.services import auto_assign, declare, save_review, submit_review
from grants.users.models import User
from tests.conftest import live_application
from tests.factories import in_evaluation, make_evaluation_call, make_pool, make_user, scores_totalling
from tests.test_workflow_concurrency import JOIN_TIMEOUT

APPLICATIONS = 4


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_application(tmp_path_factory.mktemp("evaluation-concurrency")) as app:
        yield app


def _setup(app) -> list[tuple[int, int]]:
    """Applications with two declared, fully scored (not yet submitted) reviews each; returns
    (assignment id, evaluator id) pairs."""
    with app.test_request_context("/api/v1/x", method="POST"):
        officer = make_user("officer")
        call = make_evaluation_call()
        make_pool(call, 2, officer)
        for _ in range(APPLICATIONS):
            in_evaluation(call, officer)
        auto_assign(call, officer)
        pairs = []
        for assignment in db.session.scalars(sa.select(Assignment).where(Assignment.call_id == call.id)).unique():
            declare(assignment, assignment.evaluator, False, "")
            save_review(assignment, assignment.evaluator, scores=scores_totalling(80), comments={}, summary="Labi.")
            pairs.append((assignment.id, assignment.evaluator_id))
        db.session.commit()
        db.session.remove()
        return pairs


def _submit(app, assignment_id: int, evaluator_id: int, barrier: threading.Barrier, errors: list):
    def run():
        barrier.wait(JOIN_TIMEOUT)
        with app.test_request_context("/api/v1/assignments", method="POST"):
            try:
                assignment = db.session.get(Assignment, assignment_id)
                submit_review(assignment, db.session.get(User, evaluator_id))
                db.session.commit()
            except BaseException as error:  # reported by the main thread
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()
    return run


def test_simultaneous_submissions_consolidate_each_application_once(live):
    pairs = _setup(live)
    assert len(pairs) == 2 * APPLICATIONS
    barrier = threading.Barrier(len(pairs))
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_submit(live, a, e, barrier, errors), daemon=True) for a, e in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not [t for t in threads if t.is_alive()], "threads still running (deadlock?)"
    assert not errors, errors
    with live.app_context():
        ids = [a for a, _e in pairs]
        app_ids = set(db.session.scalars(sa.select(Assignment.application_id).where(Assignment.id.in_(ids))))
        states = set(db.session.scalars(sa.select(Application.state).where(Application.id.in_(app_ids))))
        assert states == {"evaluated"}
        results = db.session.scalars(sa.select(EvaluationResult).where(
            EvaluationResult.application_id.in_(app_ids))).all()
        assert len(results) == APPLICATIONS and {str(r.final_score) for r in results} == {"80.00"}
        completions = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "application.complete_evaluation",
            AuditEvent.object_id.in_([str(i) for i in app_ids])))
        assert completions == APPLICATIONS
        assert verify_chain().valid
        db.session.remove()
