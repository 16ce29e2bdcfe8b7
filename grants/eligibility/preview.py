"""The ruleset editor's preview: a call's rules, stored or as typed, tried on an application
(nothing is stored)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.applications.models import Application
from grants.calls.models import Call
from grants.core.db import db
from grants.core.errors import UserInputError
from grants.eligibility.rules import RulesetError, validate_ruleset
from grants.eligibility.services import check_application
from grants.organisations.models import Organisation


def preview_candidates(call: Call, limit: int = 200) -> list[tuple[int, str, str]]:
    """(id, title, organisation) of the applications a preview may use: the call's own, or any when the
    call has none yet. One query (two when the call has none)."""
    query = (sa.select(Application.id, Application.title, Organisation.name)
             .join(Organisation, Organisation.id == Application.organisation_id)
             .order_by(Application.id.desc()).limit(limit))
    rows = db.session.execute(query.where(Application.call_id == call.id)).all()
    if not rows:
        rows = db.session.execute(query).all()
    return [(row[0], row[1], row[2]) for row in rows]


def preview_application(call: Call, application_id: Any):
    """The application a preview runs on: of this call, or any when the call has none; else 422."""
    application = db.session.get(Application, application_id) if isinstance(application_id, int) else None
    if application is None:
        raise UserInputError(fields={"application_id": [_("There is no application with this number.")]})
    if application.call_id != call.id and db.session.execute(
            sa.select(Application.id).where(Application.call_id == call.id).limit(1)).scalar() is not None:
        raise UserInputError(fields={"application_id": [
            _("Choose an application of this call; any application only while the call has none.")]})
    return application


def preview_rules(application, call: Call, rules: Any = None, *, prefix: str = "rules") -> list:
    """Each rule's :class:`~grants.eligibility.services.RuleOutcome` for ``application`` under the call's
    stored rules, or under ``rules`` (validated first: 422 under ``<prefix>.<index>.<field>``).
    Nothing is stored."""
    if rules is None:
        validated = call.eligibility_rules or []
    else:
        try:
            validated = validate_ruleset(rules)
        except RulesetError as error:
            raise RulesetError(fields={(f"{prefix}.{path}" if path not in ("", "rules") else prefix): messages
                                       for path, messages in (error.fields or {"": [str(error)]}).items()}) from None
    return check_application(application, rules=validated)
