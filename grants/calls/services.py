"""Reading calls. Setting them up and publishing them arrives with the call editor."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from grants.calls.models import Call, CallStatus, PublicCallStatus
from grants.core.db import db, utcnow


def calls_query(status: str | None = None, *, include_drafts: bool = False,
                now: datetime | None = None) -> sa.Select:
    """Calls filtered by their public status; drafts only for staff."""
    now = now or utcnow()
    query = sa.select(Call).order_by(Call.closes_at, Call.id)
    if not include_drafts:
        query = query.where(Call.status != CallStatus.DRAFT)
    if status == PublicCallStatus.OPEN:
        query = query.where(Call.status == CallStatus.PUBLISHED, Call.opens_at <= now, Call.closes_at > now)
    elif status == PublicCallStatus.UPCOMING:
        query = query.where(Call.status == CallStatus.PUBLISHED, Call.opens_at > now)
    elif status == PublicCallStatus.CLOSED:
        query = query.where(sa.or_(Call.status == CallStatus.CLOSED,
                                   sa.and_(Call.status == CallStatus.PUBLISHED, Call.closes_at <= now)))
    elif status == PublicCallStatus.DRAFT:
        query = query.where(Call.status == CallStatus.DRAFT)
    return query


def get_visible_call(call_id: int, *, include_drafts: bool = False) -> Call | None:
    call = db.session.get(Call, call_id)
    if call is None or (call.status == CallStatus.DRAFT and not include_drafts):
        return None
    return call
