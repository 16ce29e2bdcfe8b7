"""What the outbox endpoint reads and writes."""

from __future__ import annotations

import marshmallow as ma

from grants.core.paging import PageArgs
from grants.notifications.services import STATUSES, status_of


class OutboxArgs(PageArgs):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))


class OutboxMessageSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    to_address = ma.fields.String()
    language = ma.fields.String()
    subject = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.String()
    status = ma.fields.Function(status_of)
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    send_after = ma.fields.DateTime()
    sent_at = ma.fields.DateTime(allow_none=True)
    failed_at = ma.fields.DateTime(allow_none=True)
