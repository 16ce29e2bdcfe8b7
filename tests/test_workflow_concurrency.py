"""Transitions fired at the same time, committed for real: none is lost or doubled, the audit chain
stays linear, and of two actions on the same version of an application only one succeeds.

These tests do not use the rolled-back ``app`` fixture: each thread needs its own connection and
its commits must be seen by the others. They run on a throw-away database of their own (a SQLite
file, or a PostgreSQL database created and dropped around the module), so nothing they write
reaches other tests. Every thread join has a timeout: a deadlock fails the test instead of hanging it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.audit.services import verify_chain
from grants.core.db import db
from grants.core.errors import Conflict, PermissionDenied, TransitionNotAllowed
from grants.initiatives.models import Initiative
from grants.users.models import User
from grants.workflows.engine import definitions, fire
from grants.workflows.registry import EFFECTS, RegisteredEffect
from grants.workflows.services import act
from tests.conftest import ADMIN_URL, in_transaction, live_application
from tests.factories import bearer, make_application, make_call, make_organisation, make_user

#: Seconds a thread may take before the test calls it stuck (SQLite's busy timeout is 30 s).
JOIN_TIMEOUT = 120
WORKFLOW = definitions()[("application", 1)]
AUTOMATIC = frozenset(t.trigger for t in WORKFLOW.transitions if t.auto)
COMMENT = "Lūdzu precizēt budžeta 3. pozīciju."
ON_POSTGRES = ADMIN_URL.startswith("postgresql")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_application(tmp_path_factory.mktemp("concurrency")) as app:
        yield app


def _run_threads(targets) -> list[BaseException]:
    """Start the threads together, join each with a timeout, and return what they raised."""
    errors: list[BaseException] = []

    def guarded(target):
        def run():
            try:
                target()
            except BaseException as error:  # reported by the main thread
                errors.append(error)
        return run

    threads = [threading.Thread(target=guarded(target), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {JOIN_TIMEOUT} s (deadlock?): {stuck}"
    return errors


@dataclass(frozen=True)
class Attempt:
    """One action a thread tried, and what came of it."""

    application_id: int
    trigger: str
    #: The version the thread sent (the one it saw).
    expected_version: int | None
    result: str  # ok | conflict | forbidden | refused
    state_before: str
    version_before: int
    state_after: str
    version_after: int


def _attempt(app, application_id: int, trigger: str, actor_id: int, comment: str | None,
             expected_version: int | None) -> Attempt:
    """Fire one trigger in its own transaction, as a request would; a refusal (which rolls the
    transaction back) is an outcome, anything else is raised."""
    seen: list[tuple[str, int]] = []

    def work():
        application = db.session.get(Application, application_id)
        seen.append((application.state, application.version))
        act(application, trigger, db.session.get(User, actor_id), comment=comment, expected_version=expected_version)
        return application.state, application.version

    try:
        after = in_transaction(app, work)
        result = "ok"
    except Conflict:
        result = "conflict"
    except PermissionDenied:
        result = "forbidden"
    except TransitionNotAllowed:
        result = "refused"
    if result != "ok":
        after = seen[0]
    return Attempt(application_id, trigger, expected_version, result, *seen[0], *after)


def _events_by_application(ids) -> dict[int, list]:
    rows = db.session.execute(
        sa.select(AuditEvent.object_id, AuditEvent.action, AuditEvent.role, AuditEvent.payload)
        .where(AuditEvent.object_type == "application", AuditEvent.object_id.in_([str(i) for i in ids]))
        .order_by(AuditEvent.id)).all()
    grouped: dict[int, list] = {i: [] for i in ids}
    for row in rows:
        grouped[int(row.object_id)].append(row)
    return grouped


def _check_history(application: Application, events: list, successes: list[Attempt]) -> None:
    """Each success left one event by the person plus one per automatic step after it, nothing else,
    and replaying the events gives the application's state and version."""
    assert [e.payload["trigger"] for e in events if e.role != "system"] == \
        [s.trigger for s in sorted(successes, key=lambda s: s.version_before)]
    assert all(e.payload["trigger"] in AUTOMATIC for e in events if e.role == "system")
    assert len(events) == sum(s.version_after - s.version_before for s in successes)
    state = WORKFLOW.initial
    for event in events:
        assert event.payload["from"] == state, f"application {application.id}: events do not chain"
        assert event.action == f"application.{event.payload['trigger']}"
        assert any(t.trigger == event.payload["trigger"] and t.dest == event.payload["to"]
                   for t in WORKFLOW.transitions_from(state))
        state = event.payload["to"]
    assert (application.state, application.version) == (state, 1 + len(events))


# --- many writers at once ------------------------------------------------------------------------

#: What every pipeline thread does to each of its applications, step by step (interleaving them),
#: and what must come of it: two of the steps are refused and must leave no trace.
PIPELINE = (
    ("submit", "applicant", None, "ok"),
    ("declare_eligible", "applicant", None, "forbidden"),
    ("request_clarification", "officer", COMMENT, "ok"),
    ("resubmit", "applicant", None, "ok"),
    ("declare_eligible", "officer", None, "ok"),
    ("complete_evaluation", "officer", None, "ok"),
    ("approve", "committee", None, "ok"),
    ("approve", "committee", None, "refused"),  # approved already
    ("sign_contract", "officer", None, "ok"),
    ("start_implementation", "officer", None, "ok"),
)
PIPELINE_THREADS, APPLICATIONS_PER_THREAD = 8, 3
RACERS, RACE_ROUNDS = 8, 6


def _race_plan(state: str, racer: int) -> tuple[str, str, str | None] | None:
    """Who does what to the raced application in its current state: racers pick competing actions."""
    options = {
        "draft": [("submit", "applicant", None)],
        "eligibility_review": [("declare_eligible", "officer", None), ("declare_ineligible", "officer", COMMENT),
                               ("request_clarification", "officer", COMMENT)],
        "clarification_requested": [("resubmit", "applicant", None), ("withdraw", "applicant", None)],
        "in_evaluation": [("complete_evaluation", "officer", None)],
        "evaluated": [("approve", "committee", None), ("put_on_reserve", "committee", None),
                      ("reject", "committee", None)],
        "reserve": [("approve", "committee", None), ("reject", "committee", None)],
        "ineligible": [("appeal", "applicant", COMMENT)],
        "rejected": [("appeal", "applicant", COMMENT)],
        "appealed": [("uphold_appeal", "officer", COMMENT), ("dismiss_appeal", "officer", COMMENT)],
        "approved": [("sign_contract", "officer", None)],
        "contracted": [("start_implementation", "officer", None)],
        "in_implementation": [("submit_final_report", "applicant", None)],
        "final_report_submitted": [("accept_final_report", "officer", None)],
    }.get(state)
    return options[racer % len(options)] if options else None


def test_concurrent_transitions_are_neither_lost_nor_doubled_and_the_chain_verifies(live):
    def setup():
        staff = {"officer": make_user("officer").id, "committee": make_user("committee").id}
        call = make_call()
        pipelines = []
        for _ in range(PIPELINE_THREADS):
            applicant = make_user("applicant")
            organisation = make_organisation(applicant)
            pipelines.append(({**staff, "applicant": applicant.id},
                              [make_application(call, organisation).id for _ in range(APPLICATIONS_PER_THREAD)]))
        applicant = make_user("applicant")
        raced = make_application(call, make_organisation(applicant)).id
        return pipelines, {**staff, "applicant": applicant.id}, raced

    pipelines, race_people, raced = in_transaction(live, setup)
    attempts: dict[str, list[Attempt]] = {}
    rounds: list[tuple[str, int]] = []

    def pipeline(n: int):
        people, application_ids = pipelines[n]
        mine = attempts.setdefault(f"pipeline-{n}", [])
        seen = dict.fromkeys(application_ids, 1)
        for trigger, who, comment, _expected in PIPELINE:
            for application_id in application_ids:
                attempt = _attempt(live, application_id, trigger, people[who], comment, seen[application_id])
                seen[application_id] = attempt.version_after
                mine.append(attempt)

    def read_raced():
        application = db.session.get(Application, raced)
        return application.state, application.version

    def next_round():  # run by one racer once all have finished the round before
        rounds.append(in_transaction(live, read_raced))

    barrier = threading.Barrier(RACERS, action=next_round, timeout=JOIN_TIMEOUT / 2)

    def racer(n: int):
        mine = attempts.setdefault(f"racer-{n}", [])
        for _ in range(RACE_ROUNDS):
            barrier.wait()
            state, version = rounds[-1]
            plan = _race_plan(state, n)
            if plan is not None:  # everyone fires at the version all of them saw
                trigger, who, comment = plan
                mine.append(_attempt(live, raced, trigger, race_people[who], comment, version))
        barrier.wait()

    errors = _run_threads([lambda n=n: pipeline(n) for n in range(PIPELINE_THREADS)]
                          + [lambda n=n: racer(n) for n in range(RACERS)])
    assert errors == []

    everything = [attempt for thread in attempts.values() for attempt in thread]
    with live.app_context():
        try:
            chain = verify_chain()
            assert chain.valid, chain
            assert chain.events == db.session.execute(sa.select(sa.func.count()).select_from(AuditEvent)).scalar_one()
            ids = [i for _, application_ids in pipelines for i in application_ids] + [raced]
            events = _events_by_application(ids)
            for application_id in ids:
                application = db.session.get(Application, application_id)
                successes = [a for a in everything if a.application_id == application_id and a.result == "ok"]
                _check_history(application, events[application_id], successes)
            # every pipeline ran its script exactly as written, with no conflict among unrelated writers
            for n, (_, application_ids) in enumerate(pipelines):
                for application_id in application_ids:
                    assert [(a.trigger, a.result) for a in attempts[f"pipeline-{n}"]
                            if a.application_id == application_id] == [(step[0], step[3]) for step in PIPELINE]
                    assert db.session.get(Application, application_id).state == "in_implementation"
            # the race: in every round that had something to do exactly one racer won, the others
            # were told someone else had changed it first
            raced_attempts = [a for a in everything if a.application_id == raced]
            played = [version for state, version in rounds[:RACE_ROUNDS] if _race_plan(state, 0) is not None]
            assert len(played) >= 3, f"the raced application hardly moved: {rounds}"
            for version in played:
                results = Counter(a.result for a in raced_attempts if a.expected_version == version)
                assert results == {"ok": 1, "conflict": RACERS - 1}, f"round at version {version}: {results}"
            assert len(raced_attempts) == len(played) * RACERS
        finally:
            db.session.remove()


# --- the same race through the HTTP API ------------------------------------------------------------

def test_two_requests_on_the_same_version_one_wins_the_other_gets_409_conflict(live):
    requests_n = 6

    def setup():
        applicant = make_user("applicant")
        application = make_application(make_call(), make_organisation(applicant))
        officers = [make_user("officer") for _ in range(requests_n)]
        return (application.id, [bearer(applicant) for _ in range(requests_n)],
                [bearer(officer) for officer in officers])

    application_id, applicant_headers, officer_headers = in_transaction(live, setup)
    url = f"/api/v1/applications/{application_id}/transitions"

    def race(headers: list[dict], bodies: list[dict]) -> list:
        responses: list = [None] * len(headers)
        start = threading.Barrier(len(headers), timeout=JOIN_TIMEOUT / 2)

        def post(n: int):
            client = live.test_client()
            start.wait()
            responses[n] = client.post(url, json=bodies[n], headers={**headers[n], "Accept-Language": "en"})

        assert _run_threads([lambda n=n: post(n) for n in range(len(headers))]) == []
        return responses

    def one_winner(responses) -> dict:
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {200: 1, 409: len(responses) - 1}, [(r.status_code, r.get_json()) for r in responses]
        for response in responses:
            if response.status_code == 409:
                body = response.get_json()
                assert body["error"] == "conflict" and body["message"] and body["fields"] == {}
        return next(r.get_json() for r in responses if r.status_code == 200)

    # all six submit version 1: one submits (and the review starts by itself), five are told to reload
    won = one_winner(race(applicant_headers, [{"trigger": "submit", "version": 1}] * requests_n))
    assert (won["state"], won["version"]) == ("eligibility_review", 3)
    # six officers decide at once on version 3, half one way, half another: only one decision stands
    decisions = [{"trigger": "declare_eligible", "version": 3},
                 {"trigger": "request_clarification", "version": 3, "comment": COMMENT}]
    won = one_winner(race(officer_headers, [decisions[n % 2] for n in range(requests_n)]))
    assert won["version"] == 4 and won["state"] in ("in_evaluation", "clarification_requested")

    history = live.test_client().get(f"{url.removesuffix('/transitions')}/history", headers=officer_headers[0])
    assert history.status_code == 200
    assert [(e["trigger"], e["from_state"], e["to_state"]) for e in history.get_json()] == [
        ("submit", "draft", "submitted"), ("start_eligibility_review", "submitted", "eligibility_review"),
        (("declare_eligible", "eligibility_review", "in_evaluation") if won["state"] == "in_evaluation"
         else ("request_clarification", "eligibility_review", "clarification_requested"))]
    with live.app_context():
        try:
            assert verify_chain().valid
        finally:
            db.session.remove()


# --- writers that touch two objects, and writers outside requests ----------------------------------

def test_a_grant_advancing_its_initiative_while_an_officer_moves_it_never_deadlocks(live, monkeypatch):
    """The officer's move lands in the gap between the grant's audit event and the initiative's
    advance (the effect is held there until it has, or for two seconds where it cannot: on SQLite the
    writers queue). One of the two may lose with a conflict; neither may fail any other way."""

    def setup():
        application = make_application(make_call(), make_organisation(make_user("applicant")),
                                       state="final_report_submitted")
        return make_user("officer").id, application.id, application.initiative_id

    officer, application_id, initiative_id = in_transaction(live, setup)
    in_effect, moved, mover = threading.Event(), threading.Event(), []
    advance_initiative = EFFECTS["advance_initiative"]

    def held_effect(obj, ctx):
        in_effect.set()
        moved.wait(2)
        advance_initiative(obj, ctx)

    def on_update(mapper, connection, target):
        if threading.get_ident() in mover:
            moved.set()

    monkeypatch.setitem(EFFECTS, "advance_initiative", RegisteredEffect(held_effect, "after_save"))
    outcomes: dict[str, str] = {}

    def accept():
        try:
            in_transaction(live, lambda: act(db.session.get(Application, application_id), "accept_final_report",
                                              db.session.get(User, officer)))
            outcomes["accept"] = "ok"
        except Conflict:
            outcomes["accept"] = "conflict"

    def step_back():
        mover.append(threading.get_ident())
        assert in_effect.wait(JOIN_TIMEOUT / 2)
        try:
            in_transaction(live, lambda: act(db.session.get(Initiative, initiative_id), "step_back",
                                              db.session.get(User, officer), comment="Modelis jāpārskata pirms pilota.",
                                              expected_version=1))
            outcomes["step_back"] = "ok"
        except Conflict:
            outcomes["step_back"] = "conflict"

    sa.event.listen(Initiative, "after_update", on_update)
    try:
        errors = _run_threads([accept, step_back])
    finally:
        sa.event.remove(Initiative, "after_update", on_update)
    assert errors == [], [f"{type(error).__name__}: {str(error).splitlines()[0]}" for error in errors]

    with live.app_context():
        try:
            assert verify_chain().valid
            accepted, stepped = outcomes["accept"], outcomes["step_back"]
            assert "ok" in (accepted, stepped), outcomes
            application = db.session.get(Application, application_id)
            initiative = db.session.get(Initiative, initiative_id)
            stages = [e.payload["to"] for e in db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.object_type == "initiative",
                                            AuditEvent.object_id == str(initiative_id)).order_by(AuditEvent.id))]
            assert application.state == ("completed" if accepted == "ok" else "final_report_submitted")
            if stepped == "ok":  # moved back first: the accepted stage is no longer the current one
                assert stages == ["problem_identification"]
            else:  # the accepted grant moved it on first; the officer had seen a stale version
                assert stages == ["prototyping"]
            assert (initiative.current_stage, initiative.version) == (stages[-1], 1 + len(stages))
        finally:
            db.session.remove()


def test_the_system_firing_from_a_background_job_waits_for_other_writers(live):
    """Two jobs (no request) complete evaluations as the system, the second starting while the
    first is under way. The second must queue behind the first and get its write through, not
    fail with "database is locked" because its snapshot went stale (on SQLite, a deferred BEGIN
    outside a request did exactly that: see grants.core.db._sqlite_begin)."""

    def setup():
        call = make_call()
        return [make_application(call, make_organisation(make_user("applicant")), state="in_evaluation").id
                for _ in range(2)]

    first_id, second_id = in_transaction(live, setup)
    first_has_read, second_has_read, first_committed = threading.Event(), threading.Event(), threading.Event()
    # With proper locking the second job cannot read while the first may still write, so the
    # first waits for it only briefly; without it, both read and the second writes last.
    grace = 2

    def job(application_id: int, before_firing, after_commit):
        def run():
            with live.app_context():  # no request: as a queued job or a CLI command runs
                try:
                    application = db.session.get(Application, application_id)
                    before_firing()
                    fire(application, "complete_evaluation", None)
                    db.session.commit()
                    after_commit()
                finally:
                    db.session.rollback()
                    db.session.remove()
        return run

    def second_starts() -> None:
        first_has_read.wait(JOIN_TIMEOUT / 2)

    errors = _run_threads([
        job(first_id, lambda: (first_has_read.set(), second_has_read.wait(grace)), first_committed.set),
        lambda: (second_starts(), job(second_id, lambda: (second_has_read.set(), first_committed.wait(grace)),
                                      lambda: None)())])
    assert errors == [], [f"{type(error).__name__}: {str(error).splitlines()[0]}" for error in errors]
    with live.app_context():
        try:
            assert verify_chain().valid
            events = _events_by_application([first_id, second_id])
            for application_id in (first_id, second_id):
                assert [(e.role, e.payload["from"], e.payload["to"]) for e in events[application_id]] == [
                    ("system", "in_evaluation", "evaluated")]
                assert db.session.get(Application, application_id).version == 2
        finally:
            db.session.remove()
