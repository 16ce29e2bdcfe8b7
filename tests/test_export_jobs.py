"""Exports through a real Redis and RQ worker: queued, made by the worker, downloaded; and a worker killed
(kill -9) mid-export loses nothing — the export is made again from the start and never served half-written.

Skipped, saying why, only where no Redis answers on 127.0.0.1:6379; `.ci/run` sets REQUIRE_REDIS so CI fails
instead of skipping.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError

from grants.core import jobs
from grants.core.db import db
from grants.exports.models import Export
from grants.exports.services import requeue_stale
from grants.grants_mgmt.models import Payment, PaymentKind
from tests.conftest import live_application
from tests.factories import bearer, make_evaluation_call, make_user, signed_grant

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, emptied around each test
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def redis_url():
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except RedisError:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS is set but no Redis answers on 127.0.0.1:6379")
        pytest.skip("No Redis answers on 127.0.0.1:6379: the background path of exports is not tested here "
                    "(the inline path is, in test_exports.py).")
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()


@pytest.fixture
def live(tmp_path, redis_url):
    with live_application(tmp_path) as app:
        app.config.update(REDIS_URL=redis_url, RQ_QUEUE=f"grants-test-{uuid.uuid4().hex[:8]}",
                          UPLOAD_DIR=str(tmp_path / "uploads"), EXPORT_STALE_SECONDS=1)
        yield app


def _grant_with_payments(app, count: int) -> tuple[int, str]:
    """A grant with ``count`` more instalment rows (bulk-inserted), committed; the officer's token."""
    with app.test_request_context():
        people = {"officer": make_user("officer"), "committee": make_user("committee")}
        application = signed_grant(people, call=make_evaluation_call(workflow_version=4))
        stamp = datetime(2025, 1, 1).astimezone()
        for start in range(0, count, 5000):
            db.session.execute(sa.insert(Payment), [
                {"application_id": application.id, "kind": PaymentKind.ADVANCE, "si_stage": application.si_stage,
                 "amount": Decimal("1.00"), "due_on": date(2025, 1, 1), "state": "planned",
                 "workflow_name": "payment", "workflow_version": 1, "version": 1, "reference": "",
                 "created_at": stamp, "updated_at": stamp} for _ in range(min(5000, count - start))])
        headers = bearer(people["officer"])
        db.session.commit()
        return application.id, headers["Authorization"]


def test_an_export_goes_through_redis_and_a_worker(live):
    _app_id, token = _grant_with_payments(live, 0)
    client = live.test_client()
    headers = {"Authorization": token}
    response = client.post("/api/v1/exports", json={"kind": "payments", "format": "csv"}, headers=headers)
    assert response.status_code == 202 and response.get_json()["state"] == "queued"
    export_id = response.get_json()["id"]
    with live.app_context():
        assert jobs.queue().count == 1
        jobs.worker().work(burst=True, with_scheduler=False)
    done = client.get(f"/api/v1/exports/{export_id}", headers=headers).get_json()
    assert done["state"] == "done" and done["progress"] == 3, done
    file = client.get(done["download_url"], headers=headers)
    rows = list(csv.reader(io.StringIO(file.get_data(as_text=True).lstrip("\ufeff"))))
    file.close()
    assert len(rows) == 4  # the header and the three instalments of the agreement


def _worker(live) -> subprocess.Popen:
    env = {**os.environ, "GRANTS_CONFIG": "testing", "GRANTS_DATABASE_URL": live.config["DATABASE_URL"],
           "GRANTS_REDIS_URL": live.config["REDIS_URL"], "GRANTS_RQ_QUEUE": live.config["RQ_QUEUE"],
           "GRANTS_UPLOAD_DIR": live.config["UPLOAD_DIR"], "GRANTS_EXPORT_STALE_SECONDS": "1"}
    env.pop("GRANTS_TEST_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "grants", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _export(live, export_id: int) -> Export:
    with live.app_context():
        export = db.session.get(Export, export_id)
        db.session.expunge_all()
        return export


def test_a_worker_killed_mid_export_loses_nothing(live):
    app_id, token = _grant_with_payments(live, 60000)
    client = live.test_client()
    headers = {"Authorization": token}
    export_id = client.post("/api/v1/exports", json={"kind": "payments", "format": "csv"},
                            headers=headers).get_json()["id"]
    worker = _worker(live)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            export = _export(live, export_id)
            if export.state == "running" and export.progress > 0:
                break
            assert worker.poll() is None, "the worker stopped by itself"
            time.sleep(0.02)
        else:
            pytest.fail("the worker never started the export")
        os.kill(worker.pid, signal.SIGKILL)  # mid-export, with no chance to clean up
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    half = _export(live, export_id)
    assert half.state == "running" and 0 < half.progress < 60003 and half.storage_key is None
    assert client.get(f"/api/v1/exports/{export_id}/download", headers=headers).status_code == 409
    time.sleep(1.2)  # its heartbeat goes stale (EXPORT_STALE_SECONDS=1)
    with live.app_context():
        assert requeue_stale() == [export_id]  # what a starting worker (or someone looking) does
        jobs.worker().work(burst=True, with_scheduler=False)
    done = client.get(f"/api/v1/exports/{export_id}", headers=headers).get_json()
    assert done["state"] == "done" and done["attempts"] == 2, done
    file = client.get(done["download_url"], headers=headers)
    text = file.get_data(as_text=True)
    file.close()
    assert text.count("\r\n") == 1 + 60003  # the header and every row: the file is whole
    with live.app_context():
        actions = db.session.scalars(sa.select(sa.text("action")).select_from(sa.table("audit_events")).where(
            sa.text("object_type = 'export'"))).all()
        assert actions.count("export.start") == 2 and "export.requeue" in actions and "export.finish" in actions
    assert app_id
