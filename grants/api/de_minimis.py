"""The de minimis register: list, add, import a CSV, headroom of an undertaking."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from grants.api.common import BEARER, authenticated
from grants.core.db import db
from grants.core.paging import PageArgs, page_of, page_schema
from grants.eligibility.de_minimis import (
    DEFAULT_CEILING,
    DEFAULT_YEARS,
    MAX_BYTES,
    MAX_YEARS,
    READERS,
    WRITERS,
    add_aid,
    aid_query,
    headroom,
    import_csv,
)
from grants.eligibility.models import AidSource

blp = Blueprint("api_de_minimis", __name__, description="De minimis register")


class AidSchema(ma.Schema):
    id = ma.fields.Integer()
    registration_number = ma.fields.String()
    undertaking = ma.fields.String()
    amount = ma.fields.Decimal(places=2, as_string=True, metadata={"description": "EUR."})
    granted_on = ma.fields.Date()
    granting_authority = ma.fields.String()
    reference = ma.fields.String()
    source = ma.fields.Enum(AidSource, by_value=True,
                            metadata={"description": "import, manual or award (of this programme)."})
    application_id = ma.fields.Integer(allow_none=True, metadata={"description": "The awarded application."})
    created_at = ma.fields.DateTime()


class AidCreateSchema(ma.Schema):
    """Plain strings and numbers: the service checks them as it checks an import row, with the same messages."""

    registration_number = ma.fields.String(required=True)
    undertaking = ma.fields.String(load_default="")
    amount = ma.fields.Raw(required=True, metadata={"type": "string", "example": "1500.00",
                                                    "description": "EUR, at most two decimals, not negative."})
    granted_on = ma.fields.String(required=True, metadata={"format": "date",
                                                           "description": "YYYY-MM-DD (or DD.MM.YYYY), not in "
                                                                          "the future."})
    granting_authority = ma.fields.String(required=True)
    reference = ma.fields.String(load_default="")


class AidListArgs(PageArgs):
    registration_number = ma.fields.String(load_default=None)


class ImportSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "CSV: header row registration_number, undertaking, "
                                                          "amount, granted_on, granting_authority, reference; "
                                                          "`,` or `;`; UTF-8; at most 10,000 rows and 5 MB."})


class ImportedSchema(ma.Schema):
    imported = ma.fields.Integer()


class HeadroomArgs(ma.Schema):
    registration_number = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    ceiling = ma.fields.Decimal(load_default=DEFAULT_CEILING, places=2,
                                validate=ma.validate.Range(min=0, max=1_000_000_000))
    years = ma.fields.Integer(load_default=DEFAULT_YEARS, validate=ma.validate.Range(min=1, max=MAX_YEARS))


class HeadroomSchema(ma.Schema):
    registration_number = ma.fields.String()
    ceiling = ma.fields.Decimal(places=2, as_string=True)
    years = ma.fields.Integer()
    since = ma.fields.Date(metadata={"description": "First day of the period (inclusive)."})
    on = ma.fields.Date(metadata={"description": "Last day of the period (inclusive): today in Riga."})
    received = ma.fields.Decimal(places=2, as_string=True)
    remaining = ma.fields.Decimal(places=2, as_string=True, metadata={"description": "Never below zero."})


@blp.ARGUMENTS_PARSER.location_loader("multipart")
def _load_multipart(req, schema):
    return MultiDictProxy(CombinedMultiDict([req.files, req.form]), schema)


blp.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}


@blp.route("/de-minimis", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*READERS)
@blp.arguments(AidListArgs, location="query")
@blp.response(200, page_schema(AidSchema))
def list_aid(args):
    """The register, newest first, optionally of one registration number (officers, finance, auditors)."""
    result = page_of(aid_query(args["registration_number"]), args["page"], args["per_page"])
    return result


@blp.route("/de-minimis", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*WRITERS)
@blp.arguments(AidCreateSchema)
@blp.response(201, AidSchema)
def add(data):
    """Add one entry by hand (source `manual`); audited. 422 names the fields that are wrong."""
    aid = add_aid(current_user, data)
    db.session.commit()
    return aid


@blp.route("/de-minimis/import", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*WRITERS)
@blp.arguments(ImportSchema, location="multipart")
@blp.response(201, ImportedSchema)
def import_file(data):
    """Import a CSV: every row or none. 422 lists the problems as `fields` keyed `file`, `line N` or
    `line N.column` (the header is line 1). One audit event with the row count and the file's SHA-256."""
    upload = data["file"]
    imported = import_csv(current_user, upload.stream.read(MAX_BYTES + 1), upload.filename or "")
    db.session.commit()
    return {"imported": imported}


@blp.route("/de-minimis/headroom", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*READERS)
@blp.arguments(HeadroomArgs, location="query")
@blp.response(200, HeadroomSchema)
def headroom_(args):
    """Aid received in the rolling period ending today (from the same calendar day `years` back, both
    inclusive, as the de minimis check counts) and what remains of the ceiling."""
    result = headroom(args["registration_number"], args["ceiling"], args["years"])
    db.session.commit()
    return result
