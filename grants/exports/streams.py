"""Tables and packages sent as downloads while they are written (flat memory), for pages and the API."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask import Response, stream_with_context

from grants.core.db import utcnow
from grants.core.tabular import Column, csv_chunks, json_chunks, json_rows, write_xlsx
from grants.exports.datasets import selected_applications
from grants.exports.services import CONTENT_TYPES


def _file_chunks(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(65536):
                yield chunk
    finally:
        os.unlink(path)


def table_chunks(columns: Sequence[Column], rows: Iterable[dict[str, Any]], export_format: str, *,
                 title: str = "", json_head: str = '{"items":[', json_tail: str = "]}") -> Iterator[Any]:
    """The table in ``export_format`` as chunks: CSV and JSON as they are written; XLSX written to a
    temporary file first (a workbook is a zip), then read back in chunks and removed."""
    if export_format == "csv":
        return csv_chunks(columns, rows)
    if export_format == "json":
        return json_chunks(json_rows(columns, rows), head=json_head, tail=json_tail)
    handle, path = tempfile.mkstemp(prefix="download-", suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(path, [(title or "data", columns, rows)])
    except BaseException:
        os.unlink(path)
        raise
    return _file_chunks(path)


def download(chunks: Iterator[Any], *, export_format: str, filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype=CONTENT_TYPES[export_format].split(";")[0],
                        content_type=CONTENT_TYPES[export_format])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def selected_applications_csv(ids: Iterable[int]) -> Response:
    """The applications chosen on the list, as CSV with the applications export's columns, by id (the caller
    checks who asks, and audits the download)."""
    table = selected_applications(list(ids))
    return download(table_chunks(table.columns, table.rows(), "csv"), export_format="csv",
                    filename=f"applications-selected-{utcnow():%Y%m%d-%H%M%S}.csv")
