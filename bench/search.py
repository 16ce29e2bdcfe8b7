"""Benchmark: full-text search at 100,000 applications (issue 15 item 2), before and after.

Builds a throw-away database (as the other benchmarks do), runs the migrations and writes N applications
(default 100,000) of N/20 organisations and N/2 initiatives, with Latvian titles, names and descriptions
drawn from a vocabulary (so common words match thousands of rows and rare ones a few), and their
``search_text`` as the services write it (``application_search_text``, ``initiative_search_text``). Then,
for a few searches, it times and explains:

- the staff applications list (a page of 50, newest change first, and its count): before, ``ILIKE '%q%'`` on
  the title, the organisation's name and the initiative's title (as the grants list searched); after,
  ``grants.applications.search.newest_first_matching`` (the page) and ``matches`` (the count);
- the registry's search over initiatives (the count of matches, joined with their organisation): before,
  the registry's own folding (a case-insensitive regular expression ``~*`` on PostgreSQL, ``registry_fold(..)
  LIKE`` on SQLite) on the title, the organisation's name and the description; after,
  ``grants.initiatives.search.matches``.

    .venv/bin/python bench/search.py --database postgres [--applications 100000] [--explain]
    .venv/bin/python bench/search.py --database sqlite

It prints the median of 5 runs of each (ms) and, with ``--explain``, ``EXPLAIN ANALYZE`` (PostgreSQL) or
``EXPLAIN QUERY PLAN`` (SQLite) of each statement.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import add_database_arguments, bench_app, check_local
from grants.applications.models import Application
from grants.applications.search import application_search_text, newest_first_matching
from grants.applications.search import matches as application_matches
from grants.calls.models import Call, CallStage, CallStatus, Programme
from grants.core.codes import FundSource, LegalForm, Region
from grants.core.db import db, utcnow
from grants.initiatives.models import Initiative
from grants.initiatives.search import initiative_search_text
from grants.initiatives.search import matches as initiative_matches
from grants.organisations.models import Organisation
from grants.registry.services import SQLITE_FOLD, fold

CHUNK = 5_000
RUNS = 5
#: Words titles, names and descriptions are made of: a few very common, most rarer.
COMMON = ("kopienas", "sociālā", "atbalsts", "jauniešu", "senioru", "darbnīca", "centrs", "programma")
WORDS = ("sieviešu", "ģimeņu", "dārzs", "darba", "prasmes", "ūdens", "pieejamība", "ciemos", "skolu", "mentoru",
         "tīkls", "veikals", "grupa", "vecākiem", "bibliotēka", "autobuss", "virtuve", "maltītes", "vientuļajiem",
         "remontdarbnīca", "digitālās", "klubs", "sarunu", "amatu", "skola", "kokapstrāde", "galdniecība",
         "brīvprātīgie", "invaliditāti", "nodarbinātība", "kultūra", "lauku", "pilsētas", "māja", "ģimenēm",
         "bērniem", "pusaudžiem", "imigrantiem", "bēgļiem", "veselība", "sports", "mūzika", "teātris", "māksla",
         "tradīcijas", "amatniecība", "zvejnieku", "ostas", "meža", "ekoloģija", "atkritumi", "šķirošana",
         "velosipēdi", "transports", "mājokļi", "enerģija", "saules", "paneļi", "kooperatīvs", "tirgus",
         "pārtika", "bankas", "drēbes", "grāmatas", "lasīšana", "valoda", "latgaliešu", "lībiešu", "kurzemes",
         "vidzemes", "zemgales", "latgales", "rīgas", "ērgļu", "ozolu", "liepu", "bērzu", "priežu", "ābolu")
LEGAL = ("Biedrība", "Nodibinājums", "SIA", "Kooperatīvā sabiedrība")
SEARCHES = ("kopienas", "sieviesu", "SIEVIEŠU darb", "gimenu darbnica", "lībiešu valoda", "zzz", "da")


def _phrase(rng: random.Random, n: int) -> str:
    words = [rng.choice(COMMON) if rng.random() < 0.3 else rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize()


def build(n_applications: int, seed: int = 2026) -> None:
    """The rows, committed: one programme, ten calls, N/20 organisations, N/2 initiatives, N applications."""
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:6]
    now = utcnow()
    programme = Programme(code=f"P-FTS-{tag}", title_lv="Programma", title_en="Programme",
                          fund_source=FundSource.ESF_PLUS, budget=Decimal("50000000.00"),
                          starts_on=now.date() - timedelta(days=365), ends_on=now.date() + timedelta(days=1000))
    calls = []
    for c in range(10):
        call = Call(programme=programme, code=f"C-FTS-{tag}-{c}", title_lv="Konkurss", title_en="Call",
                    description_lv="Apraksts", description_en="Description", opens_at=now - timedelta(days=90),
                    closes_at=now - timedelta(days=30), budget=Decimal("1000000.00"), status=CallStatus.PUBLISHED,
                    workflow_name="application", workflow_version=3, version=1, form=[],
                    published_at=now - timedelta(days=90))
        call.stages = [CallStage(si_stage="idea_generation", position=0, envelope=Decimal("1000000.00"),
                                 min_grant=Decimal("1000.00"), max_grant=Decimal("10000.00"))]
        calls.append(call)
    db.session.add_all([programme, *calls])
    db.session.flush()
    call_ids = [call.id for call in calls]

    organisations = [{"id": i + 1, "name": f"{rng.choice(LEGAL)} \"{_phrase(rng, rng.randint(1, 3))}\"",
                      "registration_number": f"{tag}{i:07d}", "legal_form": LegalForm.ASSOCIATION,
                      "region": rng.choice(list(Region)), "country": "LV"} for i in range(max(1, n_applications // 20))]
    _insert(Organisation, organisations)
    names = {row["id"]: row["name"] for row in organisations}
    initiatives = []
    for i in range(max(1, n_applications // 2)):
        organisation_id = organisations[i % len(organisations)]["id"]
        title, description = _phrase(rng, rng.randint(2, 4)), _phrase(rng, rng.randint(8, 20)) + "."
        initiatives.append({"id": i + 1, "organisation_id": organisation_id, "title": title, "description": description,
                            "current_stage": "idea_generation", "version": 1,
                            "search_text": initiative_search_text(title, description, names[organisation_id])})
    _insert(Initiative, initiatives)
    applications = []
    for i in range(n_applications):
        initiative = initiatives[i % len(initiatives)]
        title = _phrase(rng, rng.randint(3, 6))
        applications.append({
            "call_id": call_ids[i % len(call_ids)], "organisation_id": initiative["organisation_id"],
            "initiative_id": initiative["id"], "si_stage": "idea_generation", "award_stage": "idea_generation",
            "title": title, "summary": "Kopsavilkums.", "requested_amount": Decimal(rng.randint(1000, 10000)),
            "duration_months": 12, "answers": {}, "state": "submitted", "workflow_name": "application",
            "workflow_version": 3, "version": 1, "updated_at": now - timedelta(minutes=rng.randint(0, 500_000)),
            "search_text": application_search_text(title, names[initiative["organisation_id"]], initiative["title"])})
    _insert(Application, applications)
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))  # statistics for the planner, as a live database has
    db.session.commit()


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(model), rows[start:start + CHUNK])


# --- the searches, before and after --------------------------------------------------------------------

_FOLDS = {"ā": "a", "č": "c", "ē": "e", "ģ": "g", "ī": "i", "ķ": "k", "ļ": "l", "ņ": "n", "ō": "o", "ŗ": "r",
          "š": "s", "ū": "u", "ž": "z"}
_VARIANTS: dict[str, str] = defaultdict(str)
for _source, _target in _FOLDS.items():
    _VARIANTS[_target] += _source + _source.upper()


def _old_regex(text: str) -> str:
    """The registry's regular expression before full-text search (grants.registry.services._regex)."""
    parts = []
    for char in fold(text):
        if char in _VARIANTS:
            parts.append(f"[{char}{_VARIANTS[char]}]")
        elif char.isalnum() or char == " ":
            parts.append(char)
        else:
            parts.append("\\" + char)
    return "".join(parts)


def _old_registry_match(column, text: str, postgres: bool):
    if postgres:
        return column.op("~*")(_old_regex(text))
    pattern = "%" + fold(text).replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    return getattr(sa.func, SQLITE_FOLD)(column).like(pattern, escape="/")


def statements(text: str, postgres: bool) -> dict[str, sa.Select]:
    applications = (sa.select(Application.id, Application.title, Organisation.name, Application.updated_at)
                    .join(Organisation, Organisation.id == Application.organisation_id)
                    .join(Initiative, Initiative.id == Application.initiative_id))
    pattern = f"%{text}%"
    before = sa.or_(Application.title.ilike(pattern), Organisation.name.ilike(pattern), Initiative.title.ilike(pattern))
    registry = (sa.select(sa.func.count()).select_from(Initiative)
                .join(Organisation, Organisation.id == Initiative.organisation_id))
    old = sa.or_(*(_old_registry_match(column, text, postgres)
                   for column in (Initiative.title, Organisation.name, Initiative.description)))
    newest = (Application.updated_at.desc(), Application.id.desc())
    return {
        "applications page, before (ILIKE)": applications.where(before).order_by(*newest).limit(50),
        "applications page, after (full-text)": newest_first_matching(applications.order_by(*newest), text).limit(50),
        "applications count, before (ILIKE)": sa.select(sa.func.count()).select_from(
            applications.where(before).subquery()),
        "applications count, after (full-text)": sa.select(sa.func.count()).select_from(
            Application).where(application_matches(text)),
        "registry count, before (regex / fold LIKE)": registry.where(old),
        "registry count, after (full-text)": registry.where(initiative_matches(text)),
    }


def _explain(statement: sa.Select, postgres: bool) -> str:
    sql = str(statement.compile(db.session.get_bind(), compile_kwargs={"literal_binds": True}))
    if postgres:
        return "\n".join(db.session.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql)).scalars())
    return "\n".join(str(row[-1]) for row in db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))


def run(n_applications: int, kind: str, admin_url: str, explain: bool) -> None:
    with bench_app(kind, admin_url) as app:
        started = time.perf_counter()
        build(n_applications)
        print(f"{kind}: {n_applications:,} applications built in {time.perf_counter() - started:.1f} s")
        postgres = kind == "postgres"
        with app.test_request_context():
            if postgres:
                db.session.execute(sa.text("SET jit = off"))  # as the registry does (it costs more than it saves)
            for text in SEARCHES:
                print(f"\n== q={text!r}")
                for label, statement in statements(text, postgres).items():
                    timings, rows = [], None
                    for _ in range(RUNS):
                        start = time.perf_counter()
                        rows = db.session.execute(statement).all()
                        timings.append((time.perf_counter() - start) * 1000)
                    found = rows[0][0] if "count" in label else len(rows)
                    print(f"  {label:45} {statistics.median(timings):9.1f} ms  (rows: {found})")
                    if explain:
                        print("    " + _explain(statement, postgres).replace("\n", "\n    "))
            db.session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--explain", action="store_true", help="print each statement's plan")
    add_database_arguments(parser)
    args = parser.parse_args()
    check_local(parser, args.admin_url)
    run(args.applications, args.database, args.admin_url, args.explain)


if __name__ == "__main__":
    main()
