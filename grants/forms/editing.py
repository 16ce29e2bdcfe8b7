"""Changing a form definition one step at a time, for the call's form editor.

Pure functions: each takes a form definition (a list of sections, see :mod:`grants.forms.definitions`)
and returns a new one, leaving its argument untouched. Sections and questions are named by their
codes (unique in a valid form). They check only what they need to find their way
(:class:`FormEditError` for an unknown code or a malformed line); whether the result is a valid
form is for :func:`grants.forms.definitions.validate_form_definition`, run when the call is saved.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.core.errors import UserInputError
from grants.forms.definitions import QuestionType, iter_questions
from grants.forms.templates import SECTION_TEMPLATES

#: Names of the question types as officers see them.
QUESTION_TYPE_LABELS = {
    QuestionType.SHORT_TEXT: _l("Short text"),
    QuestionType.LONG_TEXT: _l("Long text"),
    QuestionType.NUMBER: _l("Number"),
    QuestionType.MONEY: _l("Money"),
    QuestionType.DATE: _l("Date"),
    QuestionType.SINGLE_CHOICE: _l("Single choice"),
    QuestionType.MULTIPLE_CHOICE: _l("Multiple choice"),
    QuestionType.YES_NO: _l("Yes/no"),
    QuestionType.FILE: _l("File"),
    QuestionType.TABLE: _l("Table rows"),
}

#: Keys a column line may set after its five fixed parts (``key=value``).
_COLUMN_EXTRAS = ("max_length", "min", "max", "not_more_than")
_YES = {"yes", "y", "true", "1", "jā", "ja"}
_NO = {"no", "n", "false", "0", "nē", "ne", ""}


class FormEditError(UserInputError):
    """An edit that cannot be made; ``fields`` names the editor's field (``options``, ``code``...)."""

    default_message = _l("The change could not be made.")


def _copy(form: Any) -> list[dict[str, Any]]:
    return copy.deepcopy(list(form or []))


def _section_index(form: list[dict[str, Any]], code: str) -> int:
    for index, section in enumerate(form):
        if isinstance(section, Mapping) and section.get("code") == code:
            return index
    raise FormEditError(_("The form has no section %(code)s.", code=code))


def _question_position(form: list[dict[str, Any]], code: str) -> tuple[int, int]:
    for s_index, section in enumerate(form):
        questions = section.get("questions") if isinstance(section, Mapping) else None
        for q_index, question in enumerate(questions if isinstance(questions, list) else []):
            if isinstance(question, Mapping) and question.get("code") == code:
                return s_index, q_index
    raise FormEditError(_("The form has no question %(code)s.", code=code))


def find_section(form: Any, code: str) -> dict[str, Any]:
    """The section named ``code``; :class:`FormEditError` when there is none."""
    sections = list(form or [])
    return sections[_section_index(sections, code)]


def find_question(form: Any, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(section, question)`` of the question named ``code``."""
    sections = list(form or [])
    s_index, q_index = _question_position(sections, code)
    return sections[s_index], sections[s_index]["questions"][q_index]


def question_path(form: Any, code: str) -> str:
    """The question's path in error messages (``2.questions.0``)."""
    s_index, q_index = _question_position(list(form or []), code)
    return f"{s_index}.questions.{q_index}"


def section_path(form: Any, code: str) -> str:
    return str(_section_index(list(form or []), code))


def _move(items: list[Any], index: int, offset: int) -> None:
    target = index + offset
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]


# --- sections --------------------------------------------------------------------------------------

def section_template(code: str) -> dict[str, Any]:
    """A fresh copy of the built-in section template ``code``."""
    template = SECTION_TEMPLATES.get(code)
    if template is None:
        raise FormEditError(fields={"template": [_("Choose one of the built-in sections.")]})
    return template.build()


def add_section_from_template(form: Any, template_code: str) -> list[dict[str, Any]]:
    """The form with a built-in section appended.

    Codes are answers' keys, and the budget table's code is read by the budget totals, so clashing
    codes are not renamed: the clash is reported, naming each code, and nothing is added.
    """
    result = _copy(form)
    section = section_template(template_code)
    used_sections = {s.get("code") for s in result if isinstance(s, Mapping)}
    used_questions = {question["code"] for _section, question in iter_questions(result)}
    problems: list[str] = []
    if section["code"] in used_sections:
        problems.append(_("The form already has a section with the code %(code)s.", code=section["code"]))
    clashes = [q["code"] for q in section["questions"] if q["code"] in used_questions]
    if clashes:
        problems.append(_("Questions with these codes are already in the form: %(codes)s. Remove or rename "
                          "them before adding this section.", codes=", ".join(clashes)))
    if problems:
        raise FormEditError(fields={"template": problems})
    result.append(section)
    return result


def section_from_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """A section's own keys (without questions) from the editor's fields; empty help left out."""
    section: dict[str, Any] = {"code": (values.get("code") or "").strip(),
                               "title_lv": (values.get("title_lv") or "").strip(),
                               "title_en": (values.get("title_en") or "").strip()}
    for key in ("help_lv", "help_en"):
        text = (values.get(key) or "").strip()
        if text:
            section[key] = text
    return section


def add_section(form: Any, values: Mapping[str, Any], first_question: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The form with a new section at the end; a section holds at least one question, so it comes
    with its first."""
    result = _copy(form)
    section = section_from_values(values)
    section["questions"] = [copy.deepcopy(dict(first_question))]
    result.append(section)
    return result


def update_section(form: Any, code: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The form with the section's code, titles and help replaced; its questions stay."""
    result = _copy(form)
    index = _section_index(result, code)
    updated = section_from_values(values)
    updated["questions"] = result[index].get("questions", [])
    result[index] = updated
    return result


def remove_section(form: Any, code: str) -> list[dict[str, Any]]:
    result = _copy(form)
    del result[_section_index(result, code)]
    return result


def move_section(form: Any, code: str, offset: int) -> list[dict[str, Any]]:
    """The section moved ``offset`` places (-1 up, +1 down); at either end it stays."""
    result = _copy(form)
    _move(result, _section_index(result, code), offset)
    return result


# --- questions -------------------------------------------------------------------------------------

def add_question(form: Any, section_code: str, question: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The form with ``question`` appended to the section."""
    result = _copy(form)
    section = result[_section_index(result, section_code)]
    section.setdefault("questions", []).append(copy.deepcopy(dict(question)))
    return result


def update_question(form: Any, code: str, question: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The form with the question named ``code`` replaced by ``question`` (which may rename it)."""
    result = _copy(form)
    s_index, q_index = _question_position(result, code)
    result[s_index]["questions"][q_index] = copy.deepcopy(dict(question))
    return result


def remove_question(form: Any, code: str) -> list[dict[str, Any]]:
    result = _copy(form)
    s_index, q_index = _question_position(result, code)
    questions = result[s_index]["questions"]
    if len(questions) == 1:
        raise FormEditError(_("A section needs at least one question: remove the section instead."))
    del questions[q_index]
    return result


def move_question(form: Any, code: str, offset: int) -> list[dict[str, Any]]:
    """The question moved ``offset`` places within its section; at either end it stays."""
    result = _copy(form)
    s_index, q_index = _question_position(result, code)
    _move(result[s_index]["questions"], q_index, offset)
    return result


# --- the question editor's text fields -------------------------------------------------------------

def _parts(line: str) -> list[str]:
    return [part.strip() for part in line.split("|")]


def _lines(text: str | None) -> list[tuple[int, str]]:
    return [(number, line.strip()) for number, line in enumerate((text or "").splitlines(), start=1)
            if line.strip()]


def parse_options(text: str | None) -> list[dict[str, str]]:
    """Options from lines ``value | label lv | label en``; :class:`FormEditError` on ``options``
    naming each malformed line."""
    options: list[dict[str, str]] = []
    errors: list[str] = []
    for number, line in _lines(text):
        parts = _parts(line)
        if len(parts) != 3 or not all(parts):
            errors.append(_("Line %(line)d: write value | label in Latvian | label in English.", line=number))
            continue
        options.append({"value": parts[0], "label_lv": parts[1], "label_en": parts[2]})
    if errors:
        raise FormEditError(fields={"options": errors})
    return options


def format_options(options: Any) -> str:
    return "\n".join(f"{o.get('value', '')} | {o.get('label_lv', '')} | {o.get('label_en', '')}"
                     for o in options or [] if isinstance(o, Mapping))


def _number(text: str) -> int | float | None:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def parse_columns(text: str | None, existing: Any = None) -> list[dict[str, Any]]:
    """Table columns from lines ``code | type | label lv | label en | required (yes/no)``, optionally
    followed by ``max_length=…``, ``min=…``, ``max=…``, ``not_more_than=<column>``.

    What a line cannot express (a choice column's options) is kept from the ``existing`` column of
    the same code, so rewording a column does not lose it. :class:`FormEditError` on ``columns``.
    """
    before = {c.get("code"): c for c in existing or [] if isinstance(c, Mapping)}
    columns: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, line in _lines(text):
        parts = _parts(line)
        if len(parts) < 4 or not all(parts[:4]):
            errors.append(_("Line %(line)d: write code | type | label in Latvian | label in English | "
                            "required (yes/no).", line=number))
            continue
        code, kind, label_lv, label_en = parts[:4]
        required = parts[4].lower() if len(parts) > 4 else ""
        if required not in _YES | _NO:
            errors.append(_("Line %(line)d: write yes or no for required.", line=number))
            continue
        column: dict[str, Any] = {"code": code, "type": kind, "required": required in _YES,
                                  "label_lv": label_lv, "label_en": label_en}
        old = before.get(code)
        if old is not None and old.get("type") == kind and old.get("options") is not None:
            column["options"] = copy.deepcopy(old["options"])
        for extra in parts[5:]:
            key, sep, value = (piece.strip() for piece in extra.partition("="))
            if not sep or key not in _COLUMN_EXTRAS or not value:
                errors.append(_("Line %(line)d: %(part)s is not one of max_length=, min=, max=, not_more_than=.",
                                line=number, part=extra))
                continue
            if key == "not_more_than":
                column[key] = value
                continue
            parsed = _number(value)
            if parsed is None or (key == "max_length" and not isinstance(parsed, int)):
                errors.append(_("Line %(line)d: %(key)s must be a number.", line=number, key=key))
                continue
            column[key] = parsed
        columns.append(column)
    if errors:
        raise FormEditError(fields={"columns": errors})
    return columns


def format_columns(columns: Any) -> str:
    lines = []
    for column in columns or []:
        if not isinstance(column, Mapping):
            continue
        parts = [str(column.get(key, "")) for key in ("code", "type", "label_lv", "label_en")]
        parts.append("yes" if column.get("required") else "no")
        parts.extend(f"{key}={column[key]}" for key in _COLUMN_EXTRAS if column.get(key) is not None)
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def question_from_values(values: Mapping[str, Any], existing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A question from the editor's fields: ``code, type, label_lv/en, help_lv/en, required,
    max_length, min, max, options`` (text), ``columns`` (text), ``min_rows, max_rows``.

    Empty fields are left out; filled ones are kept whatever the type, so a limit that does not suit
    the type is reported by the form's validation rather than dropped unseen.
    """
    question: dict[str, Any] = {"code": (values.get("code") or "").strip(), "type": values.get("type") or "",
                                "required": bool(values.get("required")),
                                "label_lv": (values.get("label_lv") or "").strip(),
                                "label_en": (values.get("label_en") or "").strip()}
    for key in ("help_lv", "help_en"):
        text = (values.get(key) or "").strip()
        if text:
            question[key] = text
    for key in ("max_length", "min", "max", "min_rows", "max_rows"):
        if values.get(key) is not None:
            question[key] = values[key]
    errors: dict[str, list[str]] = {}
    if (values.get("options") or "").strip():
        try:
            question["options"] = parse_options(values["options"])
        except FormEditError as error:
            errors.update(error.fields)
    if (values.get("columns") or "").strip():
        try:
            question["columns"] = parse_columns(values["columns"], (existing or {}).get("columns"))
        except FormEditError as error:
            errors.update(error.fields)
    if errors:
        raise FormEditError(fields=errors)
    return question


def question_values(question: Mapping[str, Any]) -> dict[str, Any]:
    """The editor's fields for a stored question (the inverse of :func:`question_from_values`)."""
    values = {key: question.get(key) for key in ("code", "type", "label_lv", "label_en", "help_lv", "help_en",
                                                  "max_length", "min", "max", "min_rows", "max_rows")}
    values["required"] = bool(question.get("required"))
    values["options"] = format_options(question.get("options"))
    values["columns"] = format_columns(question.get("columns"))
    return values
