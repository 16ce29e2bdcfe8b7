"""Writing, querying and verifying the audit trail.

Every event's ``hash`` is SHA-256 over the canonical JSON of its content and ``prev_hash``,
the hash of the event before it, so editing, deleting or reordering events breaks the chain
at the first event touched. Appends are serialised on the one-row ``audit_head`` table (plus an
advisory lock on PostgreSQL), so concurrent writers still build one linear chain.
"""

from __future__ import annotations

import csv
import enum
import functools
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session

from grants.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from grants.core.db import db, utcnow
from grants.core.request_id import current_request_id

#: Key of the PostgreSQL advisory lock that serialises appends ("audit" in ASCII).
ADVISORY_LOCK_KEY = 0x6175646974
SYSTEM_LABEL = "system"

_events = AuditEvent.__table__
_head = AuditHead.__table__


def _make_encoder():
    """Canonical JSON (sorted keys, no spaces, UTF-8 as is). The C encoder is built once and reused:
    ``json.dumps`` builds a new one per call, which is most of its cost on small objects."""
    if json.encoder.c_make_encoder is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    iterencode = json.encoder.c_make_encoder(
        None, None, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    return lambda value: "".join(iterencode(value, 0))


_encode = _make_encoder()
_quote = json.encoder.encode_basestring
#: The C scanner behind ``json.loads``, without its per-call Python wrapper (verify parses every payload).
_scan_json = (json.scanner.c_make_scanner or json.scanner.py_make_scanner)(json.JSONDecoder())


def _parse_json(text: str) -> Any:
    value, end = _scan_json(text, 0)
    if end != len(text):
        raise ValueError("trailing data after the JSON value")
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} cannot be stored in an audit payload")


def _plain(payload: Any) -> dict[str, Any]:
    """The payload as the database will give it back: plain JSON values only."""
    if not payload:
        return {}
    return json.loads(json.dumps(payload, default=_json_default, ensure_ascii=False))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _text(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _digest(action: str, actor: str, comment: str | None, object_id: str, object_type: str, occurred_at: str,
            payload_json: str, prev_hash: str, request_id: str | None, role: str | None) -> str:
    """SHA-256 of the canonical JSON object of these keys, written out in sorted key order;
    ``payload_json`` is the payload already in canonical JSON (``_encode``).

    Exactly ``json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``;
    spelled out because verify runs it for every event and a dict plus a sort per event halves the speed.
    """
    canonical = (f'{{"action":{_quote(action)},"actor":{_quote(actor)},"comment":{_text(comment)},'
                 f'"object_id":{_quote(object_id)},"object_type":{_quote(object_type)},'
                 f'"occurred_at":{_quote(occurred_at)},"payload":{payload_json},"prev_hash":{_quote(prev_hash)},'
                 f'"request_id":{_text(request_id)},"role":{_text(role)}}}')
    return hashlib.sha256(canonical.encode()).hexdigest()


def compute_hash(*, occurred_at: datetime, actor_label: str, role: str | None, action: str, object_type: str,
                 object_id: str, payload: dict[str, Any], comment: str | None, request_id: str | None,
                 prev_hash: str) -> str:
    """SHA-256 (hex) over the canonical JSON of an event's content and ``prev_hash``: sorted keys,
    separators ``,`` and ``:``, UTF-8 unescaped, ``occurred_at`` as ISO 8601 UTC with microseconds.

    ``actor_id`` is left out on purpose: erasing an account sets it to NULL; ``actor_label``
    keeps who it was.
    """
    return _digest(action, actor_label, comment, object_id, object_type, _iso(occurred_at), _encode(payload),
                   prev_hash, request_id, role)


#: ``session.info`` key: the root transaction that took the append lock (held until that transaction ends).
_LOCKED = "audit_chain_locked"


def _lock_head() -> tuple[str, int | None]:
    """Take the append lock, then read the head under it (hash, event id).

    The lock is taken once per transaction (it is held until the transaction ends): a transition writes
    two or three events and ``fire`` takes the lock first, so each used to take it again. The head is read
    every time, from the database: another session sharing this connection (the tests' rolled-back
    transaction) may have appended meanwhile. Any rollback, of a savepoint too, takes the lock again
    next time (see ``_forget_lock``)."""
    session = db.session()
    root = session.get_transaction()
    if root is None or session.info.get(_LOCKED) is not root:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        else:
            # A no-op write takes SQLite's RESERVED lock before the head is read; a second writer
            # waits here (busy_timeout) instead of reading a head that is about to change.
            session.execute(sa.update(_head).where(_head.c.id == 1).values(event_id=_head.c.event_id))
        session.info[_LOCKED] = session.get_transaction()
    row = session.execute(
        sa.select(_head.c.hash, _head.c.event_id).where(_head.c.id == 1).with_for_update()).first()
    if row is None:  # a database built without the migration's seed row
        session.execute(sa.insert(_head).values(id=1, hash=GENESIS_HASH, event_id=None))
        return GENESIS_HASH, None
    return row.hash, row.event_id


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_lock(session, previous_transaction) -> None:
    """After a rollback (of a savepoint too) the lock is taken again: cheap, and never wrong."""
    session.info.pop(_LOCKED, None)


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_lock_at_the_end(session, transaction) -> None:
    if transaction.parent is None:  # the root: the lock is gone with it
        session.info.pop(_LOCKED, None)


def record_event(*, action: str, object_type: str, object_id: Any, actor=None, role: str | None = None,
                 payload: dict[str, Any] | None = None, comment: str | None = None) -> AuditEvent:
    """Append an event to the chain in the current transaction (flushes, never commits).

    ``actor`` is a User or None for the system; ``payload`` holds the before/after diff or the
    transition's data (datetimes, decimals and enums are stored as strings).
    """
    prev_hash, _ = _lock_head()
    event = AuditEvent(
        occurred_at=utcnow(), actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else SYSTEM_LABEL, role=str(role) if role else None,
        action=action, object_type=object_type, object_id=str(object_id) if object_id is not None else "",
        payload=_plain(payload), comment=comment, request_id=current_request_id(), prev_hash=prev_hash)
    event.hash = compute_hash(
        occurred_at=event.occurred_at, actor_label=event.actor_label, role=event.role, action=event.action,
        object_type=event.object_type, object_id=event.object_id, payload=event.payload, comment=event.comment,
        request_id=event.request_id, prev_hash=prev_hash)
    db.session.add(event)
    db.session.flush()
    db.session.execute(sa.update(_head).where(_head.c.id == 1).values(hash=event.hash, event_id=event.id))
    return event


@dataclass(frozen=True)
class ChainVerification:
    valid: bool
    #: Events checked (those up to the head).
    events: int
    #: Hash of the newest event, as audit_head records it.
    head: str
    #: The first event whose hash or link does not match (or the head's event, when it is missing).
    first_invalid_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso_sql(dialect: str) -> sa.ColumnElement[str]:
    """``occurred_at`` as the hash's ISO string, formatted by the database (faster than parsing)."""
    column = _events.c.occurred_at
    if dialect == "postgresql":
        pattern = sa.literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'""")
        return sa.func.to_char(sa.func.timezone("UTC", column), pattern)
    # SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, see UTCDateTime).
    raw = sa.type_coerce(column, sa.String)
    return sa.func.substr(raw, 1, 10) + "T" + sa.func.substr(raw, 12) + "+00:00"


_VERIFY_COLUMNS = (_events.c.id, _events.c.actor_label, _events.c.role, _events.c.action,
                   _events.c.object_type, _events.c.object_id, sa.cast(_events.c.payload, sa.Text), _events.c.comment,
                   _events.c.request_id, _events.c.prev_hash, _events.c.hash)


#: During one verify run, the canonical form of up to this many distinct short payload texts is remembered.
_REMEMBERED_PAYLOADS = 4096
#: Longer payload texts (a diff of a long description) rarely repeat and would hold memory: never remembered.
_REMEMBER_PAYLOADS_UP_TO = 512


def _canonical_payload(text: str) -> str | None:
    """A payload as the database returns it (JSON text) in the hash's canonical JSON; None when the
    text is not JSON at all (written around the application: such an event cannot match its hash)."""
    try:
        return _encode(_parse_json(text))
    except ValueError:  # json.JSONDecodeError, trailing data
        return None


def _chunked_streams() -> bool:
    """psycopg >= 3.2 on libpq >= 17 can stream a result in chunks rather than one row per message."""
    capabilities = getattr(psycopg, "capabilities", None)
    return capabilities is not None and capabilities.has_stream_chunked()


def _chain_rows(connection: sa.Connection, head_id: int, batch_size: int) -> Iterator[tuple[Any, ...]]:
    """The columns verify needs of events up to ``head_id``, in id order, as the driver's plain tuples.

    One query read as a stream (flat memory), not a query per batch: without table statistics
    PostgreSQL plans each ``id > last LIMIT n`` batch as a scan and sort of everything after it
    (quadratic), and every batch waits a round trip. Rows come from the driver's own cursor: making
    SQLAlchemy rows of them made fetching about 1.5 times slower (bench/README.md).
    """
    dialect = connection.dialect
    query = (sa.select(*_VERIFY_COLUMNS, _iso_sql(dialect.name))
             .where(_events.c.id <= head_id).order_by(_events.c.id))
    # The one value is an integer read from audit_head, so it can be written into the SQL: the
    # driver's cursor then needs no parameters in the dialect's paramstyle.
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    if dialect.name == "postgresql":
        # psycopg's stream() lets the server keep sending rows while this process hashes them;
        # a named (server-side) cursor would wait a round trip for each FETCH instead.
        with connection.connection.driver_connection.cursor() as cursor:
            if _chunked_streams():
                yield from cursor.stream(sql, size=batch_size)
            else:
                yield from cursor.stream(sql)
        return
    # SQLite reads the file row by row whatever the fetch size; iterating holds no batch in memory.
    cursor = connection.connection.cursor()
    try:
        yield from cursor.execute(sql)
    finally:
        cursor.close()


def read_head(connection: sa.Connection | None = None) -> tuple[str, int | None]:
    """The head as audit_head records it: (hash of the newest event, its id); the genesis hash and None
    while the log is empty."""
    connection = connection if connection is not None else db.session.connection()
    head = connection.execute(sa.select(_head.c.hash, _head.c.event_id).where(_head.c.id == 1)).first()
    return (head.hash, head.event_id) if head is not None else (GENESIS_HASH, None)


def count_events(connection: sa.Connection | None = None, up_to: int | None = None) -> int:
    """How many events there are (with an id up to ``up_to`` when given)."""
    connection = connection if connection is not None else db.session.connection()
    query = sa.select(sa.func.count()).select_from(_events)
    if up_to is not None:
        query = query.where(_events.c.id <= up_to)
    return int(connection.execute(query).scalar_one())


def verify_chain(batch_size: int = 10000, *, connection: sa.Connection | None = None,
                 head: tuple[str, int | None] | None = None, progress: Callable[[int], None] | None = None,
                 progress_every: int = 20000) -> ChainVerification:
    """Recompute the chain in id order, in one streamed read (flat memory; PostgreSQL sends
    ``batch_size`` rows at a time, SQLite is read row by row).

    Reads on ``connection`` (the session's by default) up to ``head`` (read from audit_head on that
    connection by default). Events appended after the head was read are left for the next run, so
    verifying while others write gives no false alarm. ``progress(events checked)`` is called every
    ``progress_every`` events, between rows: a caller may commit elsewhere meanwhile, not on ``connection``.
    Budget: 100,000 events/s (DESIGN §11, bench/audit_verify.py).
    """
    connection = connection if connection is not None else db.session.connection()
    head_hash, head_id = head if head is not None else read_head(connection)
    if head_id is None:  # an empty log; events without a head mean the head was reset
        first_id = connection.execute(sa.select(sa.func.min(_events.c.id))).scalar()
        return ChainVerification(valid=first_id is None, events=0, head=head_hash, first_invalid_id=first_id)
    count = 0
    report_at = progress_every if progress is not None else -1
    first_invalid: int | None = None
    expected_prev = GENESIS_HASH
    last_id: int | None = None
    # Parsing and re-encoding a payload is most of the cost of an event, and payloads repeat: every
    # sign-in stores {}, every plain transition the same four keys. The canonical form depends on the
    # text alone, so an answer remembered for this run is the one parsing again would give.
    remembered_payload = functools.lru_cache(maxsize=_REMEMBERED_PAYLOADS)(_canonical_payload)
    digest, canonical_payload = _digest, _canonical_payload  # local names: the loop runs once per event
    # SQLite keeps the payload text as written, and the app writes canonical JSON
    # (grants.core.db.canonical_json): hashing the text as stored is then the whole check. A text
    # that does not hash right (an event written before that, or a tampered one) takes the long way.
    stored_as_written = connection.dialect.name == "sqlite"
    for (event_id, actor_label, role, action, object_type, object_id, payload, comment,
         request_id, prev_hash, stored_hash, occurred_at) in _chain_rows(connection, head_id, batch_size):
        count += 1
        if count == report_at:
            progress(count)
            report_at += progress_every
        if first_invalid is None:
            if stored_as_written and prev_hash == expected_prev and stored_hash == digest(
                    action, actor_label, comment, object_id, object_type, occurred_at, payload, prev_hash,
                    request_id, role):
                expected_prev, last_id = stored_hash, event_id
                continue
            payload_json = (remembered_payload(payload) if len(payload) <= _REMEMBER_PAYLOADS_UP_TO
                            else canonical_payload(payload))
            if (prev_hash != expected_prev or payload_json is None
                    or stored_hash != digest(action, actor_label, comment, object_id, object_type, occurred_at,
                                             payload_json, prev_hash, request_id, role)):
                first_invalid = event_id
        expected_prev, last_id = stored_hash, event_id
    if first_invalid is None and (last_id != head_id or expected_prev != head_hash):
        first_invalid = head_id  # the newest event was deleted or rewritten together with its hash
    return ChainVerification(valid=first_invalid is None, events=count, head=head_hash,
                             first_invalid_id=first_invalid)


def _conditions(filters: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    conditions = [_events.c[name] == filters[name] for name in ("object_type", "object_id", "actor_id", "action")
                  if filters.get(name) not in (None, "")]
    if filters.get("since") is not None:
        conditions.append(_events.c.occurred_at >= filters["since"])
    if filters.get("until") is not None:
        conditions.append(_events.c.occurred_at < filters["until"])
    return conditions


def events_query(filters: dict[str, Any]) -> sa.Select:
    """Events matching ``filters`` (object_type, object_id, actor_id, action, since, until; ``before_id``: older
    than that event), newest first."""
    conditions = _conditions(filters)
    if filters.get("before_id") is not None:
        conditions.append(AuditEvent.id < filters["before_id"])
    return sa.select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc())


EXPORT_FIELDS = ("id", "occurred_at", "actor_id", "actor_label", "role", "action", "object_type", "object_id",
                 "payload", "comment", "request_id", "prev_hash", "hash")


def iter_event_records(filters: dict[str, Any], batch_size: int = 1000,
                       up_to: int | None = None) -> Iterator[dict[str, Any]]:
    """Matching events oldest first as plain JSON values, read in keyset batches (flat memory;
    Core rows, so the session's identity map does not grow during a long export); with ``up_to``,
    only events with an id up to it."""
    conditions = _conditions(filters)
    if up_to is not None:
        conditions.append(_events.c.id <= up_to)
    base = (sa.select(*(_events.c[name] for name in EXPORT_FIELDS))
            .where(*conditions).order_by(_events.c.id).limit(batch_size))
    last_id = None
    while True:
        query = base if last_id is None else base.where(_events.c.id > last_id)
        rows = db.session.execute(query).mappings().all()
        for row in rows:
            record = dict(row)
            record["occurred_at"] = _iso(record["occurred_at"])
            yield record
        if len(rows) < batch_size:
            return
        last_id = rows[-1]["id"]


def record_export(actor, *, role: str | None, export_format: str, filters: dict[str, Any]) -> AuditEvent:
    """Exporting the trail is itself audited."""
    return record_event(action="audit.export", object_type="audit_events", object_id="", actor=actor, role=role,
                        payload={"format": export_format,
                                 "filters": {k: v for k, v in filters.items() if v not in (None, "")}})


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """Spreadsheets run cells starting with = + - @ as formulas; a leading ' keeps them text."""
    if isinstance(value, dict):
        value = _encode(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_head() -> dict[str, Any]:
    """The chain's head as an export quotes it: ``{hash, event_id, events}`` (the number of events up to it)."""
    head, head_id = read_head()
    return {"hash": head, "event_id": head_id, "events": count_events(up_to=head_id) if head_id is not None else 0}


def export_chunks(filters: dict[str, Any], export_format: str) -> Iterator[str]:
    """The matching events as CSV (payload as JSON text) or JSON, a chunk at a time, with the chain's head
    when the export began, so the file can be held against a later verification or funder report: JSON
    ``{"audit_head": {hash, event_id, events}, "items": [...]}``, CSV a last line ``# audit_head, <hash>,
    event_id, <id>, events, <n>``. Events appended meanwhile are left out: the file ends at that head."""
    head = export_head()
    records = iter_event_records(filters, up_to=head["event_id"] if head["event_id"] is not None else 0)
    if export_format == "json":
        yield '{"audit_head":' + json.dumps(head, sort_keys=True) + ',"items":['
        for n, record in enumerate(records):
            yield ("," if n else "") + "\n" + json.dumps(record, ensure_ascii=False, sort_keys=True)
        yield "\n]}\n"
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_FIELDS)
    for n, record in enumerate(records, start=1):
        writer.writerow([_csv_cell(record[name]) for name in EXPORT_FIELDS])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    writer.writerow(["# audit_head", head["hash"], "event_id", head["event_id"] or "", "events", head["events"]])
    yield buffer.getvalue()


def acting_role(user, allowed: tuple[str, ...]) -> str | None:
    """The first of ``allowed`` the user holds: the role an audited action was done in."""
    return next((role for role in allowed if user.has_role(role)), None)


def head_hash() -> str:
    """The hash of the newest event (quoted in funder reports so a rewritten log shows)."""
    return db.session.execute(sa.select(_head.c.hash).where(_head.c.id == 1)).scalar_one_or_none() or GENESIS_HASH


def lock_chain() -> None:
    """Take the append lock now, before the caller writes rows it will audit.

    A transaction that updates several objects and audits each (a transition whose effect
    moves another object) must not hold a row another writer has locked while that writer
    waits for the chain: taking the chain first gives every writer the same lock order.
    """
    _lock_head()
