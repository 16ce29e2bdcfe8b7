"""Who may see an application.

Staff who run the programme (officers, committee, finance, auditors, admins) read every
application; applicants read those of the organisations they belong to. Anyone else reads an
application only through a :class:`Reader` that a higher domain registers: evaluators through
an assignment with a conflict-of-interest declaration (grants.evaluations.permissions).
Everyone else is told the application does not exist (404), so ids reveal nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from grants.applications.models import Application
from grants.organisations.models import Membership
from grants.workflows.engine import state_def


@dataclass(frozen=True)
class Reader:
    """Another way into applications, for holders of ``role``, registered by the domain that
    knows it (domains above applications; this one cannot ask them).

    ``may_read(user, application_id)`` is True when the user may read the application, False
    when the user is linked to it but may not open it yet (403 with ``not_yet``), None when
    there is no link (404). ``readable(user)`` is the same rule as a WHERE clause for lists."""

    role: str
    may_read: Callable[[Any, int], bool | None]
    readable: Callable[[Any], sa.ColumnElement[bool]]
    #: Why a linked user may not open the application yet (a lazy string).
    not_yet: Any


#: Filled when the app factory imports the domains.
READERS: list[Reader] = []


def register_reader(reader: Reader) -> Reader:
    if any(known.role == reader.role for known in READERS):
        raise ValueError(f"a reader for {reader.role!r} is registered twice")
    READERS.append(reader)
    return reader


def _readers_for(user) -> list[Reader]:
    return [reader for reader in READERS if user.has_role(reader.role)]


def reads_all_applications(user) -> bool:
    return user.is_authenticated and user.is_staff


def can_read(user, application: Application) -> bool:
    if not user.is_authenticated:
        return False
    if reads_all_applications(user) or user.is_member_of(application.organisation_id):
        return True
    return any(reader.may_read(user, application.id) for reader in _readers_for(user))


def refusal(user, application: Application) -> str | None:
    """For a user who may not read the application: why, when they are linked to it and may open
    it later (403); None when for them it does not exist (404)."""
    if not user.is_authenticated:
        return None
    return next((str(reader.not_yet) for reader in _readers_for(user)
                 if reader.may_read(user, application.id) is False), None)


def readable(user) -> sa.ColumnElement[bool]:
    """The same rule as a WHERE clause, for lists."""
    if reads_all_applications(user):
        return sa.true()
    own = Application.organisation_id.in_(sa.select(Membership.organisation_id).where(Membership.user_id == user.id))
    others = [reader.readable(user) for reader in _readers_for(user)]
    return sa.or_(own, *others) if others else own


def newest_change_first(user) -> list[sa.ColumnElement]:
    """The order of application lists: newest change first. Staff read every application: the
    ``(updated_at, id)`` index gives a page without sorting them all. Anyone else reads a few: they are found
    first and then sorted, since walking that index PostgreSQL would read every application to find them (the
    expression, equal to ``updated_at``, keeps the planner off it)."""
    if reads_all_applications(user):
        return [Application.updated_at.desc(), Application.id.desc()]
    return [sa.func.coalesce(Application.updated_at, Application.created_at).desc(), Application.id.desc()]


#: States (besides those tagged ``draft``) in which the applicant may change the application.
EDITABLE_STATES = frozenset({"clarification_requested"})


def is_editable(application: Application) -> bool:
    """Drafts (a concept note, an invited full proposal) and an open clarification request."""
    state = state_def(application)
    return state is not None and (state.tag == "draft" or state.name in EDITABLE_STATES)


def can_edit(user, application: Application) -> bool:
    """Members of the applying organisation, while the application is editable."""
    return user.is_authenticated and user.is_member_of(application.organisation_id) and is_editable(application)
