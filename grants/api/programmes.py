"""Programmes (staff): list, read, create and change; each with what its calls hold."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.calls import programmes
from grants.calls.models import Programme
from grants.core.db import db
from grants.core.paging import PageArgs, page_of, page_schema

blp = Blueprint("api_programmes", __name__, description="Programmes: the money re-granted through calls")


class ProgrammeSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    title = ma.fields.String(metadata={"description": "In the request's language."})
    title_lv = ma.fields.String()
    title_en = ma.fields.String()
    fund_source = ma.fields.String()
    budget = ma.fields.Decimal(places=2, as_string=True)
    currency = ma.fields.String()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    stage_model = ma.fields.String()
    allocated = ma.fields.Decimal(places=2, as_string=True, metadata={
        "description": "What the programme's calls hold: the sum of their budgets."})
    unallocated = ma.fields.Decimal(places=2, as_string=True, metadata={"description": "budget − allocated."})
    calls = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "The programme's calls: id, code, title, status, budget (on one programme only)."})


def _row(programme: Programme, held, calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    row = {key: getattr(programme, key) for key in ("id", "code", "title", "title_lv", "title_en", "budget",
                                                    "currency", "starts_on", "ends_on", "stage_model")}
    row.update(fund_source=programme.fund_source.value, allocated=held, unallocated=programme.budget - held)
    if calls is not None:
        row["calls"] = calls
    return row


def _one(programme: Programme) -> dict[str, Any]:
    held = programmes.allocated([programme.id])[programme.id]
    calls = [{"id": call.id, "code": call.code, "title": call.title, "status": call.public_status().value,
              "budget": f"{call.budget:.2f}"} for call in programme.calls]
    return _row(programme, held, calls)


@blp.route("/programmes", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*programmes.READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(ProgrammeSchema))
def list_programmes(args):
    """Every programme, the newest first, with what its calls hold."""
    page = page_of(programmes.programmes_query(), args["page"], args["per_page"])
    held = programmes.allocated([programme.id for programme in page["items"]])
    return {**page, "items": [_row(programme, held[programme.id]) for programme in page["items"]]}


@blp.route("/programmes", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*programmes.EDITORS)
@blp.arguments(programmes.ProgrammeInputSchema)
@blp.response(201, ProgrammeSchema)
@blp.alt_response(422, description="A field is wrong (named in `fields`): a code already taken, an end before the "
                                   "start, an amount with more than two decimals...")
def create(data):
    """A new programme (officers, administrators); audited."""
    programme = programmes.create_programme(current_user, data)
    db.session.commit()
    return _one(programme)


@blp.route("/programmes/<int:programme_id>", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*programmes.READERS)
@blp.response(200, ProgrammeSchema)
@blp.alt_response(404, description="No such programme.")
def read(programme_id: int):
    """One programme with its calls."""
    return _one(programmes.get_programme(programme_id))


@blp.route("/programmes/<int:programme_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@authenticated(*programmes.EDITORS)
@blp.arguments(programmes.ProgrammePatchSchema)
@blp.response(200, ProgrammeSchema)
@blp.alt_response(404, description="No such programme.")
@blp.alt_response(422, description="A field is wrong (named in `fields`): the budget below what the calls hold, a "
                                   "stage model changed once there are calls, a code already taken...")
def update(data, programme_id: int):
    """Change the fields given (officers, administrators); audited with what changed."""
    programme = programmes.update_programme(programmes.get_programme(programme_id), current_user, data)
    db.session.commit()
    return _one(programme)
