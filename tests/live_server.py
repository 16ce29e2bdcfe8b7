"""gunicorn serving the application on 127.0.0.1 (a free port), for the tests that send it real HTTP traffic from
many threads (the deadline rush) or kill it mid-burst (kill -9). Every request goes to 127.0.0.1 only, with a
timeout; the server is stopped (its whole process group) even when a test fails."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
#: Seconds gunicorn may take to answer its first request.
START_TIMEOUT = 60
#: Seconds one request may take.
REQUEST_TIMEOUT = 60


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def workers(self) -> list[int]:
        """The worker processes' ids (the master's children)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            return []

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once (the process group): nothing gets to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def server_env(database_url: str, upload_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The testing configuration on ``database_url``, inline background work (no Redis); ``extra`` settings on top."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GRANTS_")}
    env.update(GRANTS_CONFIG="testing", GRANTS_DATABASE_URL=database_url, GRANTS_UPLOAD_DIR=str(upload_dir))
    env.update(extra or {})
    return env


def start(database_url: str, tmp_path: Path, *, workers: int = 2, port: int | None = None,
          name: str = "gunicorn", env: dict[str, str] | None = None) -> Server:
    """gunicorn (master and ``workers`` sync workers) serving ``grants:create_app()``; returns once it answers.
    ``env``: settings (``GRANTS_…``) to give the app besides the testing configuration."""
    port = port or free_port()
    log = tmp_path / f"{name}.log"
    (tmp_path / "uploads").mkdir(exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"{HOST}:{port}", "--timeout", "60",
             "--graceful-timeout", "5", "grants:create_app()"],
            cwd=ROOT, env=server_env(database_url, tmp_path / "uploads", env), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: killed as one
    server = Server(process, port, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped at start-up:\n{server.tail()}")
        try:
            request(server, "GET", "/api/v1/me", timeout=5)
            if len(server.workers()) >= workers:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT} s:\n{server.tail()}")


@contextmanager
def serving(database_url: str, tmp_path: Path, **options: Any) -> Iterator[Server]:
    server = start(database_url, tmp_path, **options)
    try:
        yield server
    finally:
        stop(server)


def stop(server: Server) -> None:
    if server.process.poll() is None:
        try:
            os.killpg(server.process.pid, signal.SIGTERM)
            server.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            server.kill()


def request(server: Server, method: str, path: str, body: dict | None = None, token: str | None = None,
            timeout: float = REQUEST_TIMEOUT) -> tuple[int, dict | None]:
    """One request on a connection of its own: (status, JSON body or None)."""
    connection = http.client.HTTPConnection(HOST, server.port, timeout=timeout)
    try:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, None
    finally:
        connection.close()


def submit(server: Server, application_id: int, token: str) -> tuple[int, dict | None]:
    return request(server, "POST", f"/api/v1/applications/{application_id}/transitions", {"trigger": "submit"}, token)
