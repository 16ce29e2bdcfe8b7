"""What the benchmarks share: a throw-away database (a SQLite file in a temporary folder, or a
``grants_bench_<random>`` database next to the local PostgreSQL admin URL, dropped afterwards) and the
application on it, migrated as the test suite migrates it.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from grants import create_app
from grants.core.db import db

#: Where the throw-away PostgreSQL database is created (trust auth on the local server).
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def throwaway_database(kind: str, admin_url: str = PG_ADMIN_URL, *, folder: str | None = None,
                       prefix: str = "grants_bench") -> Iterator[str]:
    """A new, empty database URL (``kind``: sqlite or postgres); the database is removed afterwards. SQLite's
    file goes in ``folder`` when given (the caller removes it), else in a temporary folder; PostgreSQL's
    database is ``<prefix>_<random>`` on the admin URL's server. The test suite makes its databases here too."""
    if kind == "sqlite":
        if folder is not None:
            yield f"sqlite:///{folder}/{prefix}-{uuid.uuid4().hex[:8]}.sqlite3"
            return
        with tempfile.TemporaryDirectory(prefix="grants-bench-") as temporary:
            yield f"sqlite:///{temporary}/bench.sqlite3"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--database sqlite|postgres`` and ``--admin-url``."""
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--admin-url", default=PG_ADMIN_URL, help="PostgreSQL database to create the bench's next to")


def check_local(parser: argparse.ArgumentParser, admin_url: str) -> None:
    """Benchmarks send their load to this machine only."""
    if sa.engine.make_url(admin_url).host not in (None, "127.0.0.1", "localhost"):
        parser.error("--admin-url must point at the local server")


@contextmanager
def bench_app(kind: str, admin_url: str = PG_ADMIN_URL, **settings: Any) -> Iterator[Flask]:
    """The application (testing configuration) on a migrated throw-away database, inside its app context;
    its connections are closed before the database is dropped."""
    with throwaway_database(kind, admin_url) as url, tempfile.TemporaryDirectory(prefix="grants-bench-") as uploads:
        app = create_app("testing", DATABASE_URL=url, UPLOAD_DIR=uploads, **settings)
        try:
            with app.app_context():
                upgrade()
                yield app
                db.session.remove()
        finally:
            with app.app_context():
                db.engine.dispose()
