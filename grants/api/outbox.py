"""The outbox: messages waiting, sent and given up (officers and administrators)."""

from __future__ import annotations

from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.core.paging import page_of, page_schema
from grants.core.roles import RoleCode
from grants.notifications.schemas import OutboxArgs, OutboxMessageSchema
from grants.notifications.services import messages_query

blp = Blueprint("api_outbox", __name__, description="Outbox of notification messages")

OUTBOX_ROLES = (RoleCode.ADMIN, RoleCode.OFFICER)


@blp.route("/outbox", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*OUTBOX_ROLES)
@blp.arguments(OutboxArgs, location="query")
@blp.response(200, page_schema(OutboxMessageSchema))
def list_messages(args):
    """Outbox messages, newest first; ``status`` is ``pending``, ``sent`` or ``failed``."""
    result = page_of(messages_query(args.get("status")), args["page"], args["per_page"])
    return result
