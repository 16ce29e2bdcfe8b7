"""Verifying the chain as a background job: runs asked for on the audit page, through the API or on the
command line, kept with their progress and verdict in ``audit_verifications``.

:func:`request_verification` records a queued run (with Redis, one already queued or running is reused
rather than doubled); :func:`start` hands it to :func:`run_verification` through grants.core.jobs (RQ when
``REDIS_URL`` is configured, at once otherwise). The run reads the chain on a connection of its own (a
read-only transaction: on SQLite it holds no writer up) while its progress and a heartbeat are committed on
the session. A run whose process died stops reporting: :func:`fail_stale` marks it failed, and a new one
may be asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.orm import joinedload

from grants.audit.models import AuditVerification
from grants.audit.services import count_events, read_head, verify_chain
from grants.core import jobs
from grants.core.db import db, read_only, utcnow
from grants.core.errors import NotFound

log = logging.getLogger(__name__)

#: The job's dotted path (as RQ names functions).
JOB = "grants.audit.verifications.run_verification"
#: A running verification reports at least this often (events); more often on a long chain (see _every).
PROGRESS_EVERY = 20_000
#: A running verification silent for this long (its process died) is marked failed.
STALE_AFTER = timedelta(minutes=2)
#: A queued one no worker took for this long (none runs; jobs ahead of it, such as exports, take time) too.
QUEUED_STALE_AFTER = timedelta(hours=1)
ACTIVE = ("queued", "running")
#: The error of a run nobody works on any more (an untranslated id: the page translates it).
STOPPED = "The verification stopped reporting (its worker ended, or no worker took it)."

_runs = AuditVerification.__table__


def request_verification(actor, origin: str) -> tuple[AuditVerification, bool]:
    """A queued run asked for by ``actor`` (None: the command line) from ``origin`` (web, api, cli), and
    whether it is new: with Redis, a run already queued or running is returned instead of a second one
    (the command line always verifies itself). Flushes; the caller commits, then :func:`start`s a new run."""
    fail_stale()
    if origin != "cli" and jobs.is_configured():
        active = db.session.scalars(sa.select(AuditVerification).where(AuditVerification.state.in_(ACTIVE))
                                    .order_by(AuditVerification.id.desc()).limit(1)).first()
        if active is not None:
            return active, False
    run = AuditVerification(requested_by_id=actor.id if actor is not None else None, origin=origin,
                            state="queued", requested_at=utcnow(), events_checked=0)
    db.session.add(run)
    db.session.flush()
    return run, True


def start(run: AuditVerification) -> str:
    """Hand a new, committed run to a worker (``"queued"``) or make it now (``"inline"``). A queue that
    does not answer fails the run, saying so, rather than the request."""
    try:
        return jobs.enqueue(JOB, run.id, job_id=f"audit-verification-{run.id}")
    except RedisError as error:
        log.exception("Audit verification %s could not be queued", run.id)
        _update(run.id, state="failed", finished_at=utcnow(), error=f"The job queue did not answer: {error}"[:2000])
        return "failed"


def _update(run_id: int, *conditions: sa.ColumnElement[bool], **values: Any) -> int:
    """Write ``values`` on the run (when ``conditions`` hold) and commit; returns the rows changed. A
    statement of its own, first in its transaction: on SQLite a transaction that read first could not write
    after another writer's commit."""
    updated = db.session.execute(sa.update(_runs).where(_runs.c.id == run_id, *conditions).values(**values)).rowcount
    db.session.commit()
    return updated


@contextmanager
def _chain_reader() -> Iterator[tuple[sa.Connection, bool]]:
    """The connection to read the chain on, and whether progress may be committed while it reads: a
    connection of its own in a read-only transaction, or the session's own when the session is held to one
    connection (the tests' rolled-back transaction), where nothing is committed until the end."""
    pinned = db.session.get_bind()
    if isinstance(pinned, sa.Connection):
        yield pinned, False
        return
    with db.engine.connect() as connection:
        with read_only():  # the transaction begins now, as a reader (SQLite: a plain BEGIN)
            connection.begin()
        try:
            yield connection, True
        finally:
            connection.rollback()


def _every(total: int) -> int:
    """Report about every 1 %, but at least every PROGRESS_EVERY events and at most every 100,000."""
    return max(PROGRESS_EVERY, min(total // 100, 100_000))


def run_verification(run_id: int, report: Callable[[int, int], None] | None = None) -> None:
    """Verify the chain for one run (the worker's job; inline without Redis; the command line's, with
    ``report(events checked, total)`` called at each progress step). Does nothing unless the run is still
    queued, so a job delivered twice verifies once. Commits."""
    db.session.commit()  # what the caller wrote is in; the claim below begins a transaction of its own
    if not _update(run_id, _runs.c.state == "queued", state="running", started_at=utcnow(), heartbeat_at=utcnow()):
        return
    try:
        with _chain_reader() as (connection, may_commit):
            head = read_head(connection)
            total = count_events(connection, head[1]) if head[1] is not None else 0
            _update(run_id, head_hash=head[0], head_event_id=head[1], total=total)

            def progress(checked: int) -> None:
                if may_commit:
                    _update(run_id, events_checked=checked, heartbeat_at=utcnow())
                if report is not None:
                    report(checked, total)

            result = verify_chain(connection=connection, head=head, progress=progress, progress_every=_every(total))
        _update(run_id, state="done", events_checked=result.events, valid=result.valid,
                first_invalid_id=result.first_invalid_id, finished_at=utcnow(), heartbeat_at=utcnow())
    except Exception as error:  # the reason is kept for whoever asked; a worker carries on
        log.exception("Audit verification %s failed", run_id)
        db.session.rollback()
        _update(run_id, state="failed", finished_at=utcnow(), error=(str(error)[:2000] or type(error).__name__))


def fail_stale(now=None) -> list[int]:
    """Runs nobody works on any more (a worker killed, or none took the job) are marked failed, so the page
    stops waiting and a new run may be asked for. Returns their ids; commits only when there are any."""
    now = now or utcnow()
    stale = sa.or_(sa.and_(_runs.c.state == "running", _runs.c.heartbeat_at < now - STALE_AFTER),
                   sa.and_(_runs.c.state == "queued", _runs.c.requested_at < now - QUEUED_STALE_AFTER))
    found = list(db.session.scalars(sa.select(_runs.c.id).where(stale)))
    if found:
        db.session.commit()  # the update below is the first statement of its transaction (see _update)
        db.session.execute(sa.update(_runs).where(_runs.c.id.in_(found), stale).values(
            state="failed", finished_at=utcnow(), error=STOPPED))
        db.session.commit()
    return found


def get_verification(run_id: int) -> AuditVerification:
    fail_stale()
    run = db.session.get(AuditVerification, run_id)
    if run is None:
        raise NotFound()
    return run


def verifications_query() -> sa.Select:
    """Every run, newest first."""
    return sa.select(AuditVerification).order_by(AuditVerification.id.desc())


def newest() -> AuditVerification | None:
    """The newest run, whatever its state, with who asked loaded."""
    return db.session.scalars(verifications_query().options(joinedload(AuditVerification.requested_by))
                              .limit(1)).first()


def latest(*, finished: bool) -> AuditVerification | None:
    """The newest run that is done (``finished``) or still queued or running, with who asked loaded."""
    states = ("done",) if finished else ACTIVE
    return db.session.scalars(verifications_query().where(AuditVerification.state.in_(states))
                              .options(joinedload(AuditVerification.requested_by)).limit(1)).first()
