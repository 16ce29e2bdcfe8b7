"""Test fixtures: one migrated database per run, one rolled-back transaction per test.

``GRANTS_TEST_DATABASE_URL`` set to a PostgreSQL URL runs the suite on PostgreSQL: a
throw-away database is created next to the one named and dropped at the end. Unset, the
suite runs on a SQLite file in a temporary folder.
"""

from __future__ import annotations

import contextvars
import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from flask_migrate import upgrade

from bench._common import PG_ADMIN_URL
from bench._common import throwaway_database as shared_throwaway_database
from grants import create_app
from grants.core.db import db
from grants.core.extensions import limiter

ADMIN_URL = os.environ.get("GRANTS_TEST_DATABASE_URL", "").strip()
TRANSLATIONS = Path(__file__).resolve().parents[1] / "grants" / "translations"


def pytest_sessionstart(session):
    """Compile stale catalogues, so a plain ``pytest`` sees the same texts as ``make test``."""
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            with po_path.open("rb") as po_file:
                catalogue = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalogue, use_fuzzy=True)


def _is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


@contextmanager
def throwaway_database(tmp_dir):
    """A new, empty database (bench._common, which the benchmarks use too); dropped afterwards on PostgreSQL."""
    kind = "postgres" if _is_postgres(ADMIN_URL) else "sqlite"
    with shared_throwaway_database(kind, ADMIN_URL or PG_ADMIN_URL, folder=str(tmp_dir), prefix="grants_test") as url:
        yield url


@contextmanager
def live_application(tmp_dir):
    """An application on a throw-away database of its own, migrated, whose sessions commit for
    real (for tests of concurrent writers, which the rolled-back test transaction cannot host)."""
    with throwaway_database(tmp_dir) as url:
        app = create_app("testing", DATABASE_URL=url)
        with app.app_context():
            upgrade()
            # The suite's fixture binds the shared session factory to each test's connection and
            # resets it afterwards; here every session must open its own connection.
            db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
            db.session.remove()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def in_transaction(app, work):
    """Run ``work`` on a :func:`live_application` as a request would: its own app context, session and
    transaction, committed on success and rolled back on any error. A POST request context, as the API's writes
    have (on SQLite those begin with BEGIN IMMEDIATE, see grants.core.db._sqlite_begin)."""
    with app.test_request_context("/api/v1/applications", method="POST"):
        try:
            result = work()
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    with throwaway_database(tmp_path_factory.mktemp("db")) as url:
        yield url


class IsolatedClient(FlaskClient):
    """Each request runs in fresh contexts, as in production.

    pytest-flask keeps a request context pushed for the whole test; Flask would reuse its
    app context (and ``g``, the signed-in user, the database session) for every request the
    test client makes. Running each request in an empty ``contextvars`` context gives it
    its own, so state cannot leak from one request to the next.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)

    def __enter__(self):  # pytest-flask's ``with client``: nothing is preserved between requests
        return self

    def __exit__(self, *exc_info):
        return None


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app("testing", DATABASE_URL=database_url,
                     UPLOAD_DIR=str(tmp_path_factory.mktemp("uploads")))
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _isolated(request):
    """Each test runs in a transaction rolled back at its end; rate limits start afresh."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        db.session.remove()
        db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
        limiter.reset()
        try:
            yield
        finally:
            db.session.remove()
            db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
            transaction.rollback()
            connection.close()


@pytest.fixture
def session(app):
    return db.session


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter: ...`` counts the SQL statements sent."""

    @contextmanager
    def counting():
        counter = QueryCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)

    return counting
