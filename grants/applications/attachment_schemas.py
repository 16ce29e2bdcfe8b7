"""What the attachments API reads and returns."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload


class AttachmentUploadSchema(ma.Schema):
    """A ``multipart/form-data`` body: the file and, optionally, the form question it answers."""

    file = Upload(required=True, metadata={"description": "PDF, DOCX, XLSX, ODT, ODS, PNG or JPEG; the type is "
                                                          "checked by content and must match the extension."})
    question_code = ma.fields.String(load_default=None, validate=ma.validate.Length(min=1, max=60),
                                     metadata={"description": "The file question of the form it answers."})


class AttachmentSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String(metadata={"description": "The uploaded name, cleaned."})
    content_type = ma.fields.String(metadata={"description": "The type found in the content."})
    size = ma.fields.Integer(metadata={"description": "Bytes."})
    sha256 = ma.fields.String(metadata={"description": "SHA-256 of the content, hex."})
    question_code = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
