"""Benchmark: eligibility rules over many applications at once, and the SQL it takes (DESIGN §5, §11).

Builds a throw-away database (a SQLite file in a temporary folder, or a ``grants_bench_<random>``
database next to the PostgreSQL admin URL, dropped afterwards), runs the migrations, writes N
applications of about 0.3 N organisations across two calls of one programme, with de minimis
register rows, some grants in implementation and near-duplicate titles across the calls, then times
``grants.eligibility.services.evaluate`` under the demo ruleset plus the micro-project preset, and
counts the SQL statements it sends:

    .venv/bin/python bench/eligibility.py --applications 1000 --database sqlite
    .venv/bin/python bench/eligibility.py --applications 1000 --database postgres

Each run starts from a fresh session with the applications loaded as a list page would load
them (not counted); ``evaluate`` itself must stay within QUERY_BUDGET statements, whatever the
number of applications: the run exits with status 1 when it does not.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PG_ADMIN_URL, throwaway_database
from grants import create_app
from grants.applications.models import Application
from grants.audit.services import record_event
from grants.calls.models import Call, CallStage, CallStatus, Programme
from grants.core.codes import FundSource, LegalForm, Region
from grants.core.db import db, utcnow
from grants.eligibility.models import AidSource, DeMinimisAid
from grants.eligibility.presets import demo_ruleset, micro_project_rule
from grants.eligibility.rules import validate_ruleset
from grants.eligibility.services import evaluate
from grants.initiatives.models import Initiative
from grants.organisations.models import Organisation

#: SQL statements ``evaluate`` may send for a batch, however many applications it has.
QUERY_BUDGET = 10
MAX_APPLICATIONS = 20_000

TITLES = ("Kopienas dārzs {place}", "Jauniešu digitālās prasmes {place}", "Senioru sarunu klubs {place}",
          "Remontdarbnīca {place}", "Ūdens pieejamība {place} ciemos", "Skolu mentoru tīkls {place}",
          "Sociālā veikala atvēršana {place}", "Atbalsta grupa vecākiem {place}")
PLACES = ("Rīgā", "Latgalē", "Kurzemē", "Vidzemē", "Zemgalē", "Liepājā", "Daugavpilī", "Valmierā", "Cēsīs")
LEGAL_FORMS = (LegalForm.ASSOCIATION,) * 6 + (LegalForm.FOUNDATION,) * 2 + (LegalForm.SOCIAL_ENTERPRISE,
                                                                              LegalForm.COMPANY)
MICRO = ("mp_initiated_by_users", "mp_specific_needs", "mp_new_service")


def ruleset() -> list[dict]:
    """As a call stores it: checked, parameters completed with their defaults."""
    return validate_ruleset([*demo_ruleset(), micro_project_rule()])


def build(n_applications: int, seed: int = 2026) -> None:
    """Organisations, two calls, ``n_applications`` applications, register rows; one commit."""
    rng = random.Random(seed)
    n_organisations = max(1, n_applications * 3 // 10)
    now = utcnow()
    programme = Programme(code="P-BENCH", title_lv="Programma", title_en="Programme", fund_source=FundSource.ESF_PLUS,
                          budget=Decimal("10000000.00"), starts_on=now.date() - timedelta(days=365),
                          ends_on=now.date() + timedelta(days=1000))
    calls = []
    for i in (1, 2):
        call = Call(programme=programme, code=f"C-BENCH-{i}", title_lv=f"Konkurss {i}", title_en=f"Call {i}",
                    description_lv="Apraksts", description_en="Description", opens_at=now - timedelta(days=30),
                    closes_at=now + timedelta(days=30), budget=Decimal("2000000.00"), status=CallStatus.PUBLISHED,
                    workflow_name="application", workflow_version=2, version=1, form=[], published_at=now,
                    eligibility_rules=ruleset())
        call.stages = [CallStage(si_stage=code, position=p, envelope=Decimal("1000000.00"), min_grant=Decimal("1000"),
                                 max_grant=Decimal("50000")) for p, code in enumerate(("idea_generation", "piloting"))]
        calls.append(call)
    db.session.add_all([programme, *calls])
    organisations = [Organisation(name=f"Biedrība {i}", registration_number=f"4000{i:07d}",
                                  legal_form=rng.choice(LEGAL_FORMS), region=rng.choice(list(Region)),
                                  country="LV" if rng.random() < 0.97 else "EE") for i in range(n_organisations)]
    initiatives = [Initiative(organisation=o, title=f"Iniciatīva {i}", current_stage="idea_generation", version=1)
                   for i, o in enumerate(organisations)]
    db.session.add_all([*organisations, *initiatives])
    today = now.date()
    for organisation in organisations:
        for _ in range(rng.randint(0, 4)):  # up to 4 entries each, a few near or over the ceiling
            amount = Decimal(rng.choice((rng.randint(500, 50_000), rng.randint(100_000, 200_000))))
            db.session.add(DeMinimisAid(registration_number=organisation.registration_number,
                                        undertaking=organisation.name, amount=amount,
                                        granted_on=today - timedelta(days=rng.randint(0, 5 * 365)),
                                        granting_authority="LIAA", source=AidSource.IMPORT))
    applications = []
    for i in range(n_applications):
        k = i % n_organisations
        organisation, initiative = organisations[k], initiatives[k]
        # the same organisation's applications alternate between the calls with near-identical titles
        title = TITLES[k % len(TITLES)].format(place=PLACES[k % len(PLACES)])
        if i >= n_organisations and rng.random() < 0.5:
            title += rng.choice(("", " 2", "!", " (turpinājums)"))
        micro = rng.random() < 0.8
        answers = dict.fromkeys(MICRO, micro) | {f"{code}_explanation": "Paskaidrojums" for code in MICRO}
        state = rng.choices(("draft", "submitted", "eligibility_review", "in_implementation"), (5, 3, 2, 1))[0]
        applications.append(Application(
            call=calls[(i // n_organisations) % 2], organisation=organisation, initiative=initiative,
            si_stage=rng.choice(("idea_generation", "idea_generation", "piloting", "scaling")), title=title,
            summary=rng.choice(("", "Īss.", "Kopienas vajadzību apzināšana un jauna pakalpojuma izmēģinājums.")),
            requested_amount=Decimal(rng.randint(500, 60_000)), duration_months=rng.randint(1, 30),
            answers=answers, state=state, workflow_name="application", workflow_version=2, version=1))
    db.session.add_all(applications)
    db.session.flush()
    for application in applications:
        if application.state == "in_implementation":
            record_event(action="application.start_implementation", object_type="application",
                         object_id=application.id, payload={"from": "contracting", "to": "in_implementation"})
    db.session.commit()


def run(repeat: int) -> tuple[list[float], list[int], int, dict[str, Counter]]:
    """Seconds and SQL statements of each ``evaluate`` run, the number of applications and the
    outcomes by rule (so a run shows the checks had something to find)."""
    seconds, queries = [], []
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    n = 0
    for _ in range(repeat):
        db.session.remove()
        applications = db.session.scalars(sa.select(Application).order_by(Application.id)).unique().all()
        n = len(applications)
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            started = time.perf_counter()
            outcomes = evaluate(applications)
            seconds.append(time.perf_counter() - started)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        queries.append(len(statements))
        if len(outcomes) != n or any(len(o) != len(ruleset()) for o in outcomes.values()):
            sys.exit("evaluate did not return every rule for every application")
        db.session.rollback()
    tally: dict[str, Counter] = {}
    for results in outcomes.values():
        for result in results:
            tally.setdefault(result.code, Counter())[result.outcome.value] += 1
    return seconds, queries, n, tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=1000, help=f"at most {MAX_APPLICATIONS}")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=5, help="evaluate runs to time")
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
                build(args.applications)
                aid = db.session.scalar(sa.select(sa.func.count()).select_from(DeMinimisAid))
                organisations = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))
                print(f"{args.database}: built {args.applications} applications of {organisations} organisations "
                      f"in 2 calls, {aid} register rows, in {time.perf_counter() - started:.1f} s")
                seconds, queries, n, tally = run(args.repeat)
                db.session.remove()
        finally:
            with app.app_context():
                db.engine.dispose()

    print(f"{args.database}: evaluate runs ({len(ruleset())} rules): " + ", ".join(f"{s:.3f} s" for s in seconds))
    print(f"{args.database}: outcomes: " + "; ".join(
        f"{code} " + "/".join(f"{k} {v}" for k, v in sorted(counts.items())) for code, counts in tally.items()))
    median = statistics.median(seconds)
    print(f"{args.database}: median {median:.3f} s, {n / median:,.0f} applications/s; "
          f"SQL statements per run: {', '.join(map(str, queries))} (budget {QUERY_BUDGET})")
    if max(queries) > QUERY_BUDGET:
        print(f"{args.database}: OVER the budget of {QUERY_BUDGET} statements", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
