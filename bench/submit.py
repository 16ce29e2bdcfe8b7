"""Benchmark: submits per second through the service layer against a raw-SQL floor in the same run (DESIGN §11:
the full submit must reach at least 40 % of the floor).

Builds a throw-away database (bench/_common.py), runs the migrations and writes one open call as the demo's
(its form, with tables and a budget, and the demo's eligibility ruleset of 9 rules) with 2 N drafts, each of
its own organisation and member. Then, alternating in rounds so that a change in the machine's speed hits both
alike, it times:

- **full**: ``grants.workflows.engine.fire(application, "submit", member)`` and a commit, one submit per
  request context and session as the API makes it: load the draft and the member, check the deadline and the
  answers, run the eligibility rules, freeze the snapshot, store the rules' results, move the state (and
  on into eligibility review, the automatic step), write both audit events and the receipts;
- **floor**: in one transaction each, what no submit can do without: take the chain's lock and read its head,
  INSERT the submission row (the same snapshot JSON the full submit freezes, with its content hash), INSERT
  the audit event with the chain's hash, and move the head on — raw SQL on a connection, nothing else.

    .venv/bin/python bench/submit.py --database sqlite
    .venv/bin/python bench/submit.py --database postgres [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Prints both rates, the ratio and the SQL statements one full submit sends; exits 1 when the ratio is below
40 %. The chain must verify at the end, and every draft must have been submitted exactly once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import add_database_arguments, bench_app, check_local
from grants.applications.models import Application, Submission
from grants.applications.services import _snapshot_data
from grants.audit.services import ADVISORY_LOCK_KEY, compute_hash, verify_chain
from grants.calls.models import Call, CallStage, CallStatus, Programme
from grants.core.codes import FundSource, LegalForm, Region
from grants.core.db import JSONType, UTCDateTime, content_hash, db, utcnow
from grants.core.roles import RoleCode
from grants.core.security import hash_password
from grants.demo import sample_answers
from grants.eligibility.presets import demo_ruleset
from grants.eligibility.rules import validate_ruleset
from grants.forms.templates import default_form
from grants.initiatives.models import Initiative
from grants.organisations.models import Membership, Organisation
from grants.users.models import User
from grants.users.services import get_roles
from grants.workflows.engine import fire, newest_version

#: DESIGN §11: the full submit reaches at least this share of the floor's rate.
BUDGET_RATIO = 0.40
MAX_SUBMITS = 5000
PASSWORD = "bench-bench-bench"
TITLES = ("Kopienas dārzs", "Jauniešu digitālās prasmes", "Senioru sarunu klubs", "Remontdarbnīca",
          "Ūdens pieejamība ciemos", "Skolu mentoru tīkls", "Sociālais veikals", "Atbalsta grupa vecākiem")
PLACES = ("Rīgā", "Latgalē", "Kurzemē", "Vidzemē", "Zemgalē", "Liepājā", "Daugavpilī", "Valmierā", "Cēsīs")


def build(n: int, *, closes_in: timedelta = timedelta(days=30),
          prefix: str = "bench") -> tuple[int, list[tuple[int, int]]]:
    """One open call as the demo's and ``n`` drafts ready to submit, each of its own organisation with one
    member; commits. Returns the call's id and ``(application id, member id)`` of each draft.

    The tests of the deadline rush and of kill -9 build theirs with this too."""
    now = utcnow()
    programme = Programme(code=f"P-{prefix.upper()}", title_lv="Programma", title_en="Programme",
                          fund_source=FundSource.ESF_PLUS, budget=Decimal("10000000.00"),
                          starts_on=now.date() - timedelta(days=365), ends_on=now.date() + timedelta(days=1000))
    call = Call(programme=programme, code=f"C-{prefix.upper()}", title_lv="Atklātais konkurss", title_en="Open call",
                description_lv="Apraksts", description_en="Description", opens_at=now - timedelta(days=30),
                closes_at=now + closes_in, budget=Decimal("5000000.00"), status=CallStatus.PUBLISHED,
                workflow_name="application", workflow_version=newest_version("application"), version=1,
                form=default_form(), eligibility_rules=validate_ruleset(demo_ruleset()), published_at=now)
    call.stages = [CallStage(si_stage="idea_generation", position=0, envelope=Decimal("5000000.00"),
                             min_grant=Decimal("1000.00"), max_grant=Decimal("50000.00"))]
    db.session.add_all([programme, call])
    password_hash = hash_password(PASSWORD)  # one hash for all: argon2 is slow on purpose
    roles = get_roles(RoleCode.APPLICANT)
    drafts = []
    for i in range(n):
        title = f"{TITLES[i % len(TITLES)]} {PLACES[i % len(PLACES)]} {i}"
        user = User(email=f"{prefix}{i}@example.lv", name=f"Pieteicējs {i}", password_hash=password_hash,
                    roles=roles, locale="lv", failed_logins=0, is_active_account=True)
        organisation = Organisation(name=f"Biedrība {prefix} {i}", registration_number=f"4{i:010d}",
                                    legal_form=LegalForm.ASSOCIATION, region=list(Region)[i % len(Region)],
                                    country="LV", contact_email=user.email)
        membership = Membership(user=user, organisation=organisation)
        initiative = Initiative(organisation=organisation, title=title, description="Apraksts",
                                current_stage="idea_generation", region=organisation.region)
        application = Application(call=call, organisation=organisation, initiative=initiative, created_by=user,
                                  si_stage="idea_generation", title=title,
                                  summary="Kopienas vajadzību apzināšana un jauna pakalpojuma izmēģinājums.",
                                  requested_amount=Decimal("15000.00"), duration_months=12,
                                  answers=sample_answers(call.form, f"{title}: pieteikuma teksts", "15000.00"),
                                  workflow_name=call.workflow_name, workflow_version=call.workflow_version)
        db.session.add_all([user, organisation, membership, initiative, application])
        drafts.append((application, user))
    db.session.commit()
    return call.id, [(application.id, user.id) for application, user in drafts]


# --- the full submit -------------------------------------------------------------------------------------

def submit(app, application_id: int, member_id: int) -> None:
    """One submit as a request makes it: its own context and session, committed."""
    with app.test_request_context(f"/api/v1/applications/{application_id}/transitions", method="POST"):
        try:
            application = db.session.get(Application, application_id)
            fire(application, "submit", db.session.get(User, member_id))
            db.session.commit()
        finally:
            db.session.remove()


# --- the floor -------------------------------------------------------------------------------------------

FLOOR_HEAD = sa.text("SELECT hash, event_id FROM audit_head WHERE id = 1")
FLOOR_HEAD_PG = sa.text("SELECT hash, event_id FROM audit_head WHERE id = 1 FOR UPDATE")
FLOOR_LOCK_PG = sa.text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
# Typed parameters: times and JSON are written exactly as the application's columns write them.
FLOOR_SUBMISSION = sa.text(
    "INSERT INTO submissions (application_id, round, trigger, submitted_at, submitted_by_id, snapshot, content_hash, "
    "created_at) VALUES (:application_id, 1, 'submit', :now, :member_id, :snapshot, :content_hash, :now)"
).bindparams(sa.bindparam("now", type_=UTCDateTime), sa.bindparam("snapshot", type_=JSONType))
FLOOR_EVENT = sa.text(
    "INSERT INTO audit_events (occurred_at, actor_id, actor_label, role, action, object_type, object_id, payload, "
    "comment, request_id, prev_hash, hash) VALUES (:now, :actor_id, :actor_label, 'applicant', "
    "'application.submit', 'application', :object_id, :payload, NULL, NULL, :prev_hash, :hash) RETURNING id"
).bindparams(sa.bindparam("now", type_=UTCDateTime), sa.bindparam("payload", type_=JSONType))
FLOOR_MOVE_HEAD = sa.text("UPDATE audit_head SET hash = :hash, event_id = :event_id WHERE id = 1")


def floor_inputs(drafts: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """What the floor writes for each draft, prepared beforehand: the snapshot the full submit would freeze."""
    inputs = []
    for application_id, member_id in drafts:
        application = db.session.get(Application, application_id)
        member = db.session.get(User, member_id)
        inputs.append({"application_id": application_id, "member_id": member_id, "email": member.email,
                       "snapshot": _snapshot_data(application, [])})
    db.session.remove()
    return inputs


def floor_submit(connection: sa.Connection, item: dict[str, Any], postgres: bool) -> None:
    """The submission row and its audit event in one transaction, the chain's hash computed here."""
    now = utcnow()
    digest = content_hash(item["snapshot"])
    with connection.begin():
        if postgres:
            connection.execute(FLOOR_LOCK_PG)
        prev_hash, _ = connection.execute(FLOOR_HEAD_PG if postgres else FLOOR_HEAD).one()
        connection.execute(FLOOR_SUBMISSION, {"application_id": item["application_id"], "now": now,
                                              "member_id": item["member_id"], "snapshot": item["snapshot"],
                                              "content_hash": digest})
        payload = {"from": "draft", "to": "submitted", "trigger": "submit", "workflow": "application_v4",
                   "submission_round": 1, "content_hash": digest}
        event_hash = compute_hash(occurred_at=now, actor_label=item["email"], role="applicant",
                                  action="application.submit", object_type="application",
                                  object_id=str(item["application_id"]), payload=payload, comment=None,
                                  request_id=None, prev_hash=prev_hash)
        event_id = connection.execute(FLOOR_EVENT, {
            "now": now, "actor_id": item["member_id"], "actor_label": item["email"],
            "object_id": str(item["application_id"]), "payload": payload, "prev_hash": prev_hash,
            "hash": event_hash}).scalar_one()
        connection.execute(FLOOR_MOVE_HEAD, {"hash": event_hash, "event_id": event_id})


# --- measuring -------------------------------------------------------------------------------------------

@contextmanager
def counting_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def run(app, n: int, rounds: int, postgres: bool) -> dict[str, Any]:
    """Build, then time the floor and the full submit in alternating rounds; check the outcome."""
    started = time.perf_counter()
    _call_id, drafts = build(2 * n)
    floor_items = floor_inputs(drafts[:n])
    full_items = drafts[n:]
    built = time.perf_counter() - started
    with counting_statements() as statements:  # the first full submit (not timed): its statements
        submit(app, *full_items[0])
    per_round = max(1, (n - 1) // rounds)
    floor_seconds: list[float] = []
    full_seconds: list[float] = []
    done_floor, done_full = 0, 1
    with db.engine.connect() as connection:
        for _ in range(rounds):
            batch = floor_items[done_floor:done_floor + per_round]
            began = time.perf_counter()
            for item in batch:
                floor_submit(connection, item, postgres)
            floor_seconds.append((time.perf_counter() - began) / len(batch))
            done_floor += len(batch)
            batch = full_items[done_full:done_full + per_round]
            began = time.perf_counter()
            for application_id, member_id in batch:
                submit(app, application_id, member_id)
            full_seconds.append((time.perf_counter() - began) / len(batch))
            done_full += len(batch)
    chain = verify_chain()
    states = dict(db.session.execute(sa.select(Application.state, sa.func.count()).group_by(Application.state)).all())
    doubled = db.session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(Submission.application_id).group_by(Submission.application_id)
        .having(sa.func.count() > 1).subquery()))
    db.session.remove()
    if not chain.valid or doubled:
        sys.exit(f"the run did not end as it should: chain {chain}, {doubled} applications submitted twice")
    return {"built": built, "floor": floor_seconds, "full": full_seconds, "statements": statements,
            "done": (done_floor, done_full), "states": states, "events": chain.events}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submits", type=int, default=300, help=f"submits of each kind (at most {MAX_SUBMITS})")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of floor and full submits")
    parser.add_argument("--show-statements", action="store_true", help="print the SQL of one full submit")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if not 10 <= args.submits <= MAX_SUBMITS:
        parser.error(f"--submits must be between 10 and {MAX_SUBMITS}")
    check_local(parser, args.admin_url)
    with bench_app(args.database, args.admin_url) as app:
        result = run(app, args.submits, args.rounds, postgres=args.database == "postgres")

    name = args.database
    floor = 1 / statistics.median(result["floor"])
    full = 1 / statistics.median(result["full"])
    ratio = full / floor
    print(f"{name}: built {2 * args.submits} drafts in {result['built']:.1f} s; "
          f"{result['done'][0]} floor and {result['done'][1]} full submits in {args.rounds} rounds")
    print(f"{name}: floor per round (submits/s): " + ", ".join(f"{1 / s:,.0f}" for s in result["floor"]))
    print(f"{name}: full per round (submits/s):  " + ", ".join(f"{1 / s:,.0f}" for s in result["full"]))
    print(f"{name}: one full submit sends {len(result['statements'])} SQL statements; the floor sends "
          f"{5 if name == 'postgres' else 4}")
    if args.show_statements:
        for statement in result["statements"]:
            print("   ", " ".join(statement.split())[:160])
    print(f"{name}: states after: {result['states']}; the chain verifies ({result['events']} events)")
    verdict = "meets" if ratio >= BUDGET_RATIO else "BELOW"
    print(f"{name}: floor {floor:,.0f} submits/s (median round), full {full:,.0f} submits/s: "
          f"{ratio:.0%} of the floor ({verdict} the budget of {BUDGET_RATIO:.0%})")
    return 0 if ratio >= BUDGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
