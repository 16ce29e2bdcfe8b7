"""Background work: through RQ when Redis is configured (``REDIS_URL``), inline otherwise.

A job is named by the dotted path of a function taking plain arguments (ids); the function runs in an
application context and commits its own work. With Redis, `make run-worker` (``flask --app grants
worker``) runs it; without, :func:`enqueue` calls it at once, in the request that asked.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, SimpleWorker

from grants.core.db import db

#: Longest a job may run before RQ stops it.
JOB_TIMEOUT = 3600


def is_configured() -> bool:
    return bool(current_app.config.get("REDIS_URL"))


def connection() -> Redis:
    return Redis.from_url(current_app.config["REDIS_URL"])


def queue() -> Queue:
    return Queue(current_app.config["RQ_QUEUE"], connection=connection())


def resolve(path: str):
    module, _dot, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def enqueue(path: str, *args: Any, job_id: str | None = None) -> str:
    """Run ``path(*args)`` in the background (RQ) or now (inline); returns ``"queued"`` or ``"inline"``."""
    if is_configured():
        queue().enqueue(path, *args, job_id=job_id, job_timeout=JOB_TIMEOUT, result_ttl=3600, failure_ttl=86400)
        return "queued"
    resolve(path)(*args)
    return "inline"


class Worker(SimpleWorker):
    """Runs jobs in the worker's own process, inside its application context (the CLI's), with a fresh
    database session for each job."""

    def execute_job(self, job, queue):
        try:
            return super().execute_job(job, queue)
        finally:
            db.session.remove()


def worker() -> Worker:
    return Worker([queue()], connection=connection())
