"""Refuse text carrying NUL characters before any view sees it.

PostgreSQL cannot store a NUL (0x00) in text, and no person types one: a request whose query
string, form fields, file names or JSON body hold one is answered 422 with the field named,
instead of failing deep in the database (SQLite would even store it).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from grants.core.errors import UserInputError

NUL = "\x00"
#: Ids are INTEGER columns: positive and at most 2**31 - 1 on every database.
MAX_ID = 2**31 - 1


def _at_most(top: int) -> str:
    """A regular expression for the numbers 1..``top`` written without leading zeros."""
    digits = str(top)
    choices = [rf"[1-9]\d{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for place, digit in enumerate(digits):
        lowest = 1 if place == 0 else 0
        rest = len(digits) - place - 1
        if int(digit) > lowest:
            choices.append(f"{digits[:place]}[{lowest}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    choices.append(digits)
    return "(?:" + "|".join(choices) + ")"


class IdConverter(IntegerConverter):
    """``<int:…>`` in URLs: a number beyond any id matches no route (404) instead of reaching the
    database, where PostgreSQL and SQLite would refuse it with an error. The pattern itself stops at
    the largest id: a number the pattern took but the converter refused would make werkzeug answer
    405 for the methods of the routes the path did match, instead of 404."""

    regex = _at_most(MAX_ID)

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _first_nul(value: Any, path: str) -> str | None:
    """The dotted path of the first string (value or key) holding a NUL, if any."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return where
            found = _first_nul(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_nul(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def _offending_field() -> str | None:
    # A multipart part without a name is filed under None by werkzeug: read as empty, not as a crash.
    for source in (request.args, request.form):
        for key, values in source.lists():
            if NUL in (key or "") or any(NUL in (value or "") for value in values):
                return (key or "").replace(NUL, "")
    for key, storage in request.files.items(multi=True):
        if NUL in (key or "") or NUL in (storage.filename or ""):
            return (key or "").replace(NUL, "")
    if request.is_json:
        return _first_nul(request.get_json(silent=True), "")
    return None


def register_id_converter(app: Flask) -> None:
    """Before any route is added."""
    app.url_map.converters["int"] = IdConverter


def register_input_guard(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters():
        field = _offending_field()
        if field is not None:
            raise UserInputError(fields={field or "body": [_("Remove the invisible control character (NUL) "
                                                              "from this text.")]})
