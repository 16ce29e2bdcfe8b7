"""Paging and ids, shared by the HTML pages and the API of every domain."""

from __future__ import annotations

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


def window(query: sa.Select, page: int, per_page: int) -> sa.Select:
    """The rows of page ``page`` (from 1)."""
    return query.limit(per_page).offset((page - 1) * per_page)


def page_of(query: sa.Select, page: int, per_page: int) -> dict:
    """``{items, total, page}`` for a select of objects; two queries whatever the size."""
    items = db.session.execute(window(query, page, per_page)).unique().scalars().all()
    return {"items": items, "total": count_of(query), "page": page}


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    return type(f"{item_schema.__name__.removesuffix('Schema')}PageSchema", (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "total": ma.fields.Integer(),
        "page": ma.fields.Integer(),
    })
