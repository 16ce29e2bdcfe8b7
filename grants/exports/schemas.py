"""What the exports API reads and returns."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for

from grants.core.paging import PageArgs


class ExportRequestSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.Length(max=40), metadata={
        "description": "applications, grants, payments, indicators, operations (and the funder report's tables: "
                       "report)"})
    format = ma.fields.String(required=True, validate=ma.validate.Length(max=10),
                              metadata={"description": "csv, xlsx or json"})
    filters = ma.fields.Dict(load_default=dict, metadata={
        "description": "programme_id, call_id, state (what the kind takes; indicators and operations need "
                       "programme_id)"})


def _download_url(export) -> str | None:
    if export.state != "done":
        return None
    return url_for("api_exports.download", export_id=export.id)


class ExportSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    format = ma.fields.String()
    filters = ma.fields.Dict()
    state = ma.fields.String(metadata={"description": "queued, running, done or failed"})
    progress = ma.fields.Integer(metadata={"description": "Rows written so far."})
    total = ma.fields.Integer(allow_none=True, metadata={"description": "Rows to write (once known)."})
    attempts = ma.fields.Integer()
    download_url = ma.fields.Function(_download_url, metadata={"description": "Once done."})
    error = ma.fields.String(allow_none=True, metadata={"description": "Why it failed."})
    filename = ma.fields.String(allow_none=True)
    size = ma.fields.Integer(allow_none=True)
    sha256 = ma.fields.String(allow_none=True)
    audit_head = ma.fields.Dict(attribute="audit", metadata={"description": "{hash, events} of the audit chain "
                                                                             "when the data was read."})
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    version = ma.fields.Integer()


class ExportListArgs(PageArgs):
    pass


class ProgrammeArgs(ma.Schema):
    programme_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))


class OperationsArgs(ProgrammeArgs):
    format = ma.fields.String(load_default="csv", validate=ma.validate.OneOf(["csv", "xlsx", "json"]))
