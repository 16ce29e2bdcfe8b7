"""Tables written out row by row, in flat memory: CSV, XLSX (typed cells) and JSON.

A table is a list of :class:`Column` (a stable key, a header translated when written, a kind) and an
iterator of rows (dicts by key, or sequences in column order). Nothing holds more than one row:
CSV and JSON come out as chunks of text for a streamed response or a file; XLSX is written with
openpyxl's write-only workbook straight to a file (money as numbers in a EUR format, dates as
dates), which is then streamed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

#: Excel's number format for euros, and for dates.
EUR_FORMAT = '#,##0.00 "EUR"'
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
#: Kinds of column.
KINDS = ("text", "money", "number", "integer", "date", "datetime", "boolean")


@dataclass(frozen=True)
class Column:
    key: str
    #: The header: a msgid (lazy string), written in the reader's language.
    title: Any
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key}: kind {self.kind!r}")


def _values(columns: Sequence[Column], row: Mapping[str, Any] | Sequence[Any]) -> list[Any]:
    if isinstance(row, Mapping):
        return [row.get(column.key) for column in columns]
    return list(row)


def _plain(value: Any, kind: str) -> Any:
    """A value as text for CSV: money with two decimals, dates in ISO, nothing as empty."""
    if value is None:
        return ""
    if kind == "money":
        return f"{Decimal(value):.2f}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_chunks(columns: Sequence[Column], rows: Iterable[Any], *, chunk_rows: int = 500) -> Iterator[str]:
    """The table as CSV text (UTF-8 with a byte-order mark so spreadsheet programs read the diacritics),
    in chunks of ``chunk_rows`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([str(column.title) for column in columns])
    for count, row in enumerate(rows, start=1):
        writer.writerow([_plain(value, column.kind) for column, value in zip(columns, _values(columns, row),
                                                                                strict=True)])
        if count % chunk_rows == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(sheet, value: Any, kind: str):
    if value is None:
        return None
    if kind == "money":
        cell = WriteOnlyCell(sheet, value=float(Decimal(value)))
        cell.number_format = EUR_FORMAT
        return cell
    if kind in ("number", "integer") and isinstance(value, Decimal):
        value = int(value) if kind == "integer" else float(value)
    if kind == "datetime" and isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
        cell.number_format = DATETIME_FORMAT
        return cell
    if kind == "date" and isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    return value


def write_xlsx(target, sheets: Iterable[tuple[str, Sequence[Column], Iterable[Any]]],
               progress=None) -> int:
    """Write one or more sheets ``(title, columns, rows)`` to ``target`` (a path or a binary file) with a
    write-only workbook; ``progress(rows written)`` is called every 500 rows. Returns the rows written."""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    written = 0
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(title=str(title)[:31])
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=str(column.title))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in rows:
            sheet.append([_cell(sheet, value, column.kind)
                          for column, value in zip(columns, _values(columns, row), strict=True)])
            written += 1
            if progress is not None and written % 500 == 0:
                progress(written)
    workbook.save(target)
    return written


def json_value(value: Any, kind: str) -> Any:
    """A cell as JSON data: money as a decimal string with two places (the API's convention), dates in
    ISO, other decimals as numbers."""
    if value is None:
        return None
    if kind == "money":
        return f"{Decimal(value):.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if kind == "integer" else float(value)
    return value


def json_rows(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """The rows as JSON objects by column key."""
    for row in rows:
        yield {column.key: json_value(value, column.kind)
               for column, value in zip(columns, _values(columns, row), strict=True)}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_chunks(items: Iterable[Mapping[str, Any]], *, head: str = "[", tail: str = "]",
                chunk_items: int = 200) -> Iterator[str]:
    """``head``, the items as JSON separated by commas, ``tail`` — e.g. ``{"grants": [`` … ``]}`` — in
    chunks, one item in memory at a time."""
    parts = [head]
    for index, item in enumerate(items):
        parts.append(("," if index else "") + json.dumps(item, ensure_ascii=False, default=_json_default,
                                                        separators=(",", ":")))
        if len(parts) >= chunk_items:
            yield "".join(parts)
            parts = []
    parts.append(tail)
    yield "".join(parts)
