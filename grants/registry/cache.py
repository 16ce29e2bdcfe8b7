"""The public registry's aggregates, kept per process while nothing they read has changed.

Every page of the registry (the list, its facets, the year's overview) aggregates all funded initiatives:
0.2-0.5 s a statement at 100,000 applications, whatever page is asked for. What they show is public and
holds no personal data, and it changes only when something is written. So each process keeps the answers it
computed, keyed by a fingerprint of the database read in one statement on every request:

- the audit chain's head (its hash and event id): every audited change (a decision, an agreement, a workflow
  transition, an edit of an initiative or an organisation) moves it, so an answer kept under a head is never
  older than the last audited write;
- the number and newest id of the decisions, the agreements and the initiatives: what makes an initiative
  funded, and what it is worth, even when written without an event (data loaded in bulk, test factories).

Answers are kept (grants.core.kept) only once the chain has an event (an empty chain's head is the same in every
database), each with the fingerprint it was computed under. At most ``MAX_ENTRIES`` answers are kept (a search's
text is part of the key); the least recently used go first. Callers receive a copy, never the kept object.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, has_request_context

from grants.audit.models import AuditHead
from grants.core.db import db
from grants.core.i18n import current_language
from grants.core.kept import Kept
from grants.decisions.models import Decision
from grants.grants_mgmt.models import GrantAgreement
from grants.initiatives.models import Initiative

#: How many answers a process keeps (pages of a search, facets, overviews).
MAX_ENTRIES = 256

T = TypeVar("T")

_kept = Kept(MAX_ENTRIES)


def fingerprint() -> tuple | None:
    """The database's state as far as the registry can tell, in one statement; None when the audit chain is
    empty (nothing is kept then)."""
    columns = [AuditHead.hash, AuditHead.event_id]
    for model in (Decision, GrantAgreement, Initiative):
        columns.append(sa.select(sa.func.count(model.id)).scalar_subquery())
        columns.append(sa.select(sa.func.max(model.id)).scalar_subquery())
    row = db.session.execute(sa.select(*columns).where(AuditHead.id == 1)).first()
    if row is None or row[1] is None:
        return None
    return tuple(row)


def _request_fingerprint() -> tuple | None:
    """The fingerprint, read once per request (a page asks for its list and its facets)."""
    if not has_request_context():
        return fingerprint()
    if "registry_fingerprint" not in g:
        g.registry_fingerprint = fingerprint()
    return g.registry_fingerprint


def kept_while_unchanged(function: Callable[..., T]) -> Callable[..., T]:
    """``function``'s answer for the same arguments and language, kept while the fingerprint stays."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        key = (function.__name__, current_language(), args, tuple(sorted(kwargs.items())))
        return _kept.get(key, _request_fingerprint(), lambda: function(*args, **kwargs))

    return wrapper
