"""What an uploaded file really is, and a name that is safe to show and to offer as a download.

The type comes from the bytes (``filetype`` reads the signature), never from the name or the
browser's claim; the name's extension must agree with it. ``filetype`` calls any ZIP whose first
entries mention ``word/`` or ``xl/`` an Office document, so the ZIP-based types are confirmed
by reading the package's own declaration: ``[Content_Types].xml`` with the main part's content
type (OOXML) or the ``mimetype`` entry stored first (OpenDocument). A plain ZIP, a JAR or a
macro-enabled document (its main part has another content type) is refused.
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
from typing import BinaryIO

import filetype
from flask import send_file
from flask_babel import lazy_gettext as _l

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
PNG = "image/png"
JPEG = "image/jpeg"

#: Allowed content types and the extensions a file of that type may have.
ALLOWED_TYPES: dict[str, frozenset[str]] = {
    PDF: frozenset({".pdf"}),
    DOCX: frozenset({".docx"}),
    XLSX: frozenset({".xlsx"}),
    ODT: frozenset({".odt"}),
    ODS: frozenset({".ods"}),
    PNG: frozenset({".png"}),
    JPEG: frozenset({".jpg", ".jpeg"}),
}
ALLOWED_EXTENSIONS = sorted(ext for exts in ALLOWED_TYPES.values() for ext in exts)

#: OOXML: the main part and the content type [Content_Types].xml must give it.
_OOXML_MAIN_PARTS = {
    DOCX: ("word/document.xml",
           "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    XLSX: ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
}
#: Bytes read from a package's declaration entry at most (a ZIP bomb cannot make us inflate more).
_DECLARATION_LIMIT = 1024 * 1024
MAX_FILENAME_LENGTH = 200

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

NOT_ALLOWED = _l("This type of file is not accepted. Upload a PDF, DOCX, XLSX, ODT, ODS, PNG or JPEG file.")


class UploadRefused(ValueError):
    """The file cannot be accepted; ``message`` says why, in words for the applicant."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def clean_filename(raw: str | None) -> str:
    """The name as shown and offered for download: no path, no control characters, no leading dots.

    A name with a folder part (``/`` or ``\\``) is refused rather than guessed at, so
    ``../../etc/passwd.pdf`` never becomes a file name. The name is never used for storage.
    """
    name = unicodedata.normalize("NFC", raw or "")
    if "/" in name or "\\" in name:
        raise UploadRefused(_l("The file name must not contain a folder path (/ or \\). Rename the file and "
                               "upload it again."))
    name = _CONTROL_RE.sub("", name).strip().lstrip(".").strip()
    if not name.strip("."):
        raise UploadRefused(_l("The file has no usable name. Rename the file and upload it again."))
    if len(name) > MAX_FILENAME_LENGTH:
        stem, ext = os.path.splitext(name)
        name = stem[:MAX_FILENAME_LENGTH - len(ext)].rstrip() + ext if len(ext) <= 10 else name[:MAX_FILENAME_LENGTH]
    return name


def _zip_declares(file: BinaryIO, content_type: str) -> bool:
    try:
        with zipfile.ZipFile(file) as package:
            if content_type in _OOXML_MAIN_PARTS:
                main_part, main_type = _OOXML_MAIN_PARTS[content_type]
                names = set(package.namelist())
                if main_part not in names or "[Content_Types].xml" not in names:
                    return False
                info = package.getinfo("[Content_Types].xml")
                if info.file_size > _DECLARATION_LIMIT:
                    return False
                with package.open(info) as entry:
                    declaration = entry.read(_DECLARATION_LIMIT).decode("utf-8", "replace")
                return (f'PartName="/{main_part}"' in declaration
                        and f'ContentType="{main_type}"' in declaration)
            first = package.infolist()[0]
            if first.filename != "mimetype" or first.file_size > 200:
                return False
            with package.open(first) as entry:
                return entry.read(200).strip() == content_type.encode("ascii")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, IndexError, KeyError, OSError, EOFError,
            NotImplementedError, RuntimeError, ValueError):
        return False


def detect_type(file: BinaryIO, filename: str) -> str:
    """The content type of ``file`` (seekable, read from the start) if it is allowed and ``filename``'s
    extension agrees with it; otherwise :class:`UploadRefused`."""
    file.seek(0)
    head = file.read(8192)
    file.seek(0)
    if not head:
        raise UploadRefused(_l("The file is empty."))
    kind = filetype.guess(head)
    content_type = kind.mime if kind is not None else None
    if content_type not in ALLOWED_TYPES:
        raise UploadRefused(NOT_ALLOWED)
    if content_type in (DOCX, XLSX, ODT, ODS):
        declared = _zip_declares(file, content_type)
        file.seek(0)
        if not declared:
            raise UploadRefused(NOT_ALLOWED)
    extension = os.path.splitext(filename)[1].lower()
    if extension not in ALLOWED_TYPES[content_type]:
        expected = ", ".join(sorted(ALLOWED_TYPES[content_type]))
        raise UploadRefused(_l("The file's content does not match its name: it is a %(kind)s file, so its name "
                               "should end in %(expected)s.", kind=kind.extension.upper(), expected=expected))
    return content_type


def download_response(file: BinaryIO, *, filename: str, content_type: str):
    """The stored file as a download: ``attachment`` disposition (RFC 5987 ``filename*`` for names
    beyond ASCII), the detected type, and headers that stop browsers guessing or running it."""
    response = send_file(file, mimetype=content_type, as_attachment=True, download_name=filename,
                         etag=False, conditional=False, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
