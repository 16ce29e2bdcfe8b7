"""One error hierarchy for the whole service, and its handlers.

Under ``/api`` every error is JSON ``{error, message, fields}`` (plus ``reasons`` for refused
transitions); elsewhere a friendly page in the user's language. Unexpected errors are logged
and answered with a generic 500; in tests they propagate so the test fails loudly.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from grants.core.db import db
from grants.core.validation_messages import translate_validation_message

log = logging.getLogger(__name__)


class GrantsError(Exception):
    status = 400
    code = "bad_request"
    default_message = _l("The request could not be processed.")

    def __init__(self, message: str | None = None, *, fields: dict[str, list[str]] | None = None,
                 **extra: Any):
        super().__init__(message or str(self.default_message))
        self.message = message
        self.fields = fields or {}
        self.extra = extra

    def payload(self) -> dict[str, Any]:
        body = {"error": self.code, "message": str(self.message or self.default_message),
                "fields": self.fields}
        body.update(self.extra)
        return body


class NotFound(GrantsError):
    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class AuthenticationRequired(GrantsError):
    status = 401
    code = "unauthorized"
    default_message = _l("Please sign in.")


class PermissionDenied(GrantsError):
    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do this.")


class UserInputError(GrantsError):
    status = 422
    code = "validation_error"
    default_message = _l("Some fields need attention.")


class Conflict(GrantsError):
    status = 409
    code = "conflict"
    default_message = _l("Someone else changed this in the meantime. Reload and try again.")


class TransitionNotAllowed(GrantsError):
    status = 409
    code = "transition_not_allowed"
    default_message = _l("This action is not possible now.")

    def __init__(self, message: str | None = None, *, reasons: list[dict[str, str]] | None = None,
                 **kwargs: Any):
        super().__init__(message, **kwargs)
        self.reasons = reasons or []

    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "reasons": self.reasons}


#: PostgreSQL SQLSTATEs of a transaction that lost a race: deadlock, serialisation failure, lock timeout.
_CONTENTION_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def is_contention(error: OperationalError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _CONTENTION_SQLSTATES
    return "database is locked" in str(error.orig)


def wants_json() -> bool:
    return request.path.startswith("/api/")


_HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please sign in."),
    403: _l("You are not allowed to do this."),
    404: _l("The page or object you asked for does not exist."),
    405: _l("This method is not allowed here."),
    409: _l("This conflicts with the current state."),
    413: _l("The upload is too large."),
    415: _l("This content type is not supported."),
    422: _l("Some fields need attention."),
    429: _l("Too many attempts. Please wait a minute and try again."),
    500: _l("Something went wrong on our side. The error has been logged."),
}

_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests",
    500: "internal_error",
}


def _nested_messages(errors: Any, path: str = "") -> list[str]:
    """marshmallow's messages under one field, however deep (a nested schema, a list index, a dict's key or
    value), each translated and prefixed with where it is: ``"0.amount: …"``."""
    if isinstance(errors, dict):
        return [message for key, value in errors.items()
                for message in _nested_messages(value, f"{path}.{key}" if path else str(key))]
    if isinstance(errors, list | tuple) and all(isinstance(error, str) for error in errors):
        translated = ", ".join(translate_validation_message(error) for error in errors)
        return [f"{path}: {translated}" if path else translated]
    if isinstance(errors, list | tuple):
        return [message for error in errors for message in _nested_messages(error, path)]
    translated = translate_validation_message(str(errors))
    return [f"{path}: {translated}" if path else translated]


def _flatten_webargs_messages(data: Any) -> dict[str, list[str]]:
    """webargs nests messages by location ("json", "query"); clients want field -> [messages]."""
    fields: dict[str, list[str]] = {}
    messages = (data or {}).get("messages") or {}
    for location_messages in messages.values():
        if not isinstance(location_messages, dict):
            continue
        for field, errs in location_messages.items():
            name = "" if field is None else str(field)  # a multipart part without a name comes as None
            if isinstance(errs, dict):  # nested schema or list index
                fields[name] = _nested_messages(errs)
            else:
                fields[name] = [translate_validation_message(str(e))
                                for e in (errs if isinstance(errs, list) else [errs])]
    return fields


def http_error_response(error: HTTPException):
    status = error.code or 500
    if wants_json():
        data = getattr(error, "data", None) or {}
        fields = _flatten_webargs_messages(data)
        message = _HTTP_MESSAGES.get(status, error.description)
        if status == 400 and isinstance((data.get("messages") or {}).get("json"), list):
            message = _("The request body is not valid JSON.")  # webargs could not parse it
        body = {"error": _HTTP_CODES.get(status, "error"), "message": str(message), "fields": fields}
        response = jsonify(body)
        response.status_code = status
        if error.get_headers():
            for key, value in error.get_headers():
                if key.lower() != "content-type":
                    response.headers[key] = value
        return response
    message = _HTTP_MESSAGES.get(status, error.description)
    return render_template("errors/error.html", status=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(GrantsError)
    def handle_grants_error(error: GrantsError):
        if wants_json():
            response = jsonify(error.payload())
            response.status_code = error.status
            return response
        message = error.message or error.default_message
        return render_template("errors/error.html", status=error.status, message=message), error.status

    @app.errorhandler(CSRFError)
    def handle_csrf(error: CSRFError):
        message = _("The form has expired or was not sent from this site. Please go back, "
                    "reload the page and send it again; nothing was saved.")
        if wants_json():
            return jsonify({"error": "csrf_failed", "message": message, "fields": {}}), 400
        return render_template("errors/error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        return http_error_response(error)

    @app.errorhandler(OperationalError)
    def handle_contention(error: OperationalError):
        """A writer that lost to another one (deadlock, serialisation failure, a busy SQLite) has
        changed nothing (the transaction is rolled back): a retryable conflict, not a crash."""
        if not is_contention(error):
            return handle_unexpected(error)
        log.warning("Write contention on %s %s: %s", request.method, request.path, str(error).splitlines()[0])
        db.session.rollback()
        return handle_grants_error(Conflict())

    @app.errorhandler(OverflowError)
    def handle_huge_number(error: OverflowError):
        """A number too large for the database (an id in a path, say) names nothing stored: not found."""
        db.session.rollback()
        return handle_grants_error(NotFound())

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        if app.testing:
            raise error
        log.exception("Unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return jsonify({"error": "internal_error", "message": str(_HTTP_MESSAGES[500]),
                            "fields": {}}), 500
        return render_template("errors/error.html", status=500, message=_HTTP_MESSAGES[500]), 500
