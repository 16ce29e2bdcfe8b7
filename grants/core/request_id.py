"""A request id for every request: logged with audit events, returned as ``X-Request-ID``."""

from __future__ import annotations

import re
import uuid

from flask import Flask, g, has_request_context, request

HEADER = "X-Request-ID"
#: An id sent by a trusted proxy is kept when it looks like one; anything else is replaced.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request (CLI, jobs)."""
    if not has_request_context():
        return None
    return g.get("request_id")


def register_request_id(app: Flask) -> None:
    @app.before_request
    def assign_request_id():
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _ACCEPTABLE.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def return_request_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers[HEADER] = request_id
        return response
