"""kill -9 mid-burst loses nothing: gunicorn (master and 2 workers) serving the API on 127.0.0.1 takes a burst of
submits; when part of them have been answered, the master and the workers are killed with SIGKILL at once (no
handler runs, transactions are cut where they are). After a restart, every submit the client got a 2xx for is
there exactly once; nothing is half-written (each application is either submitted, with exactly one snapshot,
its eligibility results and its audit event, or still a draft with none of them); the audit chain verifies; and
the restarted server takes the remaining submits.

On the suite's database: PostgreSQL, and SQLite (a file: WAL, so a cut transaction leaves nothing). Bounded:
requests time out after 60 s; the servers' process groups are killed even when the test fails.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests import live_server
from tests.conftest import ADMIN_URL, live_application
from tests.test_deadline_rush import outcome, prepare

ON_POSTGRES = ADMIN_URL.startswith("postgresql")
DRAFTS, SUBMITTERS = (120, 10) if ON_POSTGRES else (60, 6)
#: Killed once this many submits have been answered 2xx: mid-burst.
KILL_AFTER = DRAFTS // 3
SUBMITTED = {"submitted", "eligibility_review"}


def test_kill_9_mid_burst_loses_nothing(tmp_path):
    with live_application(tmp_path) as app:
        call_id, tokens = prepare(app, DRAFTS, closes_in=timedelta(minutes=5), prefix="kill")
        url = app.config["DATABASE_URL"]
        acknowledged: set[int] = set()
        failures: list[str] = []
        guard = threading.Lock()
        server = live_server.start(url, tmp_path, workers=2, name="gunicorn-killed")
        restarted = None
        try:
            def press(item: tuple[int, str]) -> None:
                application_id, token = item
                try:
                    status, body = live_server.submit(server, application_id, token)
                except OSError as error:  # refused, reset, or cut mid-answer by the kill: not acknowledged
                    with guard:
                        failures.append(type(error).__name__)
                    return
                assert status < 500, (status, body)
                if 200 <= status < 300:
                    with guard:
                        acknowledged.add(application_id)

            with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
                futures = [pool.submit(press, item) for item in tokens]
                deadline = time.monotonic() + 60
                while len(acknowledged) < KILL_AFTER and time.monotonic() < deadline:
                    time.sleep(0.005)
                workers = server.workers()
                server.kill()  # master and workers, SIGKILL, mid-burst
                for future in futures:
                    future.result(timeout=90)  # a submit that raised anything but a connection error fails here
            killed_at = len(acknowledged)
            assert KILL_AFTER <= killed_at < DRAFTS, f"not killed mid-burst: {killed_at} of {DRAFTS} answered"
            assert len(workers) == 2 and failures, (workers, failures)

            restarted = live_server.start(url, tmp_path, workers=2, name="gunicorn-restarted")
            after_kill = outcome(app, call_id)
            states = after_kill["states"]
            rules = max(after_kill["results"].values())
            for application_id, state in states.items():
                if application_id in acknowledged:
                    assert state in SUBMITTED, (application_id, state)
                counts = (after_kill["rounds"][application_id], after_kill["events"][application_id],
                          after_kill["results"][application_id])
                if state in SUBMITTED:  # whole: one snapshot, one submit event, every rule's result once
                    assert counts == (1, 1, rules), (application_id, state, counts)
                else:  # untouched
                    assert state == "draft" and counts == (0, 0, 0), (application_id, state, counts)
            assert after_kill["chain"].valid, after_kill["chain"]

            drafts = [(i, token) for i, token in tokens if states[i] == "draft"]
            assert drafts, "every submit went through before the kill"
            answers = [live_server.submit(restarted, *item)[0] for item in drafts]
            assert answers == [200] * len(drafts), answers
            final = outcome(app, call_id)
        finally:
            for running in (server, restarted):
                if running is not None and running.process.poll() is None:
                    running.kill()

    assert set(final["states"].values()) <= SUBMITTED
    assert all(final["rounds"][i] == 1 and final["events"][i] == 1 for i in final["states"])
    assert final["chain"].valid, final["chain"]
    print(f"kill -9: killed after {killed_at} of {DRAFTS} submits were answered ({len(failures)} cut off); "
          f"{len(states) - len(drafts)} found submitted after the restart, {len(drafts)} submitted then")
