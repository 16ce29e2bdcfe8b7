"""Paging and ids, shared by the HTML pages and the API of every domain."""

from __future__ import annotations

import json

import marshmallow as ma
import sqlalchemy as sa

from grants.core.db import db
from grants.core.input_guard import MAX_ID

#: Ids in request bodies: INTEGER columns on every database.
valid_id = ma.validate.Range(min=1, max=MAX_ID, error="Not a valid id.")


class PageArgs(ma.Schema):
    #: At most an id's maximum: the page's offset stays a number every database takes (beyond the last page
    #: the list is empty).
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=MAX_ID))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


def count_of(query: sa.Select) -> int:
    """How many rows ``query`` gives, whatever it selects."""
    return db.session.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one()


#: Up to this many rows a list's total is counted exactly; beyond it the database's estimate is given.
EXACT_COUNT_UP_TO = 10_000


def bounded_count(query: sa.Select, up_to: int | None = None) -> tuple[int, bool]:
    """``(total, is_estimate)`` for lists that may be very long (the audit trail, all applications).

    Counting two million rows on every page costs more than the page itself, and nobody pages to the end of
    such a list (they filter, or follow ``before_id`` keyset links). So the rows are counted only up to
    ``up_to`` (an index range read that stops there); a longer list's total is PostgreSQL's planner estimate of
    the query (statistics kept by ANALYZE; an EXPLAIN, no rows read) and is flagged as an estimate. SQLite
    keeps no such statistics: there it is counted (a B-tree walk in C, fast enough at that size)."""
    up_to = EXACT_COUNT_UP_TO if up_to is None else up_to
    # the rows' existence only: no column read, so an index can answer
    narrow = query.order_by(None).with_only_columns(sa.literal(1), maintain_column_froms=True)
    capped = db.session.execute(sa.select(sa.func.count()).select_from(narrow.limit(up_to + 1).subquery())
                                ).scalar_one()
    if capped <= up_to:
        return capped, False
    if db.session.get_bind().dialect.name != "postgresql":
        return db.session.execute(sa.select(sa.func.count()).select_from(narrow.subquery())).scalar_one(), False
    compiled = narrow.compile(dialect=db.session.get_bind().dialect)
    plan = db.session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled),
                                                    compiled.params).scalar_one()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    return max(int(plan[0]["Plan"]["Plan Rows"]), capped), True


def window(query: sa.Select, page: int, per_page: int) -> sa.Select:
    """The rows of page ``page`` (from 1)."""
    return query.limit(per_page).offset((page - 1) * per_page)


def page_of(query: sa.Select, page: int, per_page: int, *, bounded: bool = False) -> dict:
    """``{items, total, page}`` for a select of objects; two queries whatever the size. ``bounded``: a list
    that may be very long, counted by ``bounded_count`` (``total_is_estimate`` says which total it is)."""
    items = db.session.execute(window(query, page, per_page)).unique().scalars().all()
    if bounded:
        total, estimate = bounded_count(query)
        return {"items": items, "total": total, "total_is_estimate": estimate, "page": page}
    return {"items": items, "total": count_of(query), "page": page}


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    return type(f"{item_schema.__name__.removesuffix('Schema')}PageSchema", (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "total": ma.fields.Integer(),
        "total_is_estimate": ma.fields.Boolean(metadata={
            "description": "Present on lists that may be very long: true when `total` is the database's "
                           "estimate (over 10,000 rows) rather than a count."}),
        "page": ma.fields.Integer(),
    })
