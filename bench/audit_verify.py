"""Benchmark: how many audit events per second ``verify_chain`` checks (budget: DESIGN §11).

Builds a throw-away database (a SQLite file in a temporary folder, or a ``grants_bench_<random>``
database next to the PostgreSQL admin URL, dropped afterwards), runs the migrations, writes a
valid chain of N events and times ``verify_chain`` a few times:

    .venv/bin/python bench/audit_verify.py --events 200000 --database sqlite
    .venv/bin/python bench/audit_verify.py --events 200000 --database postgres

Payloads are shaped like the services' and repeat as theirs do: sign-ins store ``{}`` and plain
transitions the same four keys, while field diffs, scores and exports are unique (about half the
events carry a payload not seen before; the run prints the share). ``--distinct-payloads`` makes
every one unique: the worst case for verify, which remembers payload texts it has already seen.

The events are hashed by the same ``compute_hash`` that ``record_event`` uses and the last one is
appended by ``record_event`` itself, so a chain the benchmark builds is one the application
would have built; a run whose chain does not verify fails instead of reporting a speed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PG_ADMIN_URL, throwaway_database
from grants import create_app
from grants.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from grants.audit.services import compute_hash, record_event, verify_chain
from grants.core.db import db

#: DESIGN §11: audit verify >= 100,000 events/s.
BUDGET_EVENTS_PER_SECOND = 100_000
#: Runs stay bounded: the budget is a rate, a bigger log only takes longer.
MAX_EVENTS = 200_000
INSERT_CHUNK = 5_000

STATES = ("draft", "submitted", "eligibility_check", "in_review", "scored", "approved", "rejected", "appealed")
TITLES = ("Rīgas kopienas dārzs", "Jauniešu digitālās prasmes Latgalē", "Senioru sarunu klubs",
          "Community repair café", "Ūdens pieejamība Kurzemes ciemos", "Skolu mentoru tīkls")


def _payload(rng: random.Random, i: int) -> tuple[str, str, str, dict[str, Any], str | None]:
    """(action, object_type, object_id, payload, comment) shaped like what the services write:
    mostly workflow transitions, then field diffs, sign-ins and exports, with Latvian text. Sign-ins
    and plain transitions repeat their payloads; scores, diffs and exports make new ones."""
    kind = rng.random()
    app_id = str(rng.randint(1, 100_000))
    if kind < 0.5:
        before, after = rng.sample(STATES, 2)
        payload: dict[str, Any] = {"from": before, "to": after, "trigger": f"to_{after}", "workflow": "application_v1"}
        if rng.random() < 0.3:
            payload["score"] = round(rng.uniform(0, 10), 2)
        comment = f"Pamatojums nr. {i}: atbilst nolikuma {rng.randint(1, 20)}. punktam." if rng.random() < 0.2 else None
        return f"application.to_{after}", "application", app_id, payload, comment
    if kind < 0.75:
        payload = {"changes": {"title": {"before": rng.choice(TITLES), "after": f"{rng.choice(TITLES)} ({i})"},
                               "budget": {"before": f"{rng.randint(1000, 50000)}.00",
                                          "after": f"{rng.randint(1000, 50000)}.50"},
                               "partners": {"before": [], "after": [rng.randint(1, 500), rng.randint(1, 500)]}}}
        return "application.update", "application", app_id, payload, None
    if kind < 0.95:
        user_id = str(rng.randint(1, 5000))
        if rng.random() < 0.7:
            return "user.login", "user", user_id, {}, None
        return ("user.login_failed", "user", user_id,
                {"email": f"lietotajs{user_id}@example.lv", "reason": "wrong_password"}, None)
    return ("audit.export", "audit_events", "", {"format": rng.choice(("csv", "json")),
                                                 "filters": {"action": "application.update", "object_id": app_id}},
            None)


def build_chain(n: int, *, distinct_payloads: bool = False, seed: int = 2026) -> float:
    """Write a valid chain of ``n`` events in one transaction: ``n - 1`` bulk inserts hashed with
    ``compute_hash``, then one ``record_event`` on top (which links to the bulk head).

    Returns the share of events whose payload no earlier event has."""
    rng = random.Random(seed)
    seen: set[str] = set()
    table = AuditEvent.__table__
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    prev_hash = GENESIS_HASH
    rows: list[dict[str, Any]] = []
    for i in range(1, n):
        action, object_type, object_id, payload, comment = _payload(rng, i)
        if distinct_payloads:
            payload["event"] = i
        seen.add(json.dumps(payload, sort_keys=True))
        actor_label = f"darbinieks{rng.randint(1, 300)}@example.lv" if rng.random() < 0.9 else "system"
        role = rng.choice(("officer", "evaluator", "applicant", None))
        request_id = uuid.UUID(int=rng.getrandbits(128)).hex if actor_label != "system" else None
        row = {"id": i, "occurred_at": start + timedelta(seconds=i, microseconds=rng.randint(0, 999_999)),
               "actor_id": None, "actor_label": actor_label, "role": role, "action": action,
               "object_type": object_type, "object_id": object_id, "payload": payload, "comment": comment,
               "request_id": request_id, "prev_hash": prev_hash}
        row["hash"] = prev_hash = compute_hash(
            occurred_at=row["occurred_at"], actor_label=actor_label, role=role, action=action,
            object_type=object_type, object_id=object_id, payload=payload, comment=comment,
            request_id=request_id, prev_hash=prev_hash)
        rows.append(row)
        if len(rows) == INSERT_CHUNK:
            db.session.execute(sa.insert(table), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(table), rows)
    if n > 1:
        db.session.execute(sa.update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                           .values(hash=prev_hash, event_id=n - 1))
        if db.session.get_bind().dialect.name == "postgresql":  # explicit ids do not move the sequence
            db.session.execute(sa.text("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), :last)"),
                               {"last": n - 1})
    record_event(action="bench.done", object_type="bench", object_id=n, payload={"events": n})
    db.session.commit()
    return (len(seen) + 1) / n


def time_verify(n: int, repeat: int) -> list[float]:
    """Seconds per ``verify_chain`` run, each in a fresh session as the CLI and API use it."""
    seconds = []
    for _ in range(repeat):
        db.session.remove()
        started = time.perf_counter()
        result = verify_chain()
        seconds.append(time.perf_counter() - started)
        db.session.rollback()
        if not (result.valid and result.events == n):
            sys.exit(f"the benchmark chain does not verify: {result}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=MAX_EVENTS, help=f"events in the chain (at most {MAX_EVENTS})")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=5, help="verify runs to time")
    parser.add_argument("--distinct-payloads", action="store_true", help="no two events share a payload")
    parser.add_argument("--admin-url", default=PG_ADMIN_URL, help="PostgreSQL database to create the bench's next to")
    args = parser.parse_args(argv)
    if not 1 <= args.events <= MAX_EVENTS:
        parser.error(f"--events must be between 1 and {MAX_EVENTS}")

    if sa.engine.make_url(args.admin_url).host not in (None, "127.0.0.1", "localhost"):
        parser.error("--admin-url must point at the local server")
    with (throwaway_database(args.database, args.admin_url) as url,
          tempfile.TemporaryDirectory(prefix="grants-bench-") as uploads):
        app = create_app("testing", DATABASE_URL=url, UPLOAD_DIR=uploads)
        try:
            with app.app_context():
                upgrade()
                started = time.perf_counter()
                distinct = build_chain(args.events, distinct_payloads=args.distinct_payloads)
                print(f"{args.database}: built a chain of {args.events} events in "
                      f"{time.perf_counter() - started:.1f} s ({distinct:.0%} of them with a payload not seen before)")
                seconds = time_verify(args.events, args.repeat)
                db.session.remove()
        finally:
            with app.app_context():
                db.engine.dispose()

    rates = [args.events / s for s in seconds]
    print(f"{args.database}: verify_chain runs: " + ", ".join(f"{s:.3f} s" for s in seconds))
    best, median = max(rates), statistics.median(rates)
    verdict = "meets" if median >= BUDGET_EVENTS_PER_SECOND else "BELOW"
    print(f"{args.database}: best {best:,.0f} events/s, median {median:,.0f} events/s "
          f"({verdict} the budget of {BUDGET_EVENTS_PER_SECOND:,} events/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
