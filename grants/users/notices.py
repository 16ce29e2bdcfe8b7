"""In-app notifications: every message the outbox e-mails to a registered person is also kept for them to read
in the application (the notifications page, the count beside it on every page, ``/api/v1/notifications``).

Registered with the outbox (grants.notifications.services.DELIVERIES) when the app factory imports this module,
so that a notice is written in the same transaction as its e-mail and the change it tells about.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from grants.core.db import db, utcnow
from grants.core.errors import NotFound
from grants.notifications.services import DELIVERIES
from grants.users.models import Notice, User


def deliver_in_app(message, user: User) -> None:
    """The notice of an outbox ``message`` to ``user``; their unread count goes up in the same UPDATE, so two
    transactions notifying the same person never lose one."""
    db.session.add(Notice(user_id=user.id, kind=message.kind, subject=message.subject, body=message.body,
                          object_type=message.object_type, object_id=message.object_id))
    db.session.execute(sa.update(User).where(User.id == user.id)
                       .values(unread_notices=User.unread_notices + 1).execution_options(synchronize_session=False))
    db.session.flush()
    db.session.expire(user, ["unread_notices"])


if deliver_in_app not in DELIVERIES:
    DELIVERIES.append(deliver_in_app)


def notices_query(user: User, *, unread_only: bool = False) -> sa.Select:
    """The person's notices, newest first."""
    query = sa.select(Notice).where(Notice.user_id == user.id).order_by(Notice.id.desc())
    return query.where(Notice.read_at.is_(None)) if unread_only else query


def get_notice(user: User, notice_id: int) -> Notice:
    """One of the person's own notices (anyone else's is not found)."""
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.user_id != user.id:
        raise NotFound()
    return notice


def mark_read(user: User, ids: list[int] | None = None) -> int:
    """Mark the person's notices read (``ids``, or all); returns how many are still unread. Reading is not an
    audited change of the programme's records (nothing but the reader's own view changes). Notices already
    loaded keep their old ``read_at`` until the caller's commit expires them."""
    now = utcnow()
    condition = sa.and_(Notice.user_id == user.id, Notice.read_at.is_(None))
    if ids is not None:
        condition = sa.and_(condition, Notice.id.in_(ids))
    db.session.execute(sa.update(Notice).where(condition).values(read_at=now)
                       .execution_options(synchronize_session=False))
    unread = (sa.select(sa.func.count(Notice.id)).where(Notice.user_id == user.id, Notice.read_at.is_(None))
              .scalar_subquery())
    db.session.execute(sa.update(User).where(User.id == user.id).values(unread_notices=unread)
                       .execution_options(synchronize_session=False))
    db.session.expire(user, ["unread_notices"])
    return int(user.unread_notices or 0)


#: Where a notice about an object takes its reader: (endpoint, URL variable or None) per object type.
LINKS: dict[str, tuple[str, str | None]] = {
    "application": ("applications.detail", "application_id"),
    "call": ("calls.detail", "call_id"),
    "organisation": ("organisations.mine", None),
}


def link_of(notice: Notice) -> tuple[str, dict[str, Any]] | None:
    """The page a notice is about, as (endpoint, URL values), or None."""
    found = LINKS.get(notice.object_type)
    if found is None:
        return None
    endpoint, name = found
    if name is None:
        return endpoint, {}
    return (endpoint, {name: int(notice.object_id)}) if notice.object_id.isdigit() else None
