"""The database handle, the declarative base and the column types every domain shares."""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import has_request_context, request
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _FlaskSession
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Stable constraint names, so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Session(_FlaskSession):
    """Flask-SQLAlchemy's session, but an explicit ``bind`` wins.

    The tests bind the session to one connection inside an outer transaction so every test
    is rolled back; Flask-SQLAlchemy would otherwise always pick the engine.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})


#: How far the clock of this context is moved (:func:`as_if_at`); nothing but the demo command moves it.
_CLOCK_SHIFT: ContextVar[timedelta] = ContextVar("grants_clock_shift", default=timedelta(0))


def utcnow() -> datetime:
    return datetime.now(UTC) + _CLOCK_SHIFT.get()


def today() -> date:
    """The date in Riga: decision dates and the rolling periods (de minimis) count calendar days there."""
    return (datetime.now(ZoneInfo("Europe/Riga")) + _CLOCK_SHIFT.get()).date()


@contextmanager
def as_if_at(moment: datetime) -> Iterator[None]:
    """Run the block as if the clock read ``moment`` when it started (time flows on from there): what the
    services and guards see as now, and what they record, is then. The demo command builds its history
    this way (calls published and applications submitted months ago) through the same services, guards and
    audit trail as everything else, rather than writing dates into rows."""
    token = _CLOCK_SHIFT.set(moment - datetime.now(UTC))
    try:
        yield
    finally:
        _CLOCK_SHIFT.reset(token)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


CENT = Decimal("0.01")
#: The most a column of whole cents (BIGINT) holds; a larger number is no amount (and no quantize can
#: take it: decimal would raise InvalidOperation beyond its 28 digits).
MAX_MONEY = Decimal(2**63 - 1) / 100


def to_money(value) -> Decimal:
    """Parse a money amount (str, int or Decimal) into a Decimal with two places."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError("not an amount") from None
    if not amount.is_finite() or abs(amount) > MAX_MONEY:
        raise ValueError("not an amount")
    if amount != amount.quantize(CENT):
        raise ValueError("more than two decimal places")
    return amount.quantize(CENT)


class Money(sa.types.TypeDecorator):
    """Euros as a Decimal in Python, whole cents in the database (exact on SQLite too).

    Columns of this type are named ``*_cents`` in the database.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int(to_money(value) * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(CENT)


class Points(Money):
    """Scores (up to two decimals) as a Decimal in Python, whole hundredths in the database.

    Columns of this type are named ``*_x100`` in the database.
    """

    cache_ok = True


#: JSON on SQLite, JSONB on PostgreSQL.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def str_enum(enum_cls, name: str) -> sa.Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint with the enum's values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=40,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def money_sum(expression) -> sa.ColumnElement:
    """The sum of a money column (whole cents in the database), 0 when there is nothing to add, read back as
    EUR."""
    return sa.type_coerce(sa.func.coalesce(sa.func.sum(expression), 0), Money)


class TimestampMixin:
    #: When the row was created (UTC).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    """SQLite: foreign keys on, wait for locks, and let SQLAlchemy own transactions.

    pysqlite's own transaction handling breaks SAVEPOINT; with ``isolation_level = None``
    SQLAlchemy emits BEGIN itself (see ``_sqlite_begin``), as SQLAlchemy's docs recommend.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


#: How JSON columns are written: sorted keys, no spaces, UTF-8 as is. On SQLite the text is kept
#: as written, so an audit payload stored this way is already in the hash's canonical form.
canonical_json = functools.partial(json.dumps, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``data``: what a submission, a call version or a form is
    frozen under."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


#: HTTP methods that only read; any other request may write.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_ONLY: ContextVar[bool] = ContextVar("read_only_transactions", default=False)


@contextmanager
def read_only() -> Iterator[None]:
    """Transactions begun inside will only read: on SQLite they do not take the write lock, so a long
    read (verifying the audit chain, streaming an export on a connection of its own) does not hold
    writers up — not even the request's own session."""
    token = _READ_ONLY.set(True)
    try:
        yield
    finally:
        _READ_ONLY.reset(token)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    """SQLite: a transaction that may write takes the write lock when it begins.

    With a plain (deferred) BEGIN, a transaction that read before another one committed can
    never write (SQLITE_BUSY_SNAPSHOT, "database is locked", with no waiting), so two writers
    touching unrelated rows could fail each other. ``BEGIN IMMEDIATE`` makes writers queue
    (busy_timeout) and each sees the data as the one before it left it; readers never wait
    in WAL mode. Stale writes are still caught by the optimistic version checks.

    Requests that may write are those with an unsafe method; outside a request (CLI commands,
    background jobs) every transaction may write. A transaction begun inside :func:`read_only` only
    reads, in a request or not.
    """
    if conn.dialect.name != "sqlite":
        return
    writes = not _READ_ONLY.get() and (request.method not in _SAFE_METHODS if has_request_context() else True)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
