"""The open data downloads of the registry: the whole registry as CSV or JSON, streamed in flat memory
(grants.core.tabular) for the pages (/registry/export.csv, .json) and the API (/api/v1/registry/export).

The CSV's header row holds the field names of the data dictionary (the same in every language, so a
program reads any download alike); labels (stage and region names) are in the reader's language.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, current_app, stream_with_context

from grants.core.db import today, utcnow
from grants.core.tabular import Column, csv_chunks, json_chunks
from grants.registry.services import csv_row, data_fields, export_items

#: Licence identifiers (SPDX) and the page of their text.
LICENCE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}
#: Column kinds by data dictionary type.
_KINDS = {"integer": "integer", "number": "money"}


def licence() -> dict[str, Any]:
    """The licence the open data is published under (``OPEN_DATA_LICENCE``) and where its text is."""
    code = current_app.config.get("OPEN_DATA_LICENCE") or "CC-BY-4.0"
    return {"id": code, "url": LICENCE_URLS.get(code)}


def csv_columns() -> list[Column]:
    return [Column(f.name, f.name, _KINDS.get(f.type, "text")) for f in data_fields() if "csv" in f.formats]


def _filename(extension: str) -> str:
    return f"si-registry-{today().isoformat()}.{extension}"


def _attachment(chunks: Iterator[str], mimetype: str, extension: str) -> Response:
    response = Response(stream_with_context(chunk.encode("utf-8") for chunk in chunks), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{_filename(extension)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def csv_response(permalink: Callable[[int], str]) -> Response:
    """Every funded initiative, one CSV row each (UTF-8 with a byte-order mark)."""
    columns = csv_columns()
    rows = (csv_row(item) for item in export_items(permalink))
    return _attachment(csv_chunks(columns, rows), "text/csv", "csv")


def json_response(permalink: Callable[[int], str]) -> Response:
    """``{"licence", "generated_at", "fields", "initiatives": [...]}``, the initiatives streamed."""
    terms = licence()
    head = {"licence": terms["id"], "licence_url": terms["url"], "generated_at": utcnow().isoformat(timespec="seconds"),
            "currency": "EUR",
            "fields": [{"name": f.name, "type": f.type, "formats": list(f.formats), "description": str(f.description)}
                       for f in data_fields()]}
    opening = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"initiatives":['
    return _attachment(json_chunks(export_items(permalink), head=opening, tail="]}"), "application/json", "json")
