"""The shape of a form definition and its check when an officer saves it.

A form is a list of sections; it is stored as plain JSON in ``Call.form`` so that publication can
freeze and hash it with the rest of the call (DESIGN §12 item 1)::

    section  = {code, title_lv, title_en, help_lv?, help_en?, questions: [question, ...]}
    question = {code, type, required, label_lv, label_en, help_lv?, help_en?,
                max_length?            (short_text, long_text: characters, counted after trimming),
                min?, max?             (number, money: JSON numbers),
                options?               (single_choice, multiple_choice: [{value, label_lv, label_en}]),
                columns?, min_rows?, max_rows?   (table: column specs, see below)}
    column   = {code, type, required, label_lv, label_en, options?, max_length?, min?, max?,
                not_more_than?         (number, money: code of another numeric column of the row)}

Codes and option values are stable identifiers (``^[a-z][a-z0-9_]{0,59}$``): answers are stored
under them and nothing matches on display text. Question codes are unique across the whole form,
because answers are one flat mapping. Bad definitions are rejected when saved
(:func:`validate_form_definition` raises :class:`FormDefinitionError` with field paths such as
``1.questions.0.options``), never at run time.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.core.errors import UserInputError
from grants.core.validation_messages import translate_validation_message


class QuestionType(enum.StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    FILE = "file"
    TABLE = "table"


QUESTION_TYPES: frozenset[str] = frozenset(t.value for t in QuestionType)
TEXT_TYPES: frozenset[str] = frozenset({QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT})
NUMERIC_TYPES: frozenset[str] = frozenset({QuestionType.NUMBER, QuestionType.MONEY})
CHOICE_TYPES: frozenset[str] = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
#: What a table cell may hold: one value per cell, so no files, nested tables or multiple choices.
COLUMN_TYPES: frozenset[str] = frozenset({QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT, QuestionType.NUMBER,
                                          QuestionType.MONEY, QuestionType.DATE, QuestionType.SINGLE_CHOICE,
                                          QuestionType.YES_NO})

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
#: Applied when a text question names no limit, so no answer is unbounded.
DEFAULT_MAX_LENGTH: dict[str, int] = {QuestionType.SHORT_TEXT: 300, QuestionType.LONG_TEXT: 20000}
#: The largest limit an officer may set.
MAX_MAX_LENGTH: dict[str, int] = {QuestionType.SHORT_TEXT: 1000, QuestionType.LONG_TEXT: 100000}
MAX_COLUMNS = 20
MAX_ROWS = 500
MAX_OPTIONS = 100


class FormDefinitionError(UserInputError):
    """A form definition that cannot be saved; ``fields`` maps paths (``0.questions.2.type``) to messages."""

    default_message = _l("The form definition has errors.")


class _JSONNumber(ma.fields.Field):
    """A finite JSON number kept as given (int or float), so the definition stays plain JSON."""

    default_error_messages = {"invalid": "Not a valid number."}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                (isinstance(value, float) and not math.isfinite(value)):
            raise self.make_error("invalid")
        return value


def _code_field(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(required=True, validate=ma.validate.Regexp(
        CODE_PATTERN, error=_l("Use lower-case letters, digits and underscores, starting with a letter "
                               "(at most 60 characters).")), **kwargs)


def _label_field(*, required: bool = True, max_length: int = 500) -> ma.fields.String:
    validators = [ma.validate.Length(max=max_length)]
    if required:
        validators.append(ma.validate.Length(min=1))
    return ma.fields.String(required=required, validate=validators)


class OptionSchema(ma.Schema):
    value = _code_field()
    label_lv = _label_field()
    label_en = _label_field()


def _check_common(data: Mapping[str, Any]) -> None:
    """Checks shared by questions and table columns: which keys suit which type, and their ranges."""
    kind = data.get("type")
    errors: dict[str, list[str]] = {}

    options = data.get("options")
    if kind in CHOICE_TYPES:
        if not options:
            errors["options"] = [_("List the options of a choice question.")]
        elif len({option["value"] for option in options}) != len(options):
            errors["options"] = [_("Option values must be unique.")]
    elif options is not None:
        errors["options"] = [_("Only choice questions have options.")]

    max_length = data.get("max_length")
    if max_length is not None:
        if kind not in TEXT_TYPES:
            errors["max_length"] = [_("Only text questions have a character limit.")]
        elif not 1 <= max_length <= MAX_MAX_LENGTH[kind]:
            errors["max_length"] = [_("Use a limit from 1 to %(limit)s characters.",
                                           limit=MAX_MAX_LENGTH[kind])]

    low, high = data.get("min"), data.get("max")
    for key in ("min", "max"):
        if data.get(key) is not None and kind not in NUMERIC_TYPES:
            errors[key] = [_("Only number and money questions have limits.")]
    if kind == QuestionType.MONEY and low is not None and low < 0:
        errors["min"] = [_("An amount cannot be negative.")]
    if kind in NUMERIC_TYPES and low is not None and high is not None and low > high:
        errors["max"] = [_("The maximum must not be less than the minimum.")]

    if errors:
        raise ma.ValidationError(errors)


class ColumnSchema(ma.Schema):
    code = _code_field()
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(COLUMN_TYPES)))
    required = ma.fields.Boolean(load_default=False)
    label_lv = _label_field()
    label_en = _label_field()
    options = ma.fields.List(ma.fields.Nested(OptionSchema), validate=ma.validate.Length(max=MAX_OPTIONS))
    max_length = ma.fields.Integer(strict=True)
    min = _JSONNumber()
    max = _JSONNumber()
    not_more_than = ma.fields.String()

    @ma.validates_schema(skip_on_field_errors=True)
    def _consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        _check_common(data)
        if data.get("not_more_than") is not None and data["type"] not in NUMERIC_TYPES:
            raise ma.ValidationError(_("Only number and money columns can be limited by another column."),
                                     "not_more_than")


class QuestionSchema(ma.Schema):
    code = _code_field()
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(QUESTION_TYPES)))
    required = ma.fields.Boolean(load_default=False)
    label_lv = _label_field()
    label_en = _label_field()
    help_lv = _label_field(required=False, max_length=5000)
    help_en = _label_field(required=False, max_length=5000)
    max_length = ma.fields.Integer(strict=True)
    min = _JSONNumber()
    max = _JSONNumber()
    options = ma.fields.List(ma.fields.Nested(OptionSchema), validate=ma.validate.Length(max=MAX_OPTIONS))
    columns = ma.fields.List(ma.fields.Nested(ColumnSchema), validate=ma.validate.Length(max=MAX_COLUMNS))
    min_rows = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_ROWS))
    max_rows = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=MAX_ROWS))

    @ma.validates_schema(skip_on_field_errors=True)
    def _consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        _check_common(data)
        errors: dict[str, Any] = {}
        columns = data.get("columns")
        if data["type"] == QuestionType.TABLE:
            if not columns:
                errors["columns"] = [_("A table needs at least one column.")]
            else:
                errors.update(_check_columns(columns))
            low, high = data.get("min_rows"), data.get("max_rows")
            if low is not None and high is not None and low > high:
                errors["max_rows"] = [_("The maximum must not be less than the minimum.")]
        else:
            if columns is not None:
                errors["columns"] = [_("Only tables have columns.")]
            for key in ("min_rows", "max_rows"):
                if data.get(key) is not None:
                    errors[key] = [_("Only tables have a number of rows.")]
        if errors:
            raise ma.ValidationError(errors)


def _check_columns(columns: list[dict[str, Any]]) -> dict[str, Any]:
    codes = [column["code"] for column in columns]
    if len(set(codes)) != len(codes):
        return {"columns": [_("Column codes must be unique.")]}
    numeric = {column["code"] for column in columns if column["type"] in NUMERIC_TYPES}
    errors: dict[int, dict[str, list[str]]] = {}
    for index, column in enumerate(columns):
        other = column.get("not_more_than")
        if other is not None and (other == column["code"] or other not in numeric):
            errors[index] = {"not_more_than": [_("Name another number or money column of this table.")]}
    return {"columns": errors} if errors else {}


class SectionSchema(ma.Schema):
    code = _code_field()
    title_lv = _label_field()
    title_en = _label_field()
    help_lv = _label_field(required=False, max_length=5000)
    help_en = _label_field(required=False, max_length=5000)
    questions = ma.fields.List(ma.fields.Nested(QuestionSchema), required=True,
                               validate=ma.validate.Length(min=1, max=200))


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as ``{"0.questions.1.code": [message, ...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            name = "" if key == ma.exceptions.SCHEMA else str(key)
            path = ".".join(part for part in (prefix, name) if part)
            for sub_path, messages in _flatten(value, path).items():
                flat.setdefault(sub_path, []).extend(messages)
    else:
        messages = errors if isinstance(errors, list) else [errors]
        flat[prefix or "form"] = [translate_validation_message(str(message)) for message in messages]
    return flat


def validate_form_definition(form: Any) -> list[dict[str, Any]]:
    """The definition, checked and cleaned (defaults filled in), ready to store in ``Call.form``.

    Raises :class:`FormDefinitionError` naming every problem by its path, so the call editor can
    show them all at once rather than one per save.
    """
    try:
        sections = SectionSchema(many=True).load(form)
    except ma.ValidationError as error:
        raise FormDefinitionError(fields=_flatten(error.messages)) from None
    errors: dict[str, list[str]] = {}
    seen_sections: set[str] = set()
    seen_questions: dict[str, str] = {}
    for s_index, section in enumerate(sections):
        if section["code"] in seen_sections:
            errors[f"{s_index}.code"] = [_("Another section already uses this code.")]
        seen_sections.add(section["code"])
        for q_index, question in enumerate(section["questions"]):
            path = f"{s_index}.questions.{q_index}.code"
            if question["code"] in seen_questions:
                errors[path] = [_("The code %(code)s is already used at %(path)s.", code=question["code"],
                                  path=seen_questions[question["code"]])]
            else:
                seen_questions[question["code"]] = path
    if errors:
        raise FormDefinitionError(fields=errors)
    return sections


def localized_text(item: Mapping[str, Any], field: str, language: str) -> str:
    """``item[field_<language>]``, falling back to the other language: bilingual data, not msgids."""
    other = "en" if language == "lv" else "lv"
    return str(item.get(f"{field}_{language}") or item.get(f"{field}_{other}") or "")


def iter_questions(form: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(section, question)`` pairs in form order; tolerant of junk so reading never fails."""
    if not isinstance(form, list):
        return
    for section in form:
        if not isinstance(section, Mapping):
            continue
        questions = section.get("questions")
        for question in questions if isinstance(questions, list) else []:
            if isinstance(question, Mapping) and isinstance(question.get("code"), str):
                yield section, question  # type: ignore[misc]


def max_length_of(question: Mapping[str, Any]) -> int | None:
    """The character limit of a text question or column (its own, or the default for its type)."""
    if question.get("type") not in TEXT_TYPES:
        return None
    return question.get("max_length") or DEFAULT_MAX_LENGTH[question["type"]]
