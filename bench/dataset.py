"""The DESIGN §11 dataset: 100,000 applications, 250,000 reviews, 2,000,000 audit events, 5,000 users.

Builds it on a persistent named database that the page benchmark (bench/pages.py) and anyone else reuse
without rebuilding: on PostgreSQL ``grants_bench`` next to the admin URL (dropped and created again by each
build), on SQLite the file ``instance/bench.sqlite3`` (removed and written again):

    .venv/bin/python bench/dataset.py --database postgres                 # the default size
    .venv/bin/python bench/dataset.py --database sqlite --size small      # 10,000 applications
    .venv/bin/python bench/dataset.py --database postgres --applications 20000 --reviews 50000 \\
        --events 400000 --users 1000

The migrations run first; then the rows go in table by table in batches (PostgreSQL ``COPY``, SQLite
executemany), with explicit ids, shaped as the services write them: calls frozen as ``publish_call`` freezes
them, applications in every state of the single-round workflow with the rows each state implies (submission
snapshots and their content hashes, the eligibility results of the real rule engine over the real facts,
officers' decisions on manual rules, assignments with declarations, reviews scored per rubric criterion,
results consolidated as ``consolidate`` does, committee decisions, agreements, payments, report dues and
reports, de minimis aid), and an audit chain that tells the same story in time order (hashed with
``compute_hash``, the head moved once at the end, as the append-only triggers allow), padded with sign-ins up
to the number of events asked for. Memory stays flat: the events are generated as a time-ordered stream.

Everyone's password is ``BENCH_PASSWORD`` (hashed once). Known accounts: ``officer1@bench.lv``,
``committee1@bench.lv``, ``finance1@bench.lv``, ``auditor1@bench.lv``, ``admin1@bench.lv``,
``evaluator1@bench.lv``, ``applicant1@bench.lv`` (and more of each, numbered). The biggest call is
``BENCH-06``. After the build: ``ANALYZE`` (PostgreSQL), ``verify_chain`` (the build fails if the chain does not
verify) and the row count of every table.

A table's rows are made by one function (``_users``, ``_applications``, ``_submissions``...): a column added
by a migration and maintained by a service is one more key there.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PG_ADMIN_URL

ROOT = Path(__file__).resolve().parent.parent
#: The persistent bench databases.
PG_DATABASE = "grants_bench"
SQLITE_PATH = ROOT / "instance" / "bench.sqlite3"
#: Everyone's password on the bench database.
BENCH_PASSWORD = "bench-bench-bench"  # nosec B105  # a benchmark's throw-away accounts
#: The call the ranking benchmark and the ranking page measure.
BIG_CALL = "BENCH-06"

SIZES = {
    "default": {"applications": 100_000, "reviews": 250_000, "events": 2_000_000, "users": 5_000},
    "small": {"applications": 10_000, "reviews": 25_000, "events": 200_000, "users": 500},
    "tiny": {"applications": 200, "reviews": 500, "events": 3_000, "users": 60},
}
#: Rows per COPY / executemany batch.
CHUNK = 5_000
#: Staff accounts of each role (officer1@bench.lv ...), evaluators as a share of the users.
STAFF = {"officer": 12, "committee": 6, "finance": 4, "auditor": 3, "admin": 2}
EVALUATOR_SHARE = 0.08

#: (call code, share of the applications, phase, days from now to its deadline). Phases: ``granted``
#: (decided, grants running), ``decided``, ``evaluation`` (the big call: being evaluated, some decided),
#: ``eligibility``, ``open``. Each call is open for 60 days.
CALLS = [
    ("BENCH-01", 0.11, "granted", -900), ("BENCH-02", 0.11, "granted", -750), ("BENCH-03", 0.11, "granted", -600),
    ("BENCH-04", 0.11, "decided", -450), ("BENCH-05", 0.10, "decided", -300), (BIG_CALL, 0.14, "evaluation", -80),
    ("BENCH-07", 0.16, "eligibility", -45), ("BENCH-08", 0.16, "open", 20),
]
#: Final states by phase, with weights.
STATES = {
    "granted": {"ineligible": 8, "withdrawn": 2, "rejected": 40, "reserve": 5, "approved": 5, "contracted": 10,
                "in_implementation": 30},
    "decided": {"ineligible": 8, "withdrawn": 2, "rejected": 45, "reserve": 10, "approved": 15, "contracted": 10,
                "in_implementation": 10},
    "evaluation": {"ineligible": 8, "withdrawn": 2, "in_evaluation": 35, "evaluated": 45, "approved": 4,
                   "reserve": 2, "rejected": 4},
    "eligibility": {"eligibility_review": 55, "clarification_requested": 6, "ineligible": 9, "withdrawn": 2,
                    "in_evaluation": 28},
    "open": {"draft": 55, "eligibility_review": 40, "withdrawn": 5},
}
REVIEWED = {"in_evaluation", "evaluated", "approved", "reserve", "rejected", "contracted", "in_implementation"}
SCORED = REVIEWED - {"in_evaluation"}
DECIDED = {"approved", "reserve", "rejected", "contracted", "in_implementation"}
AWARDED = {"approved", "contracted", "in_implementation"}
SIGNED = {"contracted", "in_implementation"}
STAGES = (("idea_generation", "2000.00", "10000.00", 5), ("prototyping", "10000.00", "50000.00", 3),
          ("scaling", "30000.00", "120000.00", 2))
TITLES = ("Kopienas dārzs", "Jauniešu digitālās prasmes", "Senioru sarunu klubs", "Remontdarbnīca",
          "Ūdens pieejamība ciemos", "Skolu mentoru tīkls", "Sociālais veikals", "Atbalsta grupa vecākiem",
          "Kaimiņu palīdzības tīkls", "Mobilā bibliotēka", "Sociālais taksometrs", "Amatu skola jauniešiem")
PLACES = ("Rīgā", "Latgalē", "Vidzemē", "Kurzemē", "Zemgalē", "Daugavpilī", "Liepājā", "Valmierā", "Cēsīs")
THEMES = ("Vientuļo senioru iekļaušana", "Jauniešu nodarbinātība", "Pieejamība laukos", "Digitālā iekļaušana",
          "Kopienu savstarpējā palīdzība", "Cilvēku ar invaliditāti nodarbinātība")
GROUPS = ("seniori", "jaunieši", "lauku iedzīvotāji", "cilvēki ar invaliditāti", "jaunieši NEET", "ģimenes")
FIRST = ("Anna", "Jānis", "Līga", "Mārtiņš", "Ilze", "Kārlis", "Inese", "Pēteris", "Dace", "Andris", "Zane")
LAST = ("Bērziņa", "Kalniņš", "Ozola", "Liepiņš", "Krūmiņa", "Zariņš", "Vītola", "Jansons", "Eglīte", "Ābele")


@dataclass(slots=True)
class App:
    """What the generator decided for one application (kept for all of them: ~200 bytes each)."""

    id: int
    call: int
    org: int
    initiative: int
    creator: int
    stage: str
    amount: Decimal
    months: int
    title: str
    state: str
    rounds: int = 1
    #: Eligibility outcome per rule of the call, as one character each (p, f, m), once computed.
    outcomes: str = ""
    submission_ids: list[int] = field(default_factory=list)
    content_hashes: list[str] = field(default_factory=list)
    #: (assignment id, evaluator id, state, review id or None, total or None, reason) of each assignment.
    assignments: list[tuple] = field(default_factory=list)
    score: Decimal | None = None
    discrepancy: bool = False


# --- writing rows ------------------------------------------------------------------------------------------


class Writer:
    """Bulk inserts with explicit ids: ``COPY`` on PostgreSQL, executemany on SQLite. Rows are dicts keyed by
    model attribute names; Python-side column defaults (``created_at``...) are filled in as the ORM would."""

    def __init__(self, session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self._next: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def ids(self, model, n: int) -> range:
        table = model.__table__.name
        if table not in self._next:
            self._next[table] = (self.session.scalar(sa.select(sa.func.max(model.__table__.c.id))) or 0) + 1
        start = self._next[table]
        self._next[table] = start + n
        return range(start, start + n)

    def insert(self, model, rows: Iterable[dict[str, Any]]) -> int:
        mapper = sa.inspect(model)
        table = model.__table__
        columns = {attr.key: attr.columns[0] for attr in mapper.column_attrs}
        written = 0
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                written += self._write(table, columns, batch)
                batch = []
        if batch:
            written += self._write(table, columns, batch)
        self.counts[table.name] = self.counts.get(table.name, 0) + written
        return written

    def _write(self, table, columns: dict[str, sa.Column], batch: list[dict[str, Any]]) -> int:
        keys = list(columns)
        records = []
        for row in batch:
            record = {}
            for key in keys:
                column = columns[key]
                if key in row:
                    record[column.name] = row[key]
                elif column.primary_key:
                    continue
                elif column.default is not None:
                    default = column.default
                    record[column.name] = default.arg(None) if default.is_callable else default.arg
                elif column.nullable or column.server_default is not None:
                    continue
                else:
                    raise KeyError(f"{table.name}.{column.name} has no value and no default")
            records.append(record)
        names = sorted({name for record in records for name in record})
        if not self.postgres:
            self.session.execute(table.insert(), [{n: r.get(n) for n in names} for r in records])
            return len(records)
        converters = [_pg_converter(table.c[name]) for name in names]
        cursor = self.session.connection().connection.driver_connection.cursor()
        quoted = ", ".join(f'"{name}"' for name in names)
        with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
            for record in records:
                copy.write_row([convert(record.get(name)) for name, convert in zip(names, converters, strict=True)])
        cursor.close()
        return len(records)

    def fix_sequences(self) -> None:
        """Explicit ids do not move PostgreSQL's sequences: move them past the rows written."""
        if not self.postgres:
            return
        for table in self._next:
            self.session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))


def _pg_converter(column: sa.Column):
    """How a Python value is written by COPY: what the column type's bind processing would send."""
    from psycopg.types.json import Jsonb

    from grants.core.db import Money, canonical_json, to_money

    kind = column.type
    if isinstance(kind, Money):
        return lambda v: None if v is None else int(to_money(v) * 100)
    if isinstance(kind, sa.JSON) or "JSON" in type(kind).__name__.upper():
        return lambda v: None if v is None else Jsonb(v, dumps=canonical_json)
    if isinstance(kind, sa.Enum):
        return lambda v: None if v is None else getattr(v, "value", v)
    return lambda v: v


# --- the build -----------------------------------------------------------------------------------------------


class Builder:
    def __init__(self, sizes: dict[str, int], seed: int = 2026) -> None:
        from grants.core.db import db

        self.sizes = sizes
        self.rng = random.Random(seed)
        self.session = db.session
        self.w = Writer(db.session)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.apps: list[App] = []
        self.timings: list[tuple[str, float]] = []

    def step(self, name: str, function, *args) -> Any:
        started = time.perf_counter()
        result = function(*args)
        self.session.commit()
        took = time.perf_counter() - started
        self.timings.append((name, took))
        print(f"  {name}: {took:.1f} s", flush=True)
        return result

    def build(self) -> None:
        self.step("users, roles, organisations, memberships", self._users)
        self.step("programmes, calls, call versions, evaluator pools", self._calls)
        self.step("initiatives and applications", self._applications)
        self.step("submissions", self._submissions)
        self.step("eligibility results (the rule engine over the facts)", self._eligibility)
        self.step("assignments, reviews, evaluation results", self._evaluations)
        self.step("decisions", self._decisions)
        self.step("agreements, files, report dues, reports, payments, de minimis aid", self._grants)
        self.step("audit events", self._audit)
        self.w.fix_sequences()
        self.session.commit()

    # --- users --------------------------------------------------------------------------------------------

    def _users(self) -> None:
        from grants.core.roles import RoleCode
        from grants.core.security import hash_password
        from grants.organisations.models import MemberRole, Membership, Organisation
        from grants.users.models import Role, User, user_roles

        rng, total = self.rng, self.sizes["users"]
        password_hash = hash_password(BENCH_PASSWORD)  # once: argon2 is slow on purpose
        roles = dict(self.session.execute(sa.select(Role.code, Role.id)).all())
        n_evaluators = max(4, int(total * EVALUATOR_SHARE))
        n_staff = sum(STAFF.values())
        n_applicants = max(2, total - n_staff - n_evaluators)
        people: list[tuple[str, str]] = [(role, f"{role}{i}@bench.lv") for role, n in STAFF.items()
                                         for i in range(1, n + 1)]
        people += [("evaluator", f"evaluator{i}@bench.lv") for i in range(1, n_evaluators + 1)]
        people += [("applicant", f"applicant{i}@bench.lv") for i in range(1, n_applicants + 1)]
        ids = self.w.ids(User, len(people))
        created = self.now - timedelta(days=1200)
        self.users: dict[str, list[int]] = {}
        self.emails: dict[int, str] = {}
        rows = []
        for user_id, (role, email) in zip(ids, people, strict=True):
            self.users.setdefault(role, []).append(user_id)
            self.emails[user_id] = email
            rows.append({"id": user_id, "email": email, "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                         "password_hash": password_hash, "is_active_account": True, "locale": "lv",
                         "failed_logins": 0, "created_at": created + timedelta(minutes=user_id)})
        self.w.insert(User, rows)
        self.session.execute(user_roles.insert(), [{"user_id": u, "role_id": roles[RoleCode(role)]}
                                                   for role, users in self.users.items() for u in users])
        # an organisation for about every three applications (a few per applicant, who owns them: a
        # consultant's), numbers unique in the register; applicant1 owns the first, like everyone
        applicants = self.users["applicant"]
        n_orgs = max(len(applicants), self.sizes["applications"] // 3)
        owners = [applicants[i % len(applicants)] for i in range(n_orgs)]
        org_ids = self.w.ids(Organisation, n_orgs)
        legal_forms = ("association", "foundation", "social_enterprise", "religious_organisation")
        regions = ("riga", "vidzeme", "kurzeme", "zemgale", "latgale")
        self.orgs: list[dict[str, Any]] = []
        for i, (org_id, owner) in enumerate(zip(org_ids, owners, strict=True)):
            self.orgs.append({
                "id": org_id, "name": f"Biedrība \"{rng.choice(TITLES)} {rng.choice(PLACES)}\" {i + 1}",
                "registration_number": f"4000{8_000_000 + i:07d}", "legal_form": rng.choice(legal_forms),
                "region": regions[i % len(regions)], "country": "LV", "address": f"Brīvības iela {i % 200 + 1}",
                "contact_email": self.emails[owner], "contact_phone": "", "website": "",
                "created_at": created + timedelta(minutes=owner)})
        self.w.insert(Organisation, self.orgs)
        self.org_owner = dict(zip(org_ids, owners, strict=True))
        self.w.insert(Membership, ({"id": m, "user_id": owner, "organisation_id": org, "role": MemberRole.OWNER,
                                    "created_at": created + timedelta(minutes=owner)}
                                   for m, (org, owner) in zip(self.w.ids(Membership, len(org_ids)),
                                                              self.org_owner.items(), strict=True)))

    # --- calls --------------------------------------------------------------------------------------------

    def _calls(self) -> None:
        from grants.calls.models import Call, CallStage, CallStatus, Programme
        from grants.calls.services import _freeze
        from grants.core.codes import FundSource
        from grants.eligibility.presets import demo_ruleset
        from grants.eligibility.rules import validate_ruleset
        from grants.evaluations.models import PoolMember
        from grants.evaluations.rubrics import default_rubric, validate_rubric
        from grants.forms.templates import default_form
        from grants.users.models import User
        from grants.workflows.engine import newest_version

        n_apps = self.sizes["applications"]
        n_reviewed = sum(share * n_apps * _reviewed_share(phase) for _code, share, phase, _days in CALLS)
        # evaluators per application so that the reviews add up to about the number asked for
        # (a discrepancy brings in one more: about one application in six)
        per_app = self.sizes["reviews"] / max(1.0, n_reviewed)
        self.required = max(1, min(5, round(per_app - 0.17)))
        self.third_share = min(0.9, max(0.0, per_app - self.required))
        officer = self.session.get(User, self.users["officer"][0])
        self.workflow_version = newest_version("application")
        programmes = [Programme(code=f"BENCH-P{year}", title_lv=f"Sociālās inovācijas programma {year}",
                                title_en=f"Social innovation programme {year}", fund_source=FundSource.ESF_PLUS,
                                budget=Decimal("500000000.00"), currency="EUR", starts_on=date(year, 1, 1),
                                ends_on=date(year + 4, 12, 31)) for year in (self.now.year - 3, self.now.year - 1)]
        self.session.add_all(programmes)
        form, rules = default_form(), validate_ruleset(demo_ruleset())
        self.rule_codes = [rule["code"] for rule in rules]
        rubric = default_rubric()
        rubric["evaluators_required"] = self.required
        rubric = validate_rubric(rubric, stage_codes=[code for code, *_rest in STAGES])
        self.rubric = rubric
        self.calls: list[dict[str, Any]] = []
        for index, (code, share, phase, closes_in) in enumerate(CALLS):
            closes = self.now.replace(hour=21, minute=0, second=0) + timedelta(days=closes_in)
            opens = closes - timedelta(days=60)
            n = max(1, round(share * n_apps)) if index < len(CALLS) - 1 else 0
            budget = Decimal(n) * Decimal("12000.00") / 3
            call = Call(programme=programmes[0 if index < 4 else 1], code=code,
                        title_lv=f"Sociālās inovācijas konkurss {index + 1}",
                        title_en=f"Social innovation call {index + 1}",
                        description_lv="Atbalsts sociālajām inovācijām ideju, pilotu un mērogošanas posmā.",
                        description_en="Support for social innovations at the idea, pilot and scaling stages.",
                        opens_at=opens, closes_at=closes, budget=Decimal(0), status=CallStatus.PUBLISHED,
                        workflow_name="application", workflow_version=self.workflow_version, version=1, form=form,
                        eligibility_rules=rules, rubric=rubric, published_at=opens - timedelta(days=5))
            envelopes = [(budget * weight / 10).quantize(Decimal("0.01")) + Decimal("200000.00")
                         for *_rest, weight in STAGES]
            call.stages = [CallStage(si_stage=stage, position=p, envelope=envelope, min_grant=Decimal(low),
                                     max_grant=Decimal(high))
                           for p, ((stage, low, high, _w), envelope) in enumerate(zip(STAGES, envelopes, strict=True))]
            call.budget = sum(envelopes, Decimal(0))
            self.session.add(call)
            self.session.flush()
            _freeze(call, officer, 1)
            self.calls.append({"id": call.id, "code": code, "phase": phase, "n": n, "opens": opens,
                               "closes": closes, "programme": call.programme_id,
                               "programme_code": call.programme.code, "programme_title": call.programme.title_lv,
                               "published": opens - timedelta(days=5), "content_hash": call.content_hash})
        # the open call takes the applications the others left
        self.calls[-1]["n"] = n_apps - sum(c["n"] for c in self.calls[:-1])
        self.session.flush()
        evaluators = self.users["evaluator"]
        self.w.insert(PoolMember, ({"id": pid, "call_id": call["id"], "user_id": user, "added_by_id": officer.id,
                                    "created_at": call["closes"]}
                                   for pid, (call, user) in zip(
                                       self.w.ids(PoolMember, len(self.calls) * len(evaluators)),
                                       itertools.product(self.calls, evaluators), strict=True)))

    # --- applications -------------------------------------------------------------------------------------

    def _applications(self) -> None:
        from grants.applications.models import Application
        from grants.demo import sample_answers
        from grants.forms.templates import default_form
        from grants.initiatives.models import Initiative

        rng = self.rng
        orgs = self.orgs
        form = default_form()
        n_apps = self.sizes["applications"]
        app_ids = self.w.ids(Application, n_apps)
        # about two applications per initiative, each organisation's initiatives its own
        n_initiatives = max(1, n_apps // 2)
        initiative_ids = self.w.ids(Initiative, n_initiatives)
        initiative_org = [orgs[i % len(orgs)]["id"] for i in range(n_initiatives)]
        self.initiative_rows = []
        for i, (initiative_id, org_id) in enumerate(zip(initiative_ids, initiative_org, strict=True)):
            self.initiative_rows.append({
                "id": initiative_id, "organisation_id": org_id, "title": f"{TITLES[i % len(TITLES)]} {i + 1}",
                "description": "Iniciatīva, kas risina kopienas problēmu kopā ar mērķgrupu.",
                "stage_model": "open_book", "current_stage": "idea_generation", "workflow_name": "initiative",
                "workflow_version": 1, "version": 1, "theme": THEMES[i % len(THEMES)],
                "target_groups": sorted({GROUPS[i % len(GROUPS)], GROUPS[(i * 7) % len(GROUPS)]}),
                "region": orgs[i % len(orgs)]["region"], "created_at": self.now - timedelta(days=1150)})
            self.initiative_rows[-1].update(_initiative_search(self.initiative_rows[-1], self._org(org_id)["name"]))
        self.w.insert(Initiative, self.initiative_rows)
        initiative_titles = {row["id"]: row["title"] for row in self.initiative_rows}
        self.answers_template = sample_answers(form, "{text}", "1.00")
        stage_weights = [w for *_rest, w in STAGES]
        position = 0

        def rows() -> Iterator[dict[str, Any]]:
            nonlocal position
            for c, call in enumerate(self.calls):
                states = STATES[call["phase"]]
                for k in range(call["n"]):
                    initiative = position % n_initiatives
                    org_id = initiative_org[initiative]
                    stage_index = rng.choices(range(len(STAGES)), stage_weights)[0]
                    stage, low, high, _w = STAGES[stage_index]
                    amount = Decimal(rng.randint(int(Decimal(low)), int(Decimal(high))))
                    state = rng.choices(list(states), list(states.values()))[0]
                    title = f"{TITLES[position % len(TITLES)]} {rng.choice(PLACES)} {position + 1}"
                    app = App(id=app_ids[position], call=c, org=org_id, initiative=initiative_ids[initiative],
                              creator=self.org_owner[org_id], stage=stage, amount=amount,
                              months=rng.randint(6, 24), title=title, state=state)
                    if state in REVIEWED and rng.random() < 0.04:
                        app.rounds = 2  # a clarification was asked for and answered
                    self.apps.append(app)
                    position += 1
                    created = self._time(call, "create", k)
                    yield {"id": app.id, "call_id": call["id"], "organisation_id": org_id,
                           "initiative_id": app.initiative, "created_by_id": app.creator, "si_stage": stage,
                           "award_stage": stage, "proven_stages": [], "title": title,
                           "summary": _summary(title), "requested_amount": amount, "duration_months": app.months,
                           "answers": self._answers(app), "state": state,
                           "appealed_from": None, "workflow_name": "application",
                           "workflow_version": self.workflow_version, "version": self._app_version(app),
                           "created_at": created, "updated_at": self._last_change(call, app, k),
                           **_application_search(title, self._org(org_id)["name"],
                                                 initiative_titles[app.initiative])}

        self.w.insert(Application, rows())

    def _answers(self, app: App) -> dict[str, Any]:
        """The demo's answers to the default form, this application's text and amount in them."""
        text = _summary(app.title)
        amount = f"{app.amount:.2f}"
        co = f"{(app.amount / 10).quantize(Decimal('0.01')):.2f}"

        def fill(value):
            if isinstance(value, str):
                if value == "1.00":
                    return amount
                if value == "0.10":
                    return co
                return value.replace("{text}", text)
            if isinstance(value, list):
                return [fill(v) for v in value]
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            return value

        return fill(self.answers_template)

    @staticmethod
    def _app_version(app: App) -> int:
        """The optimistic lock's count: one per UPDATE the services made (the state changes)."""
        return 1 + len(_path(app))

    # --- the timeline --------------------------------------------------------------------------------------

    def _time(self, call: dict[str, Any], phase: str, k: int) -> datetime:
        """When the ``k``-th application of ``call`` reached ``phase``: the applications of a call pass each
        phase in id order, spread over the phase's window (so every phase's events come in time order)."""
        start, length = PHASES[phase]
        base = call["opens"] if phase in ("create", "submit", "withdraw") else call["closes"]
        spread = length / max(1, call["n"])
        # nothing happens in the future: the newest calls' later phases are still going on
        return min(base + timedelta(days=start) + timedelta(days=spread * k), self.now - timedelta(minutes=5))

    def _last_change(self, call: dict[str, Any], app: App, k: int) -> datetime:
        steps = _path(app)
        return self._time(call, PHASE_OF[steps[-1][0]], k) if steps else self._time(call, "create", k)

    # --- submissions --------------------------------------------------------------------------------------

    def _submissions(self) -> None:
        from grants.applications.models import Submission
        from grants.core.db import content_hash

        orgs = {o["id"]: o for o in self.orgs}
        initiatives = {row["id"]: row["title"] for row in self.initiative_rows}
        profile = ("name", "registration_number", "legal_form", "region", "country", "address", "contact_email",
                   "contact_phone", "website")
        submitted = [a for a in self.apps if a.state not in ("draft",) and not _never_submitted(a)]
        ids = iter(self.w.ids(Submission, sum(a.rounds for a in submitted)))
        positions = self._positions()

        def rows() -> Iterator[dict[str, Any]]:
            for app in submitted:
                call = self.calls[app.call]
                data = {
                    "application": {"id": app.id, "call_id": call["id"], "call_version": 1, "si_stage": app.stage,
                                    "title": app.title, "summary": _summary(app.title),
                                    "requested_amount": f"{app.amount:.2f}", "duration_months": app.months,
                                    "answers": self._answers(app)},
                    "organisation": {"id": app.org, **{f: orgs[app.org][f] for f in profile}},
                    "initiative": {"id": app.initiative, "title": initiatives[app.initiative]},
                    "attachments": [],
                }
                digest = content_hash(data)
                for round_ in range(1, app.rounds + 1):
                    submission_id = next(ids)
                    app.submission_ids.append(submission_id)
                    app.content_hashes.append(digest)
                    phase = "submit" if round_ == 1 else "resubmit"
                    yield {"id": submission_id, "application_id": app.id, "round": round_,
                           "trigger": "submit" if round_ == 1 else "resubmit",
                           "submitted_at": self._time(call, phase, positions[app.id]),
                           "submitted_by_id": app.creator, "snapshot": data, "content_hash": digest,
                           "created_at": self._time(call, phase, positions[app.id])}

        self.w.insert(Submission, rows())

    def _positions(self) -> dict[int, int]:
        """Each application's place within its call (its turn in every phase)."""
        if not hasattr(self, "_position_cache"):
            seen: dict[int, int] = {}
            self._position_cache = {}
            for app in self.apps:
                self._position_cache[app.id] = seen.get(app.call, 0)
                seen[app.call] = seen.get(app.call, 0) + 1
        return self._position_cache

    # --- eligibility --------------------------------------------------------------------------------------

    def _eligibility(self) -> None:
        """The call's ruleset run by the service (``evaluate``: the facts loaded in bulk, as at a submit),
        stored as ``record_results`` stores it; manual rules of applications past the review decided by an
        officer (``decide``), as declaring eligible requires."""
        from grants.applications.models import Application
        from grants.eligibility.models import EligibilityResult, Outcome
        from grants.eligibility.services import evaluate

        submitted = [a for a in self.apps if a.submission_ids]
        by_id = {a.id: a for a in submitted}
        officer = self.users["officer"]
        positions = self._positions()
        batch = 2_000

        def rows() -> Iterator[dict[str, Any]]:
            result_ids = iter(())
            for start in range(0, len(submitted), batch):
                chunk = submitted[start:start + batch]
                self.session.expunge_all()
                loaded = list(self.session.scalars(sa.select(Application).where(
                    Application.id.in_([a.id for a in chunk]))).unique())
                outcomes = evaluate(loaded)
                total = sum(len(outcomes[a.id]) * a.rounds for a in chunk)
                result_ids = iter(self.w.ids(EligibilityResult, total))
                for app_id, found in outcomes.items():
                    app = by_id[app_id]
                    call = self.calls[app.call]
                    app.outcomes = "".join(o.outcome.value[0] for o in found)
                    past_review = app.state not in ("eligibility_review", "clarification_requested", "withdrawn")
                    for round_ in range(1, app.rounds + 1):
                        submitted_at = self._time(call, "submit" if round_ == 1 else "resubmit", positions[app_id])
                        for o in found:
                            decided = (round_ == app.rounds and past_review and app.state != "ineligible"
                                       and o.outcome == Outcome.MANUAL)
                            yield {"id": next(result_ids), "application_id": app_id, "round": round_,
                                   "rule_code": o.code, "severity": o.severity, "outcome": o.outcome,
                                   "title_lv": o.title_lv, "title_en": o.title_en, "message_lv": o.message_lv,
                                   "message_en": o.message_en, "inputs": o.inputs,
                                   "decided_outcome": Outcome.PASS if decided else None,
                                   "decided_by_id": officer[app_id % len(officer)] if decided else None,
                                   "decided_at": self._time(call, "eligible", positions[app_id]) if decided else None,
                                   "justification": "Pārbaudīts: dubultā finansējuma nav." if decided else None,
                                   "created_at": submitted_at}
            self.session.expunge_all()

        self.w.insert(EligibilityResult, rows())

    # --- evaluation ---------------------------------------------------------------------------------------

    def _evaluations(self) -> None:
        """Assignments (declared, reviewed), reviews scored per criterion and the results ``consolidate``
        would record (a third evaluator where the totals are discrepant; the two closest averaged)."""
        from grants.evaluations.models import Assignment, EvaluationResult, Review
        from grants.evaluations.rubrics import plain_number, rubric_of, two_places
        from grants.evaluations.services import STANDARD_DECLARATION, discrepant, two_closest

        rng = self.rng
        rubric = rubric_of(self.rubric)
        criteria = [(c.code, Decimal(c.max_points), c.min_points) for c in rubric.criteria]
        statement = str(STANDARD_DECLARATION)
        evaluators = self.users["evaluator"]
        officers = self.users["officer"]
        positions = self._positions()
        reviewed = [a for a in self.apps if a.state in REVIEWED]
        assignments, reviews, results = [], [], []

        def flush() -> None:
            self.w.insert(Assignment, assignments)
            self.w.insert(Review, reviews)
            self.w.insert(EvaluationResult, results)
            assignments.clear()
            reviews.clear()
            results.clear()

        for n, app in enumerate(reviewed):
            call = self.calls[app.call]
            k = positions[app.id]
            quality = Decimal(rng.randint(60, 190)) / 2  # on half points: many ties
            done = app.state != "in_evaluation"
            third = done and rng.random() < self.third_share  # being evaluated: no discrepancy found yet
            n_reviews = self.required + (1 if third else 0)
            totals = []
            for j in range(n_reviews):
                spread = Decimal(rng.randint(-4, 4))
                if third and j == 0:
                    spread = Decimal(-40) if quality > 60 else Decimal(35)
                totals.append(max(Decimal(5), min(Decimal(100), quality + spread)))
            if third and not discrepant(totals[:self.required], rubric.discrepancy_percent):
                totals[0] = Decimal(5) if quality > 40 else Decimal(100)
            if self.required >= 2 and not third and discrepant(totals, rubric.discrepancy_percent):
                totals = [quality] * n_reviews
            picked = rng.sample(evaluators, min(len(evaluators), n_reviews))
            ids = self.w.ids(Assignment, len(picked))
            review_ids = self.w.ids(Review, len(picked))
            finished_reviews = []
            states = (["submitted"] * len(picked) if done else  # declarations pending, scoring, some submitted
                      [rng.choices(("assigned", "accepted", "submitted"), (2, 3, 5))[0] for _ in picked])
            if not done and all(s == "submitted" for s in states):
                states[-1] = "accepted"  # all in: consolidate would have completed the evaluation
            for j, (assignment_id, review_id, evaluator, total) in enumerate(
                    zip(ids, review_ids, picked, totals, strict=False)):
                state = states[j]
                reason = "third" if j == self.required else "auto"
                assigned_at = self._time(call, "assign" if reason == "auto" else "third", k)
                declared = state != "assigned"
                assignments.append({
                    "id": assignment_id, "application_id": app.id, "call_id": call["id"], "evaluator_id": evaluator,
                    "submission_id": app.submission_ids[-1], "content_hash": app.content_hashes[-1],
                    "due_at": assigned_at + timedelta(days=rubric.review_days),
                    "assigned_by_id": officers[0] if reason == "auto" else None, "reason": reason, "gate_stage": "",
                    "replaces_id": None, "has_conflict": False if declared else None,
                    "statement": statement if declared else "",
                    "declared_at": self._time(call, "declare", k) if declared else None, "state": state,
                    "workflow_name": "assignment", "workflow_version": 1,
                    "version": {"assigned": 1, "accepted": 2, "submitted": 3}[state],
                    "created_at": assigned_at, "updated_at": assigned_at})
                scored = state == "submitted" or (state == "accepted" and rng.random() < 0.5)
                if scored:
                    scores = _scores(total, criteria)
                    total = two_places(sum((Decimal(str(v)) for v in scores.values()), Decimal(0)))
                    reviews.append({
                        "id": review_id, "assignment_id": assignment_id, "application_id": app.id,
                        "scores": scores, "comments": {code: "Pamatots vērtējums." for code, *_r in criteria[:2]},
                        "summary": "Kopumā labi sagatavots pieteikums.", "total": total,
                        "content_hash": app.content_hashes[-1] if state == "submitted" else None,
                        "submitted_at": self._time(call, "review", k) if state == "submitted" else None,
                        "version": 1, "created_at": self._time(call, "review", k),
                        "updated_at": self._time(call, "review", k)})
                    if state == "submitted":
                        finished_reviews.append(_ReviewRow(review_id, total, scores))
                app.assignments.append((assignment_id, evaluator, state, review_id if scored else None,
                                        total if scored else None, reason))
            if done:
                used = two_closest(finished_reviews) if len(finished_reviews) > self.required else finished_reviews
                final = two_places(sum((r.total for r in used), Decimal(0)) / len(used))
                averaged = {code: plain_number(two_places(sum((Decimal(str(r.scores[code])) for r in used),
                                                               Decimal(0)) / len(used)))
                            for code, *_r in criteria}
                failed = [code for code, _max, minimum in criteria
                          if minimum is not None and Decimal(str(averaged[code])) < minimum]
                app.score = final
                app.discrepancy = len(finished_reviews) > self.required
                results.append({
                    "application_id": app.id, "call_id": call["id"], "gate_stage": "", "final_score": final,
                    "criteria": averaged, "above_threshold": final >= rubric.threshold and not failed,
                    "failed_minima": failed, "discrepancy": app.discrepancy, "needs_third": False,
                    "review_ids": sorted(r.id for r in used), "reviews_count": len(finished_reviews),
                    "consolidated_at": self._time(call, "consolidate", k),
                    "created_at": self._time(call, "consolidate", k), "updated_at": self._time(call, "consolidate", k)})
            if n % 2_000 == 1_999:
                flush()
        flush()

    # --- decisions ----------------------------------------------------------------------------------------

    def _decisions(self) -> None:
        from grants.decisions.models import Decision, Outcome

        committee = self.users["committee"]
        positions = self._positions()
        decided = [a for a in self.apps if a.state in DECIDED]
        # the ranking recommended by score within the call
        ranks: dict[int, int] = {}
        for c in range(len(self.calls)):
            scored = sorted((a for a in self.apps if a.call == c and a.score is not None),
                            key=lambda a: (-a.score, a.id))
            ranks.update({a.id: r for r, a in enumerate(scored, start=1)})
        rows = []
        for app, decision_id in zip(decided, self.w.ids(Decision, len(decided)), strict=True):
            call = self.calls[app.call]
            outcome = Outcome.APPROVED if app.state in AWARDED else Outcome(app.state)
            rows.append({"id": decision_id, "application_id": app.id, "outcome": outcome,
                         "amount": app.amount if outcome == Outcome.APPROVED else None,
                         "conditions": "", "justification": "Komisijas lēmums atbilstoši rangam.",
                         "decided_on": self._time(call, "decide", positions[app.id]).date(),
                         "decided_by_id": committee[app.id % len(committee)], "recommended": outcome.value,
                         "rank": ranks.get(app.id), "final_score": app.score, "departs_from_ranking": False,
                         "created_at": self._time(call, "decide", positions[app.id])})
        self.w.insert(Decision, rows)

    # --- grants after award --------------------------------------------------------------------------------

    def _grants(self) -> None:
        """Agreements (numbered per programme, the signed scan's record), report dues, payments (the advance
        paid once implementation started), progress reports submitted, and the de minimis register row."""
        from grants.eligibility.models import AidSource, DeMinimisAid
        from grants.grants_mgmt.models import GrantAgreement, GrantFile, GrantReport, Payment, ReportDue

        signed = [a for a in self.apps if a.state in SIGNED]
        officers, finance = self.users["officer"], self.users["finance"]
        positions = self._positions()
        sequences: dict[int, int] = {}
        agreements, files, dues, payments, reports, aid = [], [], [], [], [], []
        file_ids = iter(self.w.ids(GrantFile, len(signed)))
        for app, agreement_id in zip(signed, self.w.ids(GrantAgreement, len(signed)), strict=True):
            call = self.calls[app.call]
            k = positions[app.id]
            contracted = self._time(call, "contract", k)
            start = contracted.date()
            end = start + timedelta(days=30 * app.months)
            programme = call["programme"]
            sequences[programme] = sequences.get(programme, 0) + 1
            file_id = next(file_ids)
            officer = officers[app.id % len(officers)]
            files.append({"id": file_id, "application_id": app.id, "purpose": "agreement", "report_id": None,
                          "filename": "ligums-parakstits.pdf", "content_type": "application/pdf", "size": 1024,
                          "sha256": uuid.uuid5(uuid.NAMESPACE_URL, f"agreement-{app.id}").hex * 2,
                          "storage_key": f"bench-{uuid.uuid4().hex}", "uploaded_by_id": officer,
                          "created_at": contracted})
            advance = (app.amount * Decimal("0.5")).quantize(Decimal("0.01"))
            agreements.append({
                "id": agreement_id, "application_id": app.id, "programme_id": programme,
                "sequence": sequences[programme], "number": f"{call['programme_code']}-L-{sequences[programme]:04d}",
                "start_date": start, "end_date": end, "awarded_amount": app.amount,
                "co_financing_rate": Decimal("10.00"), "conditions": "",
                "tranches": [{"si_stage": app.stage, "amount": f"{app.amount:.2f}"}], "indicator_targets": {},
                "signed_file_id": file_id, "signed_at": contracted, "created_by_id": officer, "version": 2,
                "created_at": contracted, "updated_at": contracted})
            implementing = app.state == "in_implementation"
            progress_end = start + timedelta(days=180)
            dues.append({"application_id": app.id, "kind": "progress", "si_stage": app.stage,
                         "period_end": progress_end, "due_on": progress_end + timedelta(days=21)})
            dues.append({"application_id": app.id, "kind": "final", "si_stage": app.stage, "period_end": end,
                         "due_on": end + timedelta(days=30)})
            paid = implementing
            payments.append({
                "application_id": app.id, "kind": "advance", "si_stage": app.stage, "amount": advance,
                "due_on": start, "state": "paid" if paid else "planned", "workflow_name": "payment",
                "workflow_version": 1, "version": 4 if paid else 1, "created_by_id": officer,
                "requested_by_id": officer if paid else None, "requested_at": contracted if paid else None,
                "verified_by_id": finance[0] if paid else None, "verified_at": contracted if paid else None,
                "paid_by_id": finance[1 % len(finance)] if paid else None, "paid_at": contracted if paid else None,
                "paid_on": start if paid else None, "reference": f"MU-{app.id}" if paid else "",
                "created_at": contracted, "updated_at": contracted})
            rest = app.amount - advance
            interim_state = ("requested" if implementing and app.id % 3 == 0 else "planned")
            payments.append({
                "application_id": app.id, "kind": "final", "si_stage": app.stage, "amount": rest,
                "due_on": end + timedelta(days=45), "state": interim_state, "workflow_name": "payment",
                "workflow_version": 1, "version": 2 if interim_state == "requested" else 1,
                "created_by_id": officer, "requested_by_id": officer if interim_state == "requested" else None,
                "requested_at": contracted if interim_state == "requested" else None,
                "created_at": contracted, "updated_at": contracted})
            aid.append({"registration_number": self._registration(app.org), "undertaking": self._org_name(app.org),
                        "amount": app.amount, "granted_on": start, "granting_authority": call["programme_title"],
                        "source": AidSource.AWARD, "application_id": app.id, "reference": call["code"],
                        "created_at": contracted})
        due_ids = self.w.ids(ReportDue, len(dues))
        for due, due_id in zip(dues, due_ids, strict=True):
            due["id"] = due_id
        self.w.insert(GrantFile, files)
        self.w.insert(GrantAgreement, agreements)
        self.w.insert(ReportDue, dues)
        self.w.insert(Payment, ({"id": i, **p} for i, p in zip(self.w.ids(Payment, len(payments)), payments,
                                                                strict=True)))
        # progress reports: submitted (waiting for an officer) for implementations whose period ended
        today = self.now.date()
        report_rows = []
        for due in dues:
            if due["kind"] != "progress" or due["period_end"] > today:
                continue
            report_rows.append(due)
        report_ids = self.w.ids(GrantReport, len(report_rows))
        for due, report_id in zip(report_rows, report_ids, strict=True):
            submitted_at = datetime.combine(due["period_end"], datetime.min.time(), UTC) + timedelta(days=7)
            reports.append({
                "id": report_id, "application_id": due["application_id"], "due_id": due["id"],
                "narrative": "Aizvadītas plānotās aktivitātes; mērķgrupa iesaistīta.",
                "indicators": {}, "expenditure": [{"category": "staff", "amount": "1500.00", "co_financing": "150.00"}],
                "state": "submitted", "workflow_name": "grant_report", "workflow_version": 1, "version": 2,
                "created_by_id": self.org_owner[self._app(due["application_id"]).org], "submitted_at": submitted_at,
                "content_hash": uuid.uuid5(uuid.NAMESPACE_URL, f"report-{report_id}").hex * 2,
                "created_at": submitted_at, "updated_at": submitted_at})
        self.w.insert(GrantReport, reports)
        self.w.insert(DeMinimisAid, ({"id": i, **a} for i, a in zip(self.w.ids(DeMinimisAid, len(aid)), aid,
                                                                     strict=True)))
        self.reports = {r["application_id"]: r for r in reports}

    def _registration(self, org_id: int) -> str:
        return self._org(org_id)["registration_number"]

    def _org_name(self, org_id: int) -> str:
        return self._org(org_id)["name"]

    def _org(self, org_id: int) -> dict[str, Any]:
        if not hasattr(self, "_org_index"):
            self._org_index = {o["id"]: o for o in self.orgs}
        return self._org_index[org_id]

    def _app(self, app_id: int) -> App:
        if not hasattr(self, "_app_index"):
            self._app_index = {a.id: a for a in self.apps}
        return self._app_index[app_id]

    # --- the audit chain ------------------------------------------------------------------------------------

    def _audit(self) -> None:
        """The events the services would have written, in time order, hashed into one chain, then the head
        moved once to the last event (the trigger allows only that)."""
        from grants.audit.models import GENESIS_HASH, AuditEvent, AuditHead
        from grants.audit.services import compute_hash

        head = self.session.execute(sa.select(AuditHead.hash, AuditHead.event_id)).first()
        prev = head.hash if head else GENESIS_HASH
        domain = sum(1 for _ in self._domain_events())
        padding = self.sizes["events"] - domain
        if padding < 0:
            print(f"  note: the story of these applications takes {domain} events, more than the {self.sizes['events']}"
                  " asked for; all of them are written", flush=True)
            padding = 0
        ids = iter(self.w.ids(AuditEvent, domain + padding))
        last_id = None

        def rows() -> Iterator[dict[str, Any]]:
            nonlocal prev, last_id
            stream = heapq.merge(self._domain_events(), self._sign_ins(padding), key=lambda e: e[0])
            for occurred_at, actor, role, action, object_type, object_id, payload, comment in stream:
                request_id = None if actor is None else uuid.UUID(int=self.rng.getrandbits(128)).hex
                label = "system" if actor is None else self.emails[actor]
                digest = compute_hash(occurred_at=occurred_at, actor_label=label, role=role, action=action,
                                      object_type=object_type, object_id=str(object_id), payload=payload,
                                      comment=comment, request_id=request_id, prev_hash=prev)
                last_id = next(ids)
                yield {"id": last_id, "occurred_at": occurred_at, "actor_id": actor, "actor_label": label,
                       "role": role, "action": action, "object_type": object_type, "object_id": str(object_id),
                       "payload": payload, "comment": comment, "request_id": request_id, "prev_hash": prev,
                       "hash": digest}
                prev = digest

        self.w.insert(AuditEvent, rows())
        if last_id is not None:
            self.session.execute(sa.update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)
                                 .values(hash=prev, event_id=last_id))

    def _sign_ins(self, n: int) -> Iterator[tuple]:
        """Sign-ins spread over the whole time line (the padding up to the number of events asked for)."""
        if n <= 0:
            return
        start = self.calls[0]["published"] - timedelta(days=10)
        span = (self.now - timedelta(hours=1) - start).total_seconds()
        people = [u for role in self.users.values() for u in role]
        rng = random.Random(7)
        for i in range(n):
            user = people[rng.randrange(len(people))]
            yield (start + timedelta(seconds=span * i / n), user, None, "user.login", "user", user, {}, None)

    def _domain_events(self) -> Iterator[tuple]:
        """Every call's story, merged in time order: (occurred_at, actor id or None, role, action, object type,
        object id, payload, comment)."""
        return heapq.merge(*(self._call_events(c) for c in range(len(self.calls))), key=lambda e: e[0])

    def _call_events(self, c: int) -> Iterator[tuple]:
        call = self.calls[c]
        apps = [a for a in self.apps if a.call == c]
        officer = self.users["officer"][c % len(self.users["officer"])]
        publish = (call["published"], officer, "officer", "call.publish", "call", call["id"],
                   {"version": 1, "content_hash": call["content_hash"]}, None)
        phases = [self._phase_events(call, apps, phase) for phase in PHASES]
        return heapq.merge(iter([publish]), *phases, key=lambda e: e[0])

    def _phase_events(self, call: dict[str, Any], apps: list[App], phase: str) -> Iterator[tuple]:
        """One phase of a call, application by application (in time order within the phase)."""
        workflow = f"application_v{self.workflow_version}"
        officers, committee = self.users["officer"], self.users["committee"]
        for k, app in enumerate(apps):
            when = self._time(call, phase, k)
            officer = officers[app.id % len(officers)]
            if phase == "create":
                yield (when, app.creator, "applicant", "application.create", "application", app.id,
                       {"after": {"call_id": call["id"], "organisation_id": app.org,
                                  "initiative_id": app.initiative, "si_stage": app.stage, "title": app.title,
                                  "summary": _summary(app.title), "requested_amount": f"{app.amount:.2f}",
                                  "duration_months": app.months}}, None)
                continue
            for trigger, source, dest in _path(app):
                if PHASE_OF.get(trigger) != phase:
                    continue
                tick = when
                actor, role, comment, extra = self._actor(app, trigger, officer, committee)
                if trigger in ("submit", "resubmit"):
                    round_ = 1 if trigger == "submit" else 2
                    extra = {"submission_round": round_, "content_hash": app.content_hashes[round_ - 1],
                             "eligibility": dict(zip(self.rule_codes, (OUTCOME_NAMES[o] for o in app.outcomes),
                                                     strict=False))}
                if trigger == "declare_eligible":
                    for i, code in enumerate(self.rule_codes):
                        if i < len(app.outcomes) and app.outcomes[i] == "m":
                            yield (tick, officer, "officer", "eligibility.decide", "application", app.id,
                                   {"rule": code, "round": app.rounds, "computed": "manual", "before": None,
                                    "decided": "pass"}, "Pārbaudīts: dubultā finansējuma nav.")
                            tick += timedelta(microseconds=10)
                if trigger == "complete_evaluation":
                    extra = {"final_score": f"{app.score:.2f}", "above_threshold": app.score >= 60,
                             "failed_minima": [], "reviews": len(app.assignments),
                             "third_evaluation": app.discrepancy}
                yield (tick + timedelta(microseconds=20), actor, role, f"application.{trigger}", "application",
                       app.id, {"from": source, "to": dest, "trigger": trigger, "workflow": workflow, **extra},
                       comment)
            if phase in ("assign", "third", "declare", "review"):
                yield from self._assignment_events(app, phase, when, officer)

    def _assignment_events(self, app: App, phase: str, when: datetime, officer: int) -> Iterator[tuple]:
        for n, (assignment_id, evaluator, state, review_id, total, reason) in enumerate(app.assignments):
            tick = when + timedelta(milliseconds=n)
            if (phase == "assign" and reason == "auto") or (phase == "third" and reason == "third"):
                if reason == "third":
                    yield (tick, None, "system", "application.discrepancy", "application", app.id,
                           {"percent": 30, "third_assignment": assignment_id}, None)
                yield (tick + timedelta(microseconds=5), officer if reason == "auto" else None,
                       "officer" if reason == "auto" else "system", "assignment.create", "assignment",
                       assignment_id, {"application_id": app.id, "evaluator_id": evaluator, "reason": reason,
                                       "content_hash": app.content_hashes[-1], "replaces": None}, None)
            elif phase == "declare" and state != "assigned":
                yield (tick, evaluator, "evaluator", "assignment.declare_no_conflict", "assignment", assignment_id,
                       {"from": "assigned", "to": "accepted", "trigger": "declare_no_conflict",
                        "workflow": "assignment_v1", "has_conflict": False}, None)
            elif phase == "review" and review_id is not None:
                yield (tick, evaluator, "evaluator", "review.save", "assignment", assignment_id,
                       {"changes": {"total": [None, f"{total:.2f}"]}, "total": f"{total:.2f}"}, None)
                if state == "submitted":
                    yield (tick + timedelta(microseconds=5), evaluator, "evaluator", "assignment.submit_review",
                           "assignment", assignment_id, {"from": "accepted", "to": "submitted",
                                                         "trigger": "submit_review", "workflow": "assignment_v1"},
                           None)

    def _actor(self, app: App, trigger: str, officer: int, committee: list[int]):
        """Who fires ``trigger`` (user id or None for the system), in which role, with which comment."""
        if trigger in ("submit", "resubmit", "withdraw"):
            return app.creator, "applicant", ("Precizēts budžets." if trigger == "resubmit" else None), {}
        if trigger in ("start_eligibility_review", "complete_evaluation"):
            return None, "system", None, {}
        if trigger in ("approve", "put_on_reserve", "reject"):
            return committee[app.id % len(committee)], "committee", None, {"decided_on": "", "outcome": None}
        comment = {"request_clarification": "Lūdzu, precizējiet budžetu.",
                   "declare_ineligible": "Neatbilst konkursa nosacījumiem."}.get(trigger)
        return officer, "officer", comment, {}


@dataclass
class _ReviewRow:
    id: int
    total: Decimal
    scores: dict[str, Any]


#: Phases of a call's life, in days: (start, length) after the call opens (create, submit) or closes.
PHASES: dict[str, tuple[float, float]] = {
    "create": (0, 40), "submit": (10, 48), "screening": (2, 20), "clarify": (8, 5), "resubmit": (14, 5),
    "eligible": (21, 8), "assign": (30, 2), "declare": (33, 3), "review": (36, 14), "third": (51, 2),
    "consolidate": (56, 4), "decide": (62, 3), "contract": (70, 10), "implement": (82, 10), "withdraw": (5, 40),
}
#: The phase in which each transition happens.
PHASE_OF = {"submit": "submit", "start_eligibility_review": "submit", "request_clarification": "clarify",
            "resubmit": "resubmit", "declare_eligible": "eligible", "declare_ineligible": "eligible",
            "complete_evaluation": "consolidate", "approve": "decide", "put_on_reserve": "decide",
            "reject": "decide", "sign_contract": "contract", "start_implementation": "implement",
            "withdraw": "withdraw"}
OUTCOME_NAMES = {"p": "pass", "f": "fail", "m": "manual"}


def _path(app: App) -> list[tuple[str, str, str]]:
    """The transitions (trigger, from, to) that brought the application to its state, in order."""
    state = app.state
    if state == "draft":
        return []
    if state == "withdrawn":
        return [("withdraw", "draft", "withdrawn")]
    steps = [("submit", "draft", "submitted"), ("start_eligibility_review", "submitted", "eligibility_review")]
    if app.rounds == 2 or state == "clarification_requested":
        steps.append(("request_clarification", "eligibility_review", "clarification_requested"))
        if state == "clarification_requested":
            return steps
        steps.append(("resubmit", "clarification_requested", "eligibility_review"))
    if state == "eligibility_review":
        return steps
    if state == "ineligible":
        return steps + [("declare_ineligible", "eligibility_review", "ineligible")]
    steps.append(("declare_eligible", "eligibility_review", "in_evaluation"))
    if state == "in_evaluation":
        return steps
    steps.append(("complete_evaluation", "in_evaluation", "evaluated"))
    if state == "evaluated":
        return steps
    if state in ("reserve", "rejected"):
        return steps + [({"reserve": "put_on_reserve", "rejected": "reject"}[state], "evaluated", state)]
    steps.append(("approve", "evaluated", "approved"))
    if state == "approved":
        return steps
    steps.append(("sign_contract", "approved", "contracted"))
    if state == "contracted":
        return steps
    return steps + [("start_implementation", "contracted", "in_implementation")]


def _application_search(title: str, organisation_name: str, initiative_title: str) -> dict[str, str]:
    """``applications.search_text`` as the flush hook keeps it (grants.applications.search), where it exists."""
    from grants.applications.models import Application

    if not hasattr(Application, "search_text"):
        return {}
    from grants.applications.search import application_search_text

    return {"search_text": application_search_text(title, organisation_name, initiative_title)}


def _initiative_search(row: dict[str, Any], organisation_name: str) -> dict[str, str]:
    """``initiatives.search_text`` as the flush hook keeps it (grants.initiatives.search), where it exists."""
    from grants.initiatives.models import Initiative

    if not hasattr(Initiative, "search_text"):
        return {}
    from grants.initiatives.search import initiative_search_text

    return {"search_text": initiative_search_text(row["title"], row["description"], organisation_name)}


def _never_submitted(app: App) -> bool:
    return app.state == "withdrawn"  # withdrawn from draft


def _reviewed_share(phase: str) -> float:
    states = STATES[phase]
    return sum(w for s, w in states.items() if s in REVIEWED) / sum(states.values())


def _summary(title: str) -> str:
    return f"{title}: jauns pakalpojums kopā ar mērķgrupu."


def _plain_number(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)


def _scores(total: Decimal, criteria: list[tuple[str, Decimal, Any]]) -> dict[str, Any]:
    """Points per criterion (at most two decimals) adding up to about ``total`` of 100."""
    share = total / 100
    return {code: _plain_number((maximum * share).quantize(Decimal("0.5"))) for code, maximum, _min in criteria}


# --- databases ------------------------------------------------------------------------------------------------


def database_url(kind: str, admin_url: str = PG_ADMIN_URL, name: str = PG_DATABASE,
                 sqlite_path: Path = SQLITE_PATH) -> str:
    if kind == "sqlite":
        return f"sqlite:///{sqlite_path}"
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def recreate(kind: str, admin_url: str = PG_ADMIN_URL, name: str = PG_DATABASE,
             sqlite_path: Path = SQLITE_PATH) -> str:
    """An empty database of that name (dropped first when it exists); its URL."""
    if kind == "sqlite":
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
        return database_url(kind, sqlite_path=sqlite_path)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                                 (name,))
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return database_url(kind, admin_url, name)


def build_dataset(sizes: dict[str, int], *, seed: int = 2026, verify: bool = True) -> dict[str, Any]:
    """Build the dataset on the current app's (migrated, empty) database; returns row counts and timings.
    Runs inside an app context (and a request context: the services' messages are translated)."""
    from flask_babel import force_locale

    from grants.audit.services import verify_chain
    from grants.core.db import db

    started = time.perf_counter()
    builder = Builder(sizes, seed)
    with force_locale("lv"):
        builder.build()
    built = time.perf_counter() - started
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    analysed = time.perf_counter() - started - built
    chain = None
    if verify:
        db.session.remove()
        chain = verify_chain()
        db.session.rollback()
        if not chain.valid:
            raise RuntimeError(f"the bench chain does not verify: {chain}")
    return {"counts": table_counts(), "seconds": built, "analyse_seconds": analysed, "chain": chain,
            "steps": builder.timings, "required_evaluators": builder.required,
            "verify_seconds": time.perf_counter() - started - built - analysed}


def table_counts() -> dict[str, int]:
    from grants.core.db import db

    return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--size", choices=tuple(SIZES), default=os.environ.get("BENCH_SIZE") or "default")
    for key in ("applications", "reviews", "events", "users"):
        parser.add_argument(f"--{key}", type=int, help=f"{key} (default: from --size)")
    parser.add_argument("--admin-url", default=PG_ADMIN_URL, help="PostgreSQL server to create the database on")
    parser.add_argument("--name", default=PG_DATABASE, help="PostgreSQL database name")
    parser.add_argument("--sqlite-path", default=str(SQLITE_PATH))
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if sa.engine.make_url(args.admin_url).host not in (None, "127.0.0.1", "localhost"):
        parser.error("--admin-url must point at the local server")
    sizes = dict(SIZES[args.size])
    for key in sizes:
        if getattr(args, key) is not None:
            sizes[key] = getattr(args, key)
    if sizes["applications"] < 10 or sizes["users"] < 40:
        parser.error("at least 10 applications and 40 users")

    from flask_migrate import upgrade

    from grants import create_app
    from grants.core.db import db

    url = recreate(args.database, args.admin_url, args.name, Path(args.sqlite_path))
    print(f"{args.database}: building {sizes} on {sa.engine.make_url(url).render_as_string()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="grants-bench-") as uploads:
        app = create_app("production", DATABASE_URL=url, UPLOAD_DIR=uploads, SECRET_KEY="bench-only",
                         ARGON2_TIME_COST=3)
        try:
            with app.app_context(), app.test_request_context():
                started = time.perf_counter()
                upgrade()
                print(f"  migrations: {time.perf_counter() - started:.1f} s", flush=True)
                report = build_dataset(sizes, seed=args.seed)
                db.session.remove()
        finally:
            with app.app_context():
                db.engine.dispose()
    chain = report["chain"]
    print(f"{args.database}: built in {report['seconds']:.0f} s, ANALYZE {report['analyse_seconds']:.0f} s; "
          f"verify_chain: {'valid' if chain.valid else 'INVALID'}, {chain.events} events in "
          f"{report['verify_seconds']:.0f} s; {report['required_evaluators']} evaluators per application")
    for table, count in report["counts"].items():
        if count:
            print(f"  {table:32} {count:>10,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
