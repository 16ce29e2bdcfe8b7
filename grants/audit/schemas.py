"""What the audit API and pages read and return."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma

from grants.core.paging import PageArgs, valid_id


class AuditFilterSchema(ma.Schema):
    """Filters shared by the event list, the export and the audit page."""

    object_type = ma.fields.String(load_default=None, validate=ma.validate.Length(max=60))
    object_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))
    actor_id = ma.fields.Integer(load_default=None, validate=valid_id)
    action = ma.fields.String(load_default=None, validate=ma.validate.Length(max=80))
    #: ISO 8601; a time without an offset is taken as UTC.
    since = ma.fields.AwareDateTime(load_default=None, default_timezone=UTC)
    until = ma.fields.AwareDateTime(load_default=None, default_timezone=UTC)

    @ma.pre_load
    def blank_is_missing(self, data, **kwargs):
        """An empty box in the filter form means "any"."""
        return {key: value for key, value in data.items() if value != ""}


class AuditEventArgs(AuditFilterSchema, PageArgs):
    before_id = ma.fields.Integer(load_default=None, validate=valid_id, metadata={
        "description": "Keyset paging: only events older than this id (send the previous page's "
                       "`next_before_id`; `page` then counts from there). Cheap at any depth."})


class ExportArgs(AuditFilterSchema):
    format = ma.fields.String(load_default="csv", validate=ma.validate.OneOf(["csv", "json"]))


class AuditEventSchema(ma.Schema):
    id = ma.fields.Integer()
    occurred_at = ma.fields.DateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    actor_label = ma.fields.String()
    role = ma.fields.String(allow_none=True)
    action = ma.fields.String()
    object_type = ma.fields.String()
    object_id = ma.fields.String()
    payload = ma.fields.Dict()
    comment = ma.fields.String(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    prev_hash = ma.fields.String()
    hash = ma.fields.String()


class ChainVerificationSchema(ma.Schema):
    valid = ma.fields.Boolean()
    events = ma.fields.Integer()
    head = ma.fields.String()
    first_invalid_id = ma.fields.Integer(allow_none=True)


class VerificationSchema(ChainVerificationSchema):
    """A verification run: the contract's ``{valid, events, head, first_invalid_id}`` (``valid`` null until it
    is done; ``events`` the events checked so far) with its progress and who asked."""

    id = ma.fields.Integer()
    state = ma.fields.String(metadata={"description": "queued, running, done or failed"})
    valid = ma.fields.Boolean(allow_none=True)
    events = ma.fields.Integer(attribute="events_checked", metadata={"description": "events checked so far"})
    total = ma.fields.Integer(allow_none=True, metadata={"description": "events up to the head being verified"})
    head = ma.fields.String(attribute="head_hash", allow_none=True,
                            metadata={"description": "the head hash verified (null until the run starts)"})
    head_event_id = ma.fields.Integer(allow_none=True)
    percent = ma.fields.Integer(allow_none=True)
    origin = ma.fields.String(metadata={"description": "web, api or cli"})
    requested_by_id = ma.fields.Integer(allow_none=True)
    requested_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    error = ma.fields.String(allow_none=True, metadata={"description": "why it did not finish (not a verdict)"})


class AuditEventPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditEventSchema))
    total = ma.fields.Integer(metadata={"description": "Matching events; an estimate when `total_is_estimate`."})
    total_is_estimate = ma.fields.Boolean(metadata={
        "description": "Over 10,000 matching events the total is the database's estimate, not a count."})
    page = ma.fields.Integer()
    next_before_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "`before_id` for the next (older) page; null on the last page."})
