"""Making exports: requested by staff, made by a worker (RQ) or at once (no Redis), downloaded when ready.

A request writes an :class:`Export` (queued) and its audit event; :func:`start` hands it to
:func:`run_export` through grants.core.jobs. The run moves it through ``export_v1`` as the system:
running (progress and a heartbeat committed every few hundred rows, on the session, while the data
streams from a connection of its own), then done with the file — written to a temporary file and
stored under a new key only when complete, so a download never sees half a file — or failed with
the reason. A worker killed mid-way leaves the export running with a stale heartbeat:
:func:`requeue_stale` (run when a worker starts, and when someone looks at the export) queues it
again and it is made from the start. A failed export may be retried.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import timedelta
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from grants.audit.models import AuditEvent
from grants.audit.services import head_hash, record_event
from grants.core import jobs
from grants.core.db import db, utcnow
from grants.core.errors import Conflict, NotFound, UserInputError
from grants.core.i18n import current_language
from grants.core.tabular import csv_chunks, json_chunks, json_rows, write_xlsx
from grants.exports.datasets import DATASETS, Table, clean_filters
from grants.exports.models import Export
from grants.storage import get_storage
from grants.workflows.engine import fire
from grants.workflows.services import act

log = logging.getLogger(__name__)

#: Who may export (and read every export).
EXPORTERS = ("officer", "auditor", "admin")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "json": "application/json"}
#: Progress is committed every this many rows.
PROGRESS_EVERY = 500
#: Where the jobs go (a dotted path, as RQ names functions).
JOB = "grants.exports.services.run_export"


def acting_role(actor) -> str:
    return next((role for role in EXPORTERS if actor.has_role(role)), "officer")


def request_export(actor, kind: str, export_format: str, filters: Any) -> Export:
    """Record an export to make (422 naming what is wrong: the kind, the format, a filter). Flushes."""
    found = DATASETS.get(kind)
    if found is None:
        raise UserInputError(fields={"kind": [_("Choose what to export.")]})
    if export_format not in found.formats:
        raise UserInputError(fields={"format": [_("This export comes as %(formats)s.",
                                                  formats=", ".join(found.formats))]})
    clean = clean_filters(kind, filters)
    found.tables(clean)  # a filter naming nothing (no such programme) is refused now, not in the worker
    export = Export(kind=kind, format=export_format, filters=clean, requested_by_id=actor.id,
                    language=current_language())
    db.session.add(export)
    db.session.flush()
    record_event(action="export.request", object_type="export", object_id=export.id, actor=actor,
                 role=acting_role(actor), payload={"kind": kind, "format": export_format, "filters": clean})
    return export


def start(export: Export) -> str:
    """Hand a committed, queued export to a worker (or make it now, without Redis)."""
    return jobs.enqueue(JOB, export.id, job_id=f"export-{export.id}-{export.attempts + 1}")


def get_export(export_id: int) -> Export:
    export = db.session.get(Export, export_id)
    if export is None:
        raise NotFound()
    return export


def exports_query(actor) -> sa.Select:
    """The exports ``actor`` sees, newest first: auditors and admins all, officers their own."""
    query = sa.select(Export).order_by(Export.id.desc())
    if not actor.has_any_role("auditor", "admin"):
        query = query.where(Export.requested_by_id == actor.id)
    return query


def can_see(actor, export: Export) -> bool:
    return actor.has_any_role("auditor", "admin") or export.requested_by_id == actor.id


# --- making the file -------------------------------------------------------------------------------------

def _write(export: Export, tables: list[Table], path: str) -> int:
    """Write the file; commit the progress and a heartbeat every PROGRESS_EVERY rows."""

    def progress(done: int) -> None:
        export.progress, export.heartbeat_at = done, utcnow()
        db.session.commit()

    if export.format == "xlsx":
        return write_xlsx(path, [(table.title, table.columns, table.rows()) for table in tables], progress=progress)
    table = tables[0]
    written = 0

    def counted(rows):
        nonlocal written
        for row in rows:
            yield row
            written += 1
            if written % PROGRESS_EVERY == 0:
                progress(written)

    with open(path, "w", encoding="utf-8", newline="") as out:
        if export.format == "csv":
            chunks = csv_chunks(table.columns, counted(table.rows()))
        else:
            chunks = json_chunks(json_rows(table.columns, counted(table.rows())), head='{"items":[', tail="]}")
        for chunk in chunks:
            out.write(chunk)
    return written


def _filename(export: Export) -> str:
    return f"{export.kind}-{export.id}-{utcnow():%Y%m%d}.{export.format}"


def run_export(export_id: int) -> None:
    """Make one export (the worker's job; inline without Redis). Does nothing unless it is queued, so a
    job delivered twice makes the file once."""
    export = db.session.get(Export, export_id)
    if export is None or export.state != "queued":
        db.session.rollback()
        return
    now = utcnow()
    fire(export, "start", None, attempt=export.attempts + 1)
    export.attempts += 1
    export.started_at = export.heartbeat_at = now
    export.progress, export.error = 0, None
    export.audit_head = head_hash()
    export.audit_events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    db.session.commit()
    handle, path = tempfile.mkstemp(prefix="export-", suffix=f".{export.format}")
    os.close(handle)
    try:
        with force_locale(export.language):
            tables = DATASETS[export.kind].tables(dict(export.filters or {}))
            export.total = sum(table.count() for table in tables)
            db.session.commit()
            rows = _write(export, tables, path)
        with open(path, "rb") as finished:
            stored = get_storage().save(finished)
        export.storage_key, export.size, export.sha256 = stored.key, stored.size, stored.sha256
        export.filename, export.content_type = _filename(export), CONTENT_TYPES[export.format]
        export.progress, export.finished_at = rows, utcnow()
        fire(export, "finish", None, rows=rows, sha256=stored.sha256, size=stored.size)
        db.session.commit()
    except Exception as error:  # the reason is kept for the user; the worker carries on
        log.exception("Export %s failed", export_id)
        db.session.rollback()
        export = db.session.get(Export, export_id)
        export.error = str(error)[:2000] or type(error).__name__
        export.finished_at = utcnow()
        fire(export, "fail", None, error=export.error)
        db.session.commit()
    finally:
        os.unlink(path)


def requeue_stale(now=None) -> list[int]:
    """Running exports whose worker stopped reporting (killed, machine gone) are queued again and handed
    to a worker: made from the start. Returns their ids. Commits."""
    now = now or utcnow()
    limit = now - timedelta(seconds=int(current_app.config["EXPORT_STALE_SECONDS"]))
    stale = list(db.session.scalars(sa.select(Export).where(Export.state == "running", Export.heartbeat_at < limit)))
    for export in stale:
        fire(export, "requeue", None, heartbeat_at=export.heartbeat_at)
    db.session.commit()
    for export in stale:
        start(export)
    return [export.id for export in stale]


def retry(export: Export, actor, expected_version: int | None = None) -> Export:
    """Queue a failed export again (whoever may export)."""
    act(export, "retry", actor, expected_version=expected_version)
    return export


def open_file(export: Export, actor) -> BinaryIO:
    """The finished file (409 before it is ready); the download is audited."""
    if export.state != "done" or not export.storage_key:
        raise Conflict(_("The export is not ready yet."))
    record_event(action="export.download", object_type="export", object_id=export.id, actor=actor,
                 role=acting_role(actor), payload={"kind": export.kind, "format": export.format,
                                                   "sha256": export.sha256})
    try:
        return get_storage().open(export.storage_key)
    except (FileNotFoundError, ValueError):
        raise NotFound(_("The file is no longer available.")) from None



# --- what is downloaded directly -------------------------------------------------------------------------

def record_download(actor, what: str, payload: dict[str, Any]) -> None:
    """A direct download (360Giving, the list of operations) by staff is audited as an export. A published
    list downloaded by the public is open data, like the registry's: not audited (nothing private leaves,
    and an anonymous download must not be a way to grow the audit chain)."""
    if actor is None or not actor.is_authenticated:
        return
    record_event(action=f"export.{what}", object_type="export", object_id="", actor=actor,
                 role=acting_role(actor), payload=payload)


def publish_operations(programme, actor) -> None:
    """Make the programme's list of operations public (DESIGN §9): anyone may download it from now on."""
    if programme.operations_published_at is not None:
        return
    programme.operations_published_at = utcnow()
    db.session.flush()
    record_event(action="programme.operations_published", object_type="programme", object_id=programme.id,
                 actor=actor, role="officer")


def may_read_operations(actor, programme) -> bool:
    return programme.operations_published_at is not None or (
        actor.is_authenticated and actor.has_any_role(*EXPORTERS))
