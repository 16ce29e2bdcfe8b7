"""Calls for proposals (public)."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import page_of, page_schema
from grants.calls.schemas import CallDetailSchema, CallListArgs, CallSchema
from grants.calls.services import calls_query, get_visible_call
from grants.core.errors import NotFound

blp = Blueprint("api_calls", __name__, description="Calls for proposals")


def _staff() -> bool:
    return current_user.is_authenticated and current_user.is_staff


@blp.route("/calls", methods=["GET"])
@blp.arguments(CallListArgs, location="query")
@blp.response(200, page_schema(CallSchema))
def list_calls(args):
    """Published calls (and drafts, for staff), filtered by public status: open, upcoming, closed."""
    status = args["status"].value if args["status"] else None
    return page_of(calls_query(status, include_drafts=_staff()), args["page"], args["per_page"])


@blp.route("/calls/<int:call_id>", methods=["GET"])
@blp.response(200, CallDetailSchema)
def read_call(call_id: int):
    call = get_visible_call(call_id, include_drafts=_staff())
    if call is None:
        raise NotFound()
    return call
