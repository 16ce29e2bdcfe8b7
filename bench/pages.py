"""Page benchmark: every page and API list staff and applicants use, over HTTP through gunicorn, on the bench
dataset (bench/dataset.py; build it first with ``make bench-data``).

    .venv/bin/python bench/pages.py --database postgres             # grants_bench on the local server
    .venv/bin/python bench/pages.py --database sqlite               # instance/bench.sqlite3
    .venv/bin/python bench/pages.py --database postgres --requests 10 --only ranking

It starts gunicorn as production runs it (``-w 2``, the production configuration, on 127.0.0.1 and a free port)
with ``BENCH_TIMING`` on, so each response carries a ``Server-Timing`` header with the server's own time and the
number of SQL statements (grants.core.timing). Two-step sign-in is switched off (a production requirement the
bench cannot answer) and the sign-in limit raised. It signs in as each role (the HTML form, for pages: the
session cookie; ``POST /api/v1/auth/tokens``, for the API: a bearer token), then requests each row's path N times
in a row (after WARM_UP requests not counted, more until each worker has answered the row: every process keeps
its own answers) and prints: path, role, status, server median and p95 (ms), client
round trip median and p95 (ms), SQL statements, bytes.

Requests are sequential, to 127.0.0.1 only; a row stops early after ROW_SECONDS. The run exits 1 when any row's
server p95 is over the budget (``--budget-ms``, default 150, DESIGN §11) or a row does not answer 200. The GET
routes of the URL map that no row measures are listed at the end (downloads and forms aside), so a new list page
without a row shows.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PG_ADMIN_URL
from bench.dataset import BENCH_PASSWORD, BIG_CALL, PG_DATABASE, SQLITE_PATH, database_url

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
BUDGET_MS = 150.0
REQUESTS = 30
WARM_UP = 3
#: Warm-up requests go on (up to this many) until every worker has answered the row once.
MAX_WARM_UP = 20
#: A row stops after this many seconds, however many requests it made.
ROW_SECONDS = 60.0
REQUEST_TIMEOUT = 60.0
#: The accounts the bench signs in as (bench/dataset.py makes them).
ACCOUNTS = {role: f"{role}1@bench.lv" for role in
            ("officer", "committee", "finance", "auditor", "admin", "evaluator", "applicant")}
#: GET routes no row needs: files, forms to fill in, one-off actions and machine-readable documents.
NOT_PAGES = re.compile(r"(/download|/export|\.json|\.csv|\.<export_format>|/new|/edit|/print|/receipt|/login"
                       r"|/register|/language|/healthz|/two-step|/invitations|/files|/form|/rules|/rubric"
                       r"|/corrigendum|/openapi|/personal-data|/verify$|/static|/overview/$|/headroom|/eligibility/checks)")


@dataclass
class Row:
    role: str
    path: str
    kind: str = "page"  # page (session cookie) or api (bearer token)
    samples: list[tuple[float, float, int, int]] = field(default_factory=list)  # server ms, client ms, sql, bytes
    status: int | None = None
    error: str = ""


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# --- the server -------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url: str, workers: int, log: Path):
    """gunicorn serving ``grants:create_app()`` on the bench database; stopped (its process group) afterwards."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GRANTS_")}
    uploads = tempfile.mkdtemp(prefix="grants-bench-uploads-")
    env.update(GRANTS_CONFIG="production", GRANTS_DATABASE_URL=url, GRANTS_SECRET_KEY="bench-only-not-secret",
               GRANTS_UPLOAD_DIR=uploads, GRANTS_BENCH_TIMING="1", GRANTS_REQUIRE_STAFF_2FA="0",
               GRANTS_SESSION_COOKIE_SECURE="0", GRANTS_REMEMBER_COOKIE_SECURE="0",
               GRANTS_LOGIN_RATE_LIMIT="1000 per minute", GRANTS_PUBLIC_BASE_URL=f"http://{HOST}:{port}")
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"{HOST}:{port}", "--timeout", "120",
             "grants:create_app()"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped at start-up:\n{log.read_text(errors='replace')[-3000:]}")
            try:
                connection = http.client.HTTPConnection(HOST, port, timeout=5)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer within 60 s") from None
                time.sleep(0.2)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# --- a client -------------------------------------------------------------------------------------------


class Client:
    """One keep-alive connection with a session cookie or a bearer token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        self.cookies: dict[str, str] = {}
        self.token: str | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes, float]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except TimeoutError:
            self.connection.close()  # the server is still at it: a new connection for the next request
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
            raise
        except (http.client.HTTPException, OSError):  # a kept-alive connection the server closed: once more
            self.connection.close()
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        took = (time.perf_counter() - started) * 1000
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data, took

    def sign_in(self, email: str) -> None:
        status, _headers, page, _took = self.request("GET", "/login")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or not match:
            raise RuntimeError(f"no sign-in form ({status})")
        body = urlencode({"csrf_token": match.group(1).decode(), "email": email, "password": BENCH_PASSWORD})
        status, headers, _page, _took = self.request(
            "POST", "/login", body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302 or "/login" in headers.get("location", "/login"):
            raise RuntimeError(f"signing in as {email} failed ({status} to {headers.get('location')})")

    def get_token(self, email: str) -> None:
        status, _headers, body, _took = self.request(
            "POST", "/api/v1/auth/tokens", json.dumps({"email": email, "password": BENCH_PASSWORD}).encode(),
            {"Content-Type": "application/json"})
        if status not in (200, 201):
            raise RuntimeError(f"no API token for {email} ({status}: {body[:200]!r})")
        self.token = json.loads(body)["token"]


def worker_of(header: str) -> str:
    """The process that answered, from ``Server-Timing``."""
    found = re.search(r'worker;desc="(\d+)"', header or "")
    return found.group(1) if found else ""


def server_timing(header: str) -> tuple[float, int]:
    """(app ms, SQL statements) from ``Server-Timing``."""
    app = re.search(r"app;dur=([\d.]+)", header or "")
    sql = re.search(r'sql;desc="(\d+)"', header or "")
    return (float(app.group(1)) if app else math.nan), (int(sql.group(1)) if sql else -1)


# --- what is measured ------------------------------------------------------------------------------------


def targets(url: str) -> dict[str, int]:
    """Ids the rows need, read from the bench database."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            one = lambda sql, **params: conn.execute(sa.text(sql), params).scalar()  # noqa: E731
            big = one("SELECT id FROM calls WHERE code = :code", code=BIG_CALL)
            if big is None:
                raise SystemExit(f"no bench dataset at {sa.engine.make_url(url).render_as_string()}: "
                                 "run `make bench-data` first")
            applicant = one("SELECT id FROM users WHERE email = :e", e=ACCOUNTS["applicant"])
            evaluator = one("SELECT id FROM users WHERE email = :e", e=ACCOUNTS["evaluator"])
            return {
                "big_call": big,
                "application": one("SELECT min(id) FROM applications WHERE call_id = :c AND state = 'evaluated'",
                                   c=big),
                "eligibility": one("SELECT max(id) FROM applications WHERE state = 'eligibility_review'"),
                "grant": one("SELECT max(id) FROM applications WHERE state = 'in_implementation'"),
                "approved": one("SELECT max(id) FROM applications WHERE state = 'approved'"),
                "programme": one("SELECT min(id) FROM programmes"),
                "initiative": one("SELECT min(a.initiative_id) FROM applications a "
                                  "WHERE a.state = 'in_implementation'"),
                "report": one("SELECT max(id) FROM grant_reports"),
                "own_application": one("SELECT max(a.id) FROM applications a JOIN memberships m "
                                       "ON m.organisation_id = a.organisation_id WHERE m.user_id = :u", u=applicant),
                "assignment": one("SELECT max(id) FROM assignments WHERE evaluator_id = :u AND state = 'submitted'",
                                  u=evaluator),
                "year": int(str(one("SELECT max(decided_on) FROM decisions") or "2026")[:4]),
                "user": applicant,
            }
    finally:
        engine.dispose()


def rows(t: dict[str, int]) -> list[Row]:
    """Every page and API list a staff user or an applicant uses (the navigation's entries, the lists behind
    them, page 100 of the longest, one of each detail page), with the role that uses it."""
    big, app, elig, grant, prog = t["big_call"], t["application"], t["eligibility"], t["grant"], t["programme"]
    page = [
        ("officer", "/dashboard/"), ("officer", "/applications/"), ("officer", "/applications/?page=100"),
        ("officer", f"/applications/?call_id={big}&state=in_evaluation&sort=title"),
        ("officer", "/applications/?sort=submitted&page=100"),
        ("officer", f"/applications/{app}"), ("committee", f"/applications/{app}/decision"),
        ("officer", "/eligibility/"), ("officer", f"/eligibility/applications/{elig}"),
        ("officer", "/calls/"), ("officer", f"/calls/{big}"), ("officer", f"/calls/{big}/evaluation"),
        ("officer", f"/calls/{big}/assignments"), ("officer", f"/calls/{big}/evaluators"),
        ("officer", f"/calls/{big}/ranking"), ("committee", f"/calls/{big}/ranking"),
        ("officer", "/grants/"), ("officer", f"/grants/{grant}"), ("officer", f"/grants/{t['approved']}/agreement"),
        ("officer", "/grants/payments"), ("finance", "/grants/payments"), ("officer", "/grants/irregularities/"),
        ("officer", f"/grants/reports/{t['report']}"), ("officer", "/eligibility/de-minimis/"),
        ("officer", "/reports/"), ("officer", f"/reports/calls/{big}"), ("officer", f"/reports/programmes/{prog}"),
        ("officer", f"/programmes/{prog}/indicators"), ("officer", "/programmes/"), ("officer", f"/programmes/{prog}"),
        ("officer", "/initiatives/"), ("applicant", "/notifications/"),
        ("officer", f"/initiatives/{t['initiative']}"), ("officer", "/exports/"),
        ("auditor", "/audit/"), ("auditor", "/applications/"),
        ("admin", "/admin/people/"), ("admin", f"/admin/people/{t['user']}"), ("admin", "/admin/outbox/"),
        ("admin", "/admin/workflows/"),
        ("evaluator", "/dashboard/"), ("evaluator", "/evaluations/"),
        ("evaluator", f"/evaluations/assignments/{t['assignment']}"), ("evaluator", "/evaluations/relations"),
        ("applicant", "/dashboard/"), ("applicant", "/applications/"),
        ("applicant", f"/applications/{t['own_application']}"), ("applicant", "/organisations/"),
        ("applicant", "/initiatives/"), ("applicant", "/calls/"), ("applicant", "/account"),
        ("anonymous", "/"), ("anonymous", "/registry/"), ("anonymous", "/registry/data"),
        ("anonymous", f"/registry/initiatives/{t['initiative']}"), ("anonymous", f"/registry/overview/{t['year']}"),
    ]
    api = [
        ("officer", "/api/v1/applications"), ("officer", "/api/v1/applications?page=100"),
        ("officer", "/api/v1/applications?state=eligibility_review&si_stage=idea_generation&sort=amount_desc"),
        ("officer", "/api/v1/applications?sort=title&page=100"),
        ("officer", f"/api/v1/applications/{app}"), ("officer", f"/api/v1/applications/{app}/history"),
        ("officer", f"/api/v1/applications/{app}/eligibility"), ("officer", "/api/v1/calls"),
        ("officer", f"/api/v1/calls/{big}"), ("officer", f"/api/v1/calls/{big}/evaluation"),
        ("officer", f"/api/v1/calls/{big}/assignments"), ("officer", f"/api/v1/calls/{big}/evaluators"),
        ("officer", f"/api/v1/calls/{big}/ranking"), ("committee", f"/api/v1/calls/{big}/ranking"),
        ("officer", "/api/v1/grants"), ("finance", "/api/v1/payments"), ("officer", "/api/v1/irregularities"),
        ("officer", f"/api/v1/applications/{grant}/payments"), ("officer", "/api/v1/de-minimis"),
        ("officer", "/api/v1/initiatives"), ("officer", "/api/v1/exports"), ("admin", "/api/v1/outbox"),
        ("officer", "/api/v1/programmes"), ("officer", f"/api/v1/programmes/{prog}"),
        ("applicant", "/api/v1/notifications"), ("admin", "/api/v1/users"),
        ("officer", f"/api/v1/reports/calls/{big}"), ("officer", f"/api/v1/reports/programmes/{prog}"),
        ("auditor", "/api/v1/audit/events"), ("auditor", "/api/v1/audit/events?page=100"),
        ("auditor", "/api/v1/audit/verifications"), ("admin", "/api/v1/workflows"),
        ("evaluator", "/api/v1/assignments"), ("evaluator", "/api/v1/relations"),
        ("applicant", "/api/v1/applications"), ("applicant", "/api/v1/organisations"),
        ("applicant", "/api/v1/initiatives"), ("applicant", "/api/v1/me"),
        ("anonymous", "/api/v1/registry/initiatives"), ("anonymous", f"/api/v1/registry/overview/{t['year']}"),
    ]
    return [Row(role, path) for role, path in page] + [Row(role, path, "api") for role, path in api]


def measure(row: Row, client: Client, n: int, workers: int) -> None:
    """``n`` timed requests of the row, after at least WARM_UP not counted and until every one of the ``workers``
    has answered it once (each process keeps its own answers and compiled templates; at most MAX_WARM_UP)."""
    deadline = time.monotonic() + ROW_SECONDS
    warmed: set[str] = set()
    warm_up = WARM_UP
    i = 0
    while i < warm_up + n:
        try:
            status, headers, body, took = client.request("GET", row.path, headers={"Accept-Language": "lv"})
        except TimeoutError:
            row.status, row.error = None, f"no answer within {REQUEST_TIMEOUT:.0f} s"
            return
        row.status = status
        if status != 200:
            title = re.search(rb"<title>([^<]*)</title>", body)
            row.error = (title.group(1) if title else body[:120]).decode(errors="replace").strip()
            return
        if i < warm_up:
            warmed.add(worker_of(headers.get("server-timing", "")))
            if i == warm_up - 1 and len(warmed) < workers and warm_up < MAX_WARM_UP:
                warm_up += 1
        else:
            server_ms, statements = server_timing(headers.get("server-timing", ""))
            row.samples.append((server_ms, took, statements, len(body)))
        i += 1
        if time.monotonic() > deadline and len(row.samples) >= 5:
            return


def uncovered(measured: list[Row]) -> list[str]:
    """GET routes of the URL map without arguments (the lists) that no row requests (downloads, forms and the
    like aside)."""
    from grants import create_app

    app = create_app("testing")
    patterns = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or NOT_PAGES.search(rule.rule):
            continue
        patterns.append((rule.rule, re.compile("^" + re.sub(r"<[^>]+>", r"[^/]+", rule.rule) + "$")))
    paths = {row.path.split("?")[0] for row in measured}
    return sorted(rule for rule, pattern in patterns if not any(pattern.match(p) for p in paths))


def run(url: str, n: int, only: str | None, workers: int) -> list[Row]:
    t = targets(url)
    measured = [row for row in rows(t) if not only or only in row.path]
    with tempfile.TemporaryDirectory(prefix="grants-bench-pages-") as folder, \
            gunicorn(url, workers, Path(folder) / "gunicorn.log") as port:
        clients: dict[tuple[str, str], Client] = {}
        for row in measured:
            key = (row.role, row.kind)
            if key not in clients:
                client = Client(port)
                if row.role != "anonymous":
                    (client.sign_in if row.kind == "page" else client.get_token)(ACCOUNTS[row.role])
                clients[key] = client
            measure(row, clients[key], n, workers)
            print(format_row(row), flush=True)
    return measured


HEADER = (f"{'path':58} {'role':10} {'status':>6} {'median':>8} {'p95':>8} {'rt med':>8} {'rt p95':>8} "
          f"{'SQL':>5} {'bytes':>9}")


def format_row(row: Row) -> str:
    if not row.samples:
        return f"{row.path:58} {row.role:10} {row.status or '-':>6}  {row.error[:60]}"
    server = [s[0] for s in row.samples]
    client = [s[1] for s in row.samples]
    sql = max(s[2] for s in row.samples)
    size = int(statistics.median(s[3] for s in row.samples))
    return (f"{row.path[:58]:58} {row.role:10} {row.status:>6} {statistics.median(server):8.1f} {_p95(server):8.1f} "
            f"{statistics.median(client):8.1f} {_p95(client):8.1f} {sql:>5} {size:>9,}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--admin-url", default=PG_ADMIN_URL, help="the PostgreSQL server the bench database is on")
    parser.add_argument("--name", default=PG_DATABASE)
    parser.add_argument("--sqlite-path", default=str(SQLITE_PATH))
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS") or REQUESTS),
                        help="timed requests per row (at most 200)")
    parser.add_argument("--budget-ms", type=float, default=float(os.environ.get("BENCH_BUDGET_MS") or BUDGET_MS))
    parser.add_argument("--only", help="measure only the rows whose path contains this")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 200:
        parser.error("--requests must be between 1 and 200")
    if sa.engine.make_url(args.admin_url).host not in (None, "127.0.0.1", "localhost"):
        parser.error("--admin-url must point at the local server")
    url = database_url(args.database, args.admin_url, args.name, Path(args.sqlite_path))
    print(f"{args.database}: {args.requests} requests per row after {WARM_UP} or more not counted (each worker "
          f"warmed); gunicorn -w "
          f"{args.workers}; server time from Server-Timing, rt = client round trip (ms)\n{HEADER}", flush=True)
    measured = run(url, args.requests, args.only, args.workers)
    over = [r for r in measured if r.samples and _p95([s[0] for s in r.samples]) > args.budget_ms]
    failed = [r for r in measured if r.status != 200]
    print(f"\n{len(measured)} rows; {len(over)} over the budget of {args.budget_ms:.0f} ms (server p95), "
          f"{len(failed)} not answering 200")
    for row in sorted(over, key=lambda r: -_p95([s[0] for s in r.samples])):
        print("  OVER  " + format_row(row))
    for row in failed:
        print("  FAILED " + format_row(row))
    if not args.only:
        missing = uncovered(measured)
        if missing:
            print("GET routes no row measures: " + ", ".join(missing))
    return 1 if over or failed else 0


if __name__ == "__main__":
    sys.exit(main())
