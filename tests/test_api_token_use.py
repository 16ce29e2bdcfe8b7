"""A token's last use: recorded in a short transaction of its own when the request starts (at most once a
minute), so read-only API lists neither commit for it nor reload the rows they read."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from grants.core.db import db, utcnow
from grants.eligibility.models import AidSource, DeMinimisAid
from grants.users.models import ApiToken
from grants.users.services import TOKEN_USE_RESOLUTION, issue_token
from tests.factories import make_user


def _last_used(session, token_id: int):
    session.expire_all()
    return session.scalar(sa.select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def _updates(counter) -> int:
    return sum(1 for statement in counter.statements if statement.lstrip().upper().startswith("UPDATE API_TOKENS"))


def test_a_read_records_the_tokens_use_and_keeps_it(client, session, count_queries):
    user = make_user()
    token, record = issue_token(user)
    session.commit()
    assert record.last_used_at is None
    headers = {"Authorization": f"Bearer {token}"}
    with count_queries() as first:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    used = _last_used(session, record.id)
    assert used is not None and utcnow() - used < timedelta(seconds=30)
    assert _updates(first) == 1

    with count_queries() as again:  # within the resolution: nothing written
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert _updates(again) == 0
    assert _last_used(session, record.id) == used

    earlier = utcnow() - TOKEN_USE_RESOLUTION - timedelta(seconds=1)
    session.execute(sa.update(ApiToken).where(ApiToken.id == record.id).values(last_used_at=earlier))
    session.commit()
    assert client.get("/api/v1/workflows", headers=headers).status_code in (200, 403)
    assert _last_used(session, record.id) > earlier


def test_a_refused_or_unknown_token_records_nothing(client, session):
    user = make_user()
    token, record = issue_token(user)
    record.revoked_at = utcnow()
    session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _last_used(session, record.id) is None
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_api_list_statements_do_not_grow_with_the_rows(client, session, count_queries):
    officer = make_user("officer")
    token, _record = issue_token(officer)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}

    def add(count: int) -> None:
        for i in range(count):
            db.session.add(DeMinimisAid(registration_number="40003000001", undertaking="SIA Tests",
                                        amount=Decimal("1.00"), granted_on=date(2026, 1, 1) + timedelta(days=i),
                                        granting_authority="LIAA", reference=f"R-{i}-{count}",
                                        source=AidSource.IMPORT))
        db.session.commit()

    add(2)
    client.get("/api/v1/de-minimis", headers=headers)  # the token's use is written on this first one
    with count_queries() as few:
        response = client.get("/api/v1/de-minimis", headers=headers)
    assert response.status_code == 200 and len(response.get_json()["items"]) == 2
    add(20)
    with count_queries() as many:
        response = client.get("/api/v1/de-minimis", headers=headers)
    assert response.status_code == 200 and len(response.get_json()["items"]) == 22
    assert many.count == few.count
