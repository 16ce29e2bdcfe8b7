"""A person's in-app notifications (the copies of what was e-mailed to them): list, and mark read."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.core.db import db
from grants.core.paging import PageArgs, page_of, valid_id
from grants.users import notices

blp = Blueprint("api_notices", __name__, description="In-app notifications: what was e-mailed to the person")


class NoticeSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    subject = ma.fields.String()
    body = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.String()
    created_at = ma.fields.DateTime()
    read_at = ma.fields.DateTime(allow_none=True)


class NoticePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NoticeSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    unread = ma.fields.Integer(metadata={"description": "How many of the person's notifications are unread."})


class NoticeListArgs(PageArgs):
    unread = ma.fields.Boolean(load_default=False, metadata={"description": "Only the unread ones."})


class MarkReadArgs(ma.Schema):
    ids = ma.fields.List(ma.fields.Integer(validate=valid_id), load_default=None, validate=ma.validate.Length(max=500),
                         metadata={"description": "The notifications to mark read; all of them when left out."})


class UnreadSchema(ma.Schema):
    unread = ma.fields.Integer()


@blp.route("/notifications", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(NoticeListArgs, location="query")
@blp.response(200, NoticePageSchema)
def list_notices(args):
    """The person's notifications, newest first (``unread``: only those not read yet)."""
    page = page_of(notices.notices_query(current_user, unread_only=args["unread"]), args["page"], args["per_page"])
    return {**page, "unread": current_user.unread_notices}


@blp.route("/notifications/read", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(MarkReadArgs)
@blp.response(200, UnreadSchema)
def mark_read(data):
    """Mark the given notifications (or all) read; ids of someone else's are ignored. Answers how many are
    still unread."""
    unread = notices.mark_read(current_user, data["ids"])
    db.session.commit()
    return {"unread": unread}
