"""What a clarification request reopens, and keeping the rest of the application as submitted.

An officer asking for a clarification may name what the applicant may change: application
fields (``title``, ``summary``, ``requested_amount``, ``duration_months``), questions of the call's
form by code, and ``attachments`` (files not tied to a question; a file question's own file is
reopened with the question). The list travels in the ``request_clarification`` transition's
payload, so it is part of the tamper-evident audit trail and nothing else has to store it. A
request that names nothing reopens the whole application.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.core.db import db
from grants.core.errors import UserInputError
from grants.forms.definitions import iter_questions
from grants.workflows.services import act

TRIGGER = "request_clarification"
#: Files not tied to a form question.
ATTACHMENTS = "attachments"
APPLICATION_FIELDS: dict[str, Any] = {
    "title": _l("Title"),
    "summary": _l("Summary"),
    "requested_amount": _l("Requested amount (EUR)"),
    "duration_months": _l("Duration (months)"),
}
NOT_REOPENED = _l("The clarification request did not reopen this; it stays as submitted.")


def _localised(item: dict[str, Any], field: str, language: str) -> str:
    other = "en" if language == "lv" else "lv"
    return str(item.get(f"{field}_{language}") or item.get(f"{field}_{other}") or item.get("code") or "")


def reopenable(application: Application, language: str) -> list[tuple[str, str]]:
    """What an officer may reopen, as ``(code, label)`` in the order the applicant sees it."""
    choices = [(code, str(label)) for code, label in APPLICATION_FIELDS.items()]
    for section, question in iter_questions(application.call.form or []):
        choices.append((question["code"], f"{_localised(section, 'title', language)}: "
                                          f"{_localised(question, 'label', language)}"))
    choices.append((ATTACHMENTS, _("Attached files (not tied to a question)")))
    return choices


def check_reopen(application: Application, trigger: str, codes: list[str] | None) -> list[str] | None:
    """The reopen list in form order, or :class:`UserInputError` naming what is wrong with it."""
    if codes is None:
        return None
    if trigger != TRIGGER:
        raise UserInputError(fields={"reopen": [_("Only a clarification request reopens parts of the application.")]})
    known = [code for code, _label in reopenable(application, "en")]
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise UserInputError(fields={"reopen": [_("Not a field or question of this application: %(codes)s.",
                                                  codes=", ".join(unknown))]})
    return [code for code in known if code in set(codes)]


def reopened_scope(application: Application) -> frozenset[str] | None:
    """What the applicant may change now: ``None`` for everything (a draft, or a clarification
    request that named nothing); otherwise the codes the latest request named."""
    if application.state != "clarification_requested":
        return None
    payload = db.session.scalar(
        sa.select(AuditEvent.payload)
        .where(AuditEvent.object_type == "application", AuditEvent.object_id == str(application.id),
               AuditEvent.action == f"application.{TRIGGER}")
        .order_by(AuditEvent.id.desc()).limit(1))
    codes = (payload or {}).get("reopen")
    return frozenset(codes) if codes else None


def reopened_labels(application: Application, scope: frozenset[str] | None, language: str) -> list[str]:
    """The reopened items as the applicant reads them (empty when everything is open)."""
    if scope is None:
        return []
    return [label for code, label in reopenable(application, language) if code in scope]


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _same(old: Any, new: Any) -> bool:
    return (_blank(old) and _blank(new)) or old == new


def locked_changes(application: Application, data: dict[str, Any],
                   scope: frozenset[str] | None) -> dict[str, list[str]]:
    """Errors by field for every change ``data`` makes outside ``scope`` (answers already normalised)."""
    if scope is None:
        return {}
    errors: dict[str, list[str]] = {}
    for field in APPLICATION_FIELDS:
        if field in data and field not in scope and not _same(getattr(application, field), data[field]):
            errors[field] = [str(NOT_REOPENED)]
    if "answers" in data:
        old, new = application.answers or {}, data["answers"] or {}
        for code in sorted(set(old) | set(new)):
            if code not in scope and not _same(old.get(code), new.get(code)):
                errors[f"answers.{code}"] = [str(NOT_REOPENED)]
    return errors


def may_change_file(scope: frozenset[str] | None, question_code: str | None) -> bool:
    """Whether a file (of a question, or a loose attachment) may be added or removed now."""
    return scope is None or (question_code in scope if question_code else ATTACHMENTS in scope)


def act_on_application(application: Application, trigger: str, actor, comment: str | None = None,
                       expected_version: int | None = None, reopen: list[str] | None = None):
    """Fire a trigger on an application; a clarification request may name what it reopens."""
    codes = check_reopen(application, trigger, reopen)
    extra = {"reopen": codes} if codes else {}
    return act(application, trigger, actor, comment=comment, expected_version=expected_version, **extra)
