"""Answers to a call's form: validation (the authority), normalisation, the API view and HTML form parsing.

Pure functions over the stored definition (:mod:`grants.forms.definitions`) and an answers mapping
``{question_code: value}``. Messages are translated with the request's language, so they can be shown
next to the fields as they are.

Error keys of :func:`validate_answers`:

* ``<code>`` for a question (also for a table as a whole: not a list, too few or too many rows);
* ``<code>.<row>`` for a table row that is not an object, ``<code>.<row>.<column>`` for one cell, where
  ``<row>`` is the 0-based position in the submitted list; the HTML fields are named
  ``answers-<code>-<row>-<column>`` with the same index, so errors land next to the right cell when the
  page is shown again with the answers that were validated;
* an unknown question code under itself, and ``answers`` when the answers are not a mapping at all.

Values accepted (JSON as an API client sends it, or strings as an HTML form posts them):
short_text/long_text strings (characters counted after trimming, with Unicode NFC so ``ā`` is one
character and a browser's CRLF one line break); number: a JSON number or a decimal string; money: a JSON
number or a decimal string, at most 2 decimal places, not negative (``1 250,50`` is read as 1250.50);
date: ``YYYY-MM-DD``; single_choice: one option value; multiple_choice: a list of option values;
yes_no: ``true``/``false``; file: the id of an uploaded attachment (whether it belongs to the
application is for the applications service to check); table: a list of row objects keyed by column code.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from grants.core.i18n import current_language
from grants.forms.definitions import (
    MAX_ROWS,
    NUMERIC_TYPES,
    QuestionType,
    iter_questions,
    localized_text,
    max_length_of,
)
from grants.forms.templates import BUDGET_AMOUNT, BUDGET_CO_FINANCING

Errors = dict[str, list[str]]

CENT = Decimal("0.01")
#: Larger amounts cannot be stored (money columns are integer cents) and are surely typing mistakes.
MAX_MONEY = Decimal("999999999999.99")
MAX_NUMBER = Decimal("1e15")
_DECIMAL = re.compile(r"^[+-]?\d{1,20}(\.\d{1,20})?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNKNOWN_CODE_SHOWN = 100


# -- values ---------------------------------------------------------------------------------------

def clean_text(value: str) -> str:
    """Text as stored and counted: one line-break form, composed characters (NFC), no outer blanks."""
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def parse_decimal(value: Any) -> Decimal | None:
    """A finite number from a JSON number or a decimal string (spaces and a decimal comma allowed)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = re.sub(r"[\s\u00a0\u202f]", "", value)
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    if not _DECIMAL.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def is_empty(value: Any) -> bool:
    """Not answered: nothing, blank text, an empty list, or a table whose rows are all blank."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return all(_row_is_empty(item) if isinstance(item, Mapping) else is_empty(item) for item in value)
    return False


def _row_is_empty(row: Mapping[str, Any]) -> bool:
    return all(is_empty(cell) for cell in row.values())


def _format_number(value: Any) -> str:
    number = Decimal(str(value))
    return format(number.normalize(), "f") if number == number.to_integral_value() else str(number)


# -- validation -----------------------------------------------------------------------------------

def _check_value(spec: Mapping[str, Any], value: Any) -> list[str]:
    """Messages for one non-empty value of a question or a table column."""
    kind = spec.get("type")
    if kind in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT):
        if not isinstance(value, str):
            return [_("Enter text.")]
        limit = max_length_of(spec) or 0
        if len(clean_text(value)) > limit:
            return [ngettext("Use at most %(num)d character.", "Use at most %(num)d characters.", limit)]
        return []
    if kind in NUMERIC_TYPES:
        return _check_number(spec, value)
    if kind == QuestionType.DATE:
        if isinstance(value, str) and _ISO_DATE.match(value.strip()):
            try:
                date.fromisoformat(value.strip())
                return []
            except ValueError:
                pass
        return [_("Enter a date as YYYY-MM-DD, for example 2026-03-31.")]
    if kind == QuestionType.SINGLE_CHOICE:
        values = {option.get("value") for option in spec.get("options") or []}
        return [] if isinstance(value, str) and value in values else [_("Choose one of the options.")]
    if kind == QuestionType.MULTIPLE_CHOICE:
        values = {option.get("value") for option in spec.get("options") or []}
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) and item in values
                                                          for item in value):
            return [_("Choose from the options listed.")]
        return []
    if kind == QuestionType.YES_NO:
        return [] if isinstance(value, bool) else [_("Answer yes or no.")]
    if kind == QuestionType.FILE:
        return [] if _attachment_id(value) is not None else [_("Upload the file again.")]
    return [_("This question cannot be answered.")]


def _check_number(spec: Mapping[str, Any], value: Any) -> list[str]:
    number = parse_decimal(value)
    money = spec.get("type") == QuestionType.MONEY
    if number is None:
        return [_("Enter an amount, for example 1250.50.") if money else _("Enter a number.")]
    if money:
        if number < 0:
            return [_("An amount cannot be negative.")]
        if number > MAX_MONEY:
            return [_("The amount is too large.")]
        if number != number.quantize(CENT):
            return [_("Use at most 2 decimal places.")]
    elif abs(number) >= MAX_NUMBER:
        return [_("The number is too large.")]
    low, high = spec.get("min"), spec.get("max")
    if low is not None and number < Decimal(str(low)):
        return [_("Enter at least %(min)s.", min=_format_number(low))]
    if high is not None and number > Decimal(str(high)):
        return [_("Enter at most %(max)s.", max=_format_number(high))]
    return []


def _attachment_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 19:
        return int(value.strip()) or None
    return None


def _check_table(question: Mapping[str, Any], rows: Any, complete: bool) -> Errors:
    code = question["code"]
    if not isinstance(rows, list | tuple) or len(rows) > 2 * MAX_ROWS:
        return {code: [_("Enter the rows as a list.")]}
    columns = {column["code"]: column for column in question.get("columns") or [] if isinstance(column, Mapping)}
    language = current_language()
    errors: Errors = {}
    filled = 0
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            errors[f"{code}.{index}"] = [_("Each row must give its cells by column code.")]
            continue
        for key in row:
            if key not in columns:
                unknown = f"{code}.{index}.{str(key)[:_UNKNOWN_CODE_SHOWN]}"
                errors[unknown] = [_("This column is not part of the table.")]
        if _row_is_empty(row):
            continue
        filled += 1
        for column_code, column in columns.items():
            cell = row.get(column_code)
            if is_empty(cell):
                messages = [_("Fill in this cell.")] if complete and column.get("required") else []
            else:
                messages = _check_value(column, cell)
                other = column.get("not_more_than")
                if not messages and other in columns and not is_empty(row.get(other)):
                    limit, amount = parse_decimal(row.get(other)), parse_decimal(cell)
                    if limit is not None and amount is not None and amount > limit:
                        messages = [_("Must not be more than “%(column)s”.",
                                      column=localized_text(columns[other], "label", language))]
            if messages:
                errors[f"{code}.{index}.{column_code}"] = messages
    high = question.get("max_rows") or MAX_ROWS
    low = question.get("min_rows") or 0
    if filled > high:
        errors[code] = [ngettext("Use at most %(num)d row.", "Use at most %(num)d rows.", high)]
    elif complete and filled == 0 and question.get("required"):
        errors[code] = [_("Answer this question.")]
    elif complete and 0 < filled < low:
        errors[code] = [ngettext("Add at least %(num)d row.", "Add at least %(num)d rows.", low)]
    return errors


def validate_answers(form: Any, answers: Any, *, complete: bool) -> Errors:
    """Messages for every problem with ``answers`` against ``form``, keyed as the module docstring says.

    ``complete=False`` (saving a draft) checks only what was answered, so unfinished work can always be
    saved; ``complete=True`` (submitting) also requires every required question. Never raises on any
    input: whatever a client sends gets messages, not an error page.
    """
    if not isinstance(answers, Mapping):
        return {"answers": [_("Send the answers as an object keyed by question code.")]}
    questions = {question["code"]: question for _section, question in iter_questions(form)}
    errors: Errors = {}
    for key in answers:
        if key not in questions:
            errors[str(key)[:_UNKNOWN_CODE_SHOWN]] = [_("This question is not part of the form.")]
    for code, question in questions.items():
        value = answers.get(code)
        if question.get("type") == QuestionType.TABLE and value is not None:
            errors.update(_check_table(question, value, complete))
        elif is_empty(value):
            if complete and question.get("required"):
                errors[code] = [_("Answer this question.")]
        else:
            messages = _check_value(question, value)
            if messages:
                errors[code] = messages
    return errors


# -- normalisation --------------------------------------------------------------------------------

def _normalise_value(spec: Mapping[str, Any], value: Any) -> Any:
    kind = spec.get("type")
    if isinstance(value, str) and kind in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT):
        return clean_text(value)
    if kind in NUMERIC_TYPES:
        number = parse_decimal(value)
        if number is None:
            return value
        if kind == QuestionType.MONEY:
            return str(number.quantize(CENT)) if abs(number) <= MAX_MONEY else value
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == QuestionType.MULTIPLE_CHOICE and isinstance(value, list | tuple):
        chosen = {item for item in value if isinstance(item, str)}
        return [option["value"] for option in spec.get("options") or [] if option.get("value") in chosen]
    if kind == QuestionType.FILE:
        return _attachment_id(value) or value
    if isinstance(value, str):
        return value.strip()
    return value


def normalise_answers(form: Any, answers: Any) -> dict[str, Any]:
    """Clean JSON-able answers for storage: known questions only, blanks left out, trimmed text,
    money as ``"12.50"`` strings, numbers as JSON numbers, blank table rows and cells dropped.

    Meant for answers that passed :func:`validate_answers`; anything else is kept as it came rather
    than guessed at, and nothing raises.
    """
    if not isinstance(answers, Mapping):
        return {}
    clean: dict[str, Any] = {}
    for _section, question in iter_questions(form):
        code = question["code"]
        value = answers.get(code)
        if is_empty(value):
            continue
        if question.get("type") == QuestionType.TABLE and isinstance(value, list | tuple):
            columns = [column for column in question.get("columns") or [] if isinstance(column, Mapping)]
            rows = []
            for row in value:
                if not isinstance(row, Mapping) or _row_is_empty(row):
                    continue
                rows.append({column["code"]: _normalise_value(column, row[column["code"]]) for column in columns
                             if not is_empty(row.get(column["code"]))})
            if rows:
                clean[code] = rows
        else:
            clean[code] = _normalise_value(question, value)
    return clean


def budget_totals(rows: Any, *, amount: str = BUDGET_AMOUNT,
                  co_financing: str = BUDGET_CO_FINANCING) -> dict[str, Decimal | None]:
    """Totals of a budget table: ``total``, ``co_financing``, ``requested`` (total less co-financing)
    and ``co_financing_share`` (0..1, 4 places; ``None`` for an empty budget). Derived, never asked,
    so they cannot disagree with the rows. Unreadable cells count as zero (validation reports them).
    """
    total = co = Decimal("0.00")
    for row in rows if isinstance(rows, list | tuple) else []:
        if isinstance(row, Mapping):
            total += parse_decimal(row.get(amount)) or 0
            co += parse_decimal(row.get(co_financing)) or 0
    total, co = total.quantize(CENT), co.quantize(CENT)
    share = (co / total).quantize(Decimal("0.0001")) if total > 0 else None
    return {"total": total, "co_financing": co, "requested": total - co, "co_financing_share": share}


# -- what clients and pages see -------------------------------------------------------------------

def _describe(spec: Mapping[str, Any], language: str) -> dict[str, Any]:
    item: dict[str, Any] = {"code": spec["code"], "type": spec.get("type"), "required": bool(spec.get("required")),
                            "label": localized_text(spec, "label", language)}
    help_text = localized_text(spec, "help", language)
    if help_text:
        item["help"] = help_text
    if spec.get("options"):
        item["options"] = [{"value": option.get("value"), "label": localized_text(option, "label", language)}
                           for option in spec["options"] if isinstance(option, Mapping)]
    limit = max_length_of(spec)
    if limit:
        item["max_length"] = limit
    for key in ("min", "max", "min_rows", "max_rows", "not_more_than"):
        if spec.get(key) is not None:
            item[key] = spec[key]
    if spec.get("columns"):
        item["columns"] = [_describe(column, language) for column in spec["columns"] if isinstance(column, Mapping)]
    return item


def form_for_api(form: Any, language: str) -> list[dict[str, Any]]:
    """The form as API.md lists it: every question flattened across sections, in ``language``:
    ``[{code, type, required, label, section, help?, options?, max_length?, min?, max?, columns?, ...}]``.
    Text questions always show their effective character limit, so a client can count before sending.
    """
    return [{**_describe(question, language), "section": section.get("code")}
            for section, question in iter_questions(form)]


def form_outline(form: Any, language: str) -> list[dict[str, Any]]:
    """Sections with their localised title, help and questions (as :func:`form_for_api` gives them),
    for pages that show the form section by section."""
    outline: list[dict[str, Any]] = []
    by_section: dict[int, dict[str, Any]] = {}
    for section, question in iter_questions(form):
        entry = by_section.get(id(section))
        if entry is None:
            entry = {"code": section.get("code"), "title": localized_text(section, "title", language),
                     "help": localized_text(section, "help", language), "questions": []}
            by_section[id(section)] = entry
            outline.append(entry)
        entry["questions"].append(_describe(question, language))
    return outline


# -- HTML forms -----------------------------------------------------------------------------------

def field_name(code: str, row: int | None = None, column: str | None = None) -> str:
    """The posted field name of a question (``answers-<code>``) or table cell (``answers-<code>-<row>-<col>``)."""
    return f"answers-{code}" if row is None else f"answers-{code}-{row}-{column}"


def _yes_no(value: str | None) -> bool | str | None:
    if value is None or not value.strip():
        return None
    return {"yes": True, "no": False}.get(value.strip(), value)


def answers_from_form(form: Any, formdata: Any) -> dict[str, Any]:
    """Posted HTML fields (named by :func:`field_name`, as ``forms/_fields.html`` renders them) back into
    an answers mapping for :func:`validate_answers`; the inverse of the naming.

    ``formdata`` is ``request.form`` (a MultiDict). Values stay strings except yes/no (``True``/``False``)
    and multiple choice (a list); blank table rows (such as the extra empty row) are dropped and the
    others renumbered from 0 in posted order. A file question reads the hidden attachment id field.
    """
    answers: dict[str, Any] = {}
    keys = list(formdata.keys())
    for _section, question in iter_questions(form):
        code, kind = question["code"], question.get("type")
        name = field_name(code)
        if kind == QuestionType.MULTIPLE_CHOICE:
            answers[code] = [value for value in formdata.getlist(name) if value]
        elif kind == QuestionType.YES_NO:
            answers[code] = _yes_no(formdata.get(name))
        elif kind == QuestionType.TABLE:
            answers[code] = _rows_from_form(question, formdata, keys)
        else:
            answers[code] = formdata.get(name)
    return answers


def _rows_from_form(question: Mapping[str, Any], formdata: Any, keys: list[str]) -> list[dict[str, Any]]:
    pattern = re.compile(rf"^answers-{re.escape(question['code'])}-(\d{{1,4}})-([a-z][a-z0-9_]*)$")
    columns = {column["code"]: column for column in question.get("columns") or [] if isinstance(column, Mapping)}
    indexes = sorted({int(match.group(1)) for key in keys if (match := pattern.match(key))
                      and match.group(2) in columns})
    rows = []
    for index in indexes[:2 * MAX_ROWS]:
        row: dict[str, Any] = {}
        for column_code, column in columns.items():
            value = formdata.get(field_name(question["code"], index, column_code))
            row[column_code] = _yes_no(value) if column.get("type") == QuestionType.YES_NO else value
        if not _row_is_empty(row):
            rows.append(row)
    return rows
