"""Benchmark: the ranked list of a 10,000-application call (DESIGN §6, §11: ranking ≤ 1 s).

Builds a throw-away database (a SQLite file in a temporary folder, or a ``grants_bench_<random>``
database next to the PostgreSQL admin URL, dropped afterwards), runs the migrations, writes one
call of three SI-stage envelopes with N applications (default 10,000) and everything the ranking
reads: organisations, initiatives, submissions, two or three submitted reviews (with their
assignments) per application, consolidated results (some below the threshold or a criterion
minimum, some waiting for a third evaluator, many equal scores so the tie-break matters) and
committee decisions on about one application in nine. The rows go in with bulk inserts
(executemany), not one ORM object at a time. Then it times ``grants.decisions.ranking.ranking``
over the whole call and counts the SQL statements it sends:

    .venv/bin/python bench/ranking.py --applications 10000 --database sqlite
    .venv/bin/python bench/ranking.py --applications 10000 --database postgres

Each run starts from a fresh session with the call loaded (not counted). The run exits with
status 1 when the median is over BUDGET_SECONDS or a run sends more than QUERY_BUDGET statements.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PG_ADMIN_URL, throwaway_database
from grants import create_app
from grants.applications.models import Application, Submission
from grants.calls.models import Call, CallStage, CallStatus, Programme
from grants.core.codes import FundSource, LegalForm, Region
from grants.core.db import db, utcnow
from grants.decisions.models import Decision, Outcome
from grants.decisions.ranking import ranking
from grants.evaluations.models import Assignment, EvaluationResult, Review
from grants.evaluations.rubrics import default_rubric
from grants.initiatives.models import Initiative
from grants.organisations.models import Organisation
from grants.users.models import User

#: DESIGN §11: ranking a 10,000-application call.
BUDGET_SECONDS = 1.0
#: Statements one ``ranking`` call may send, however many applications the call has.
QUERY_BUDGET = 3
MAX_APPLICATIONS = 50_000
CHUNK = 5_000
EVALUATORS = 40

STAGES = (("idea_generation", 5, Decimal("6000000.00")), ("prototyping", 3, Decimal("4000000.00")),
          ("scaling", 2, Decimal("3000000.00")))
CRITERIA = {"need": 25, "novelty": 20, "change": 20, "capacity": 15, "budget": 20}
MINIMA = {"need": 10, "novelty": 8}
TITLES = ("Kopienas dārzs", "Jauniešu digitālās prasmes", "Senioru sarunu klubs", "Remontdarbnīca",
          "Ūdens pieejamība ciemos", "Skolu mentoru tīkls", "Sociālais veikals", "Atbalsta grupa vecākiem")


def _insert(model, rows: list[dict]) -> list[int]:
    """Bulk insert (executemany, in chunks); the new ids in the order of ``rows``."""
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        ids.extend(db.session.scalars(sa.insert(model).returning(model.id, sort_by_parameter_order=True),
                                      rows[start:start + CHUNK]).all())
    return ids


def _scores(total: Decimal) -> dict[str, float]:
    """Criterion points adding up to about ``total`` (the standard rubric, weight 1)."""
    share = float(total) / 100
    return {code: round(maximum * share, 2) for code, maximum in CRITERIA.items()}


def build(n_applications: int, seed: int = 2026) -> Call:
    """A call with ``n_applications`` ranked (or still evaluated) applications; flushed, not committed."""
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:6]
    now = utcnow()
    programme = Programme(code=f"P-RANK-{tag}", title_lv="Programma", title_en="Programme",
                          fund_source=FundSource.ESF_PLUS, budget=Decimal("50000000.00"),
                          starts_on=now.date() - timedelta(days=365), ends_on=now.date() + timedelta(days=1000))
    call = Call(programme=programme, code=f"C-RANK-{tag}", title_lv="Konkurss", title_en="Call",
                description_lv="Apraksts", description_en="Description", opens_at=now - timedelta(days=90),
                closes_at=now - timedelta(days=30), budget=sum((s[2] for s in STAGES), Decimal(0)),
                status=CallStatus.PUBLISHED, workflow_name="application", workflow_version=3, version=1, form=[],
                published_at=now - timedelta(days=90), rubric=default_rubric())
    call.stages = [CallStage(si_stage=code, position=p, envelope=envelope, min_grant=Decimal("1000.00"),
                             max_grant=Decimal("10000.00")) for p, (code, _share, envelope) in enumerate(STAGES)]
    db.session.add_all([programme, call])
    db.session.flush()

    user_ids = _insert(User, [{"email": f"bench-{tag}-{i}@example.lv", "name": f"Lietotājs {i}",
                               "password_hash": "-"} for i in range(EVALUATORS + 1)])
    evaluators, committee = user_ids[:EVALUATORS], user_ids[EVALUATORS]
    n_organisations = max(1, n_applications // 3)
    organisation_ids = _insert(Organisation, [
        {"name": f"Biedrība {tag} {i}", "registration_number": f"{tag}{i:07d}", "legal_form": LegalForm.ASSOCIATION,
         "region": rng.choice(list(Region)), "country": "LV"} for i in range(n_organisations)])
    initiative_ids = _insert(Initiative, [{"organisation_id": o, "title": f"Iniciatīva {i}",
                                           "current_stage": "idea_generation", "version": 1}
                                          for i, o in enumerate(organisation_ids)])

    stage_codes = [code for code, share, _envelope in STAGES for _ in range(share)]
    plans = []  # per application: (state, final score or None, waiting for a third evaluator)
    for _ in range(n_applications):
        roll = rng.random()
        if roll < 0.04:
            plans.append(("in_evaluation", None, True))  # waiting for a third evaluator
            continue
        if roll < 0.08:
            plans.append(("in_evaluation", None, False))  # reviews not all in
            continue
        # scores on half points between 30 and 100: many ties, so the tie-break decides
        score = Decimal(rng.randint(60, 200)) / 2
        state = rng.choices(("evaluated", "approved", "reserve", "rejected"), (80, 10, 5, 5))[0]
        plans.append((state, score, False))

    applications = []
    for i, (state, _score, _third) in enumerate(plans):
        k = i % n_organisations
        applications.append({
            "call_id": call.id, "organisation_id": organisation_ids[k], "initiative_id": initiative_ids[k],
            "si_stage": stage_codes[i % len(stage_codes)], "award_stage": stage_codes[i % len(stage_codes)],
            "title": f"{TITLES[i % len(TITLES)]} {i}", "summary": "Kopsavilkums.",
            "requested_amount": Decimal(rng.randint(1000, 10000)), "duration_months": rng.randint(6, 24),
            "answers": {}, "state": state, "workflow_name": "application", "workflow_version": 3, "version": 1})
    application_ids = _insert(Application, applications)

    start = now - timedelta(days=40)
    submission_ids = _insert(Submission, [
        {"application_id": a, "round": 1, "trigger": "submit",
         "submitted_at": start + timedelta(seconds=rng.randint(0, 10 * 24 * 3600)), "snapshot": {},
         "content_hash": hashlib.sha256(str(a).encode()).hexdigest()} for a in application_ids])

    assignments, reviews, results, decisions = [], [], [], []
    review_counts = []
    for i, (application_id, submission_id, (_state, score, third)) in enumerate(
            zip(application_ids, submission_ids, plans, strict=True)):
        content_hash = hashlib.sha256(str(application_id).encode()).hexdigest()
        # unscored: a discrepancy waits for the third review, otherwise one review is missing
        n_reviews = (2 if third else 1) if score is None else (3 if rng.random() < 0.05 else 2)
        review_counts.append(n_reviews)
        for j in range(n_reviews):
            assignments.append({"application_id": application_id, "call_id": call.id,
                                "evaluator_id": evaluators[(i + j * 7) % EVALUATORS], "submission_id": submission_id,
                                "content_hash": content_hash, "due_at": now - timedelta(days=10),
                                "has_conflict": False, "declared_at": now - timedelta(days=20),
                                "statement": "Nav interešu konflikta.", "state": "submitted", "version": 1})
    assignment_ids = iter(_insert(Assignment, assignments))

    for i, (application_id, (state, score, third), n_reviews) in enumerate(
            zip(application_ids, plans, review_counts, strict=True)):
        for j in range(n_reviews):
            total = Decimal(90 if j == 0 else 55) if third else (score if score is not None else Decimal(70))
            reviews.append({"assignment_id": next(assignment_ids), "application_id": application_id,
                            "scores": _scores(total), "comments": {"need": "Labi pamatots."},
                            "summary": "Kopsavilkums.", "total": total, "content_hash": "-",
                            "submitted_at": now - timedelta(days=15), "version": 1})
        if third:
            results.append({"application_id": application_id, "call_id": call.id, "final_score": None,
                            "criteria": {}, "above_threshold": False, "failed_minima": [], "discrepancy": True,
                            "needs_third": True, "review_ids": [], "reviews_count": 2})
        elif score is not None:
            failed = [code for code in MINIMA if rng.random() < 0.03]
            results.append({"application_id": application_id, "call_id": call.id, "final_score": score,
                            "criteria": _scores(score), "above_threshold": score >= 60 and not failed,
                            "failed_minima": failed, "discrepancy": n_reviews == 3, "needs_third": False,
                            "review_ids": [], "reviews_count": n_reviews, "consolidated_at": now - timedelta(days=14)})
            if state in ("approved", "reserve", "rejected"):
                outcome = Outcome(state)
                amount = applications[i]["requested_amount"] if outcome == Outcome.APPROVED else None
                decisions.append({"application_id": application_id, "outcome": outcome, "amount": amount,
                                  "conditions": "", "justification": "Komisijas pamatojums.",
                                  "decided_on": now.date() - timedelta(days=5), "decided_by_id": committee,
                                  "recommended": state, "rank": None, "final_score": score,
                                  "departs_from_ranking": False})
    _insert(Review, reviews)
    _insert(EvaluationResult, results)
    _insert(Decision, decisions)
    db.session.flush()
    return call


def run(call_id: int, repeat: int) -> tuple[list[float], list[int], list]:
    """Seconds and SQL statements of each ``ranking`` run, and the last run's rows."""
    seconds, queries = [], []
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    rows: list = []
    for _ in range(repeat):
        db.session.remove()
        call = db.session.get(Call, call_id)
        _ = [stage.envelope for stage in call.stages]
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            started = time.perf_counter()
            rows = ranking(call)
            seconds.append(time.perf_counter() - started)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        queries.append(len(statements))
        db.session.rollback()
    return seconds, queries, rows


def describe(rows) -> str:
    """What the list holds, so a run shows the ranking had something to rank."""
    recommendations = Counter(r.recommendation or "unscored" for r in rows)
    within = sum(1 for r in rows if r.within_budget)
    waiting = sum(1 for r in rows if r.needs_third)
    return (f"{len(rows)} rows, {within} within the envelopes, " +
            ", ".join(f"{k} {v}" for k, v in sorted(recommendations.items())) + f", {waiting} waiting for a third")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=10_000, help=f"at most {MAX_APPLICATIONS}")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=5, help="ranking runs to time")
    parser.add_argument("--admin-url", default=PG_ADMIN_URL, help="PostgreSQL database to create the bench's next to")
    args = parser.parse_args(argv)
    if not 1 <= args.applications <= MAX_APPLICATIONS:
        parser.error(f"--applications must be between 1 and {MAX_APPLICATIONS}")
    if sa.engine.make_url(args.admin_url).host not in (None, "127.0.0.1", "localhost"):
        parser.error("--admin-url must point at the local server")

    with (throwaway_database(args.database, args.admin_url) as url,
          tempfile.TemporaryDirectory(prefix="grants-bench-") as uploads):
        app = create_app("testing", DATABASE_URL=url, UPLOAD_DIR=uploads)
        try:
            with app.app_context(), app.test_request_context():
                upgrade()
                started = time.perf_counter()
                call_id = build(args.applications).id
                db.session.commit()
                if args.database == "postgres":
                    with db.engine.connect() as conn:
                        conn.exec_driver_sql("ANALYZE")
                counts = {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                          for model in (Application, Review, EvaluationResult, Decision)}
                print(f"{args.database}: built " + ", ".join(f"{v} {k}" for k, v in counts.items()) +
                      f" in {time.perf_counter() - started:.1f} s")
                seconds, queries, rows = run(call_id, args.repeat)
                db.session.remove()
        finally:
            with app.app_context():
                db.engine.dispose()

    print(f"{args.database}: ranking runs: " + ", ".join(f"{s:.3f} s" for s in seconds))
    print(f"{args.database}: {describe(rows)}")
    median = statistics.median(seconds)
    print(f"{args.database}: median {median:.3f} s, best {min(seconds):.3f} s (budget {BUDGET_SECONDS:.1f} s); "
          f"SQL statements per run: {', '.join(map(str, queries))} (budget {QUERY_BUDGET})")
    status = 0
    if median > BUDGET_SECONDS:
        print(f"{args.database}: OVER the budget of {BUDGET_SECONDS:.1f} s", file=sys.stderr)
        status = 1
    if max(queries) > QUERY_BUDGET:
        print(f"{args.database}: OVER the budget of {QUERY_BUDGET} statements", file=sys.stderr)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
