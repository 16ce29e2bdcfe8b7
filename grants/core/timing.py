"""Server-side timing of each request for the page benchmark (bench/pages.py), behind ``BENCH_TIMING``.

With the setting on, every response carries a ``Server-Timing`` header (W3C Server Timing):

    Server-Timing: app;dur=12.345, db;dur=3.210, sql;desc="7", worker;desc="4711"

``app`` is the request's wall time in the application (from the first before-request function to the last
after-request function, in milliseconds), ``db`` the time spent in SQL statements, ``sql`` how many statements
it sent (SQLAlchemy ``before_cursor_execute``, counted per request), ``worker`` the process that answered (the
benchmark warms every worker up before timing: each keeps its own answers). Off by default: production never sends it.
"""

from __future__ import annotations

import os
import time

import sqlalchemy as sa
from flask import Flask, g, has_request_context

HEADER = "Server-Timing"


def _count_start(conn, cursor, statement, parameters, context, executemany) -> None:
    if has_request_context() and "timing_started" in g:
        g.timing_statements += 1
        conn.info.setdefault("timing_stack", []).append(time.perf_counter())


def _count_end(conn, cursor, statement, parameters, context, executemany) -> None:
    stack = conn.info.get("timing_stack")
    if stack and has_request_context() and "timing_started" in g:
        g.timing_sql += time.perf_counter() - stack.pop()


def register_timing(app: Flask) -> None:
    """Time every request and count its SQL statements (the counters live in ``g``: an app without the
    setting, in the same process, counts nothing)."""
    if not sa.event.contains(sa.engine.Engine, "before_cursor_execute", _count_start):
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", _count_start)
        sa.event.listen(sa.engine.Engine, "after_cursor_execute", _count_end)

    def start() -> None:
        g.timing_started = time.perf_counter()
        g.timing_statements = 0
        g.timing_sql = 0.0

    def finish(response):
        started = g.pop("timing_started", None)
        if started is not None:
            took = (time.perf_counter() - started) * 1000
            response.headers[HEADER] = (f'app;dur={took:.3f}, db;dur={g.timing_sql * 1000:.3f}, '
                                        f'sql;desc="{g.timing_statements}", worker;desc="{os.getpid()}"')
        return response

    # first in, last out: the whole request is timed, the other hooks included
    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)
