"""HTML forms of the officer's evaluation pages: the rubric editor, the evaluator pool, assignment
and reassignment, returning a review for correction.

The rubric editor keeps what was typed as text: numbers are checked by
:func:`grants.evaluations.rubrics.validate_rubric`, whose messages are put back on the fields
they name (``criteria.2.max_points`` → the third row's maximum).
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from grants.core.forms import TOO_LONG, BaseForm
from grants.evaluations.rubrics import TIE_BREAKS

#: The fields of a criterion row, in the rubric's JSON names.
CRITERION_FIELDS = ("code", "title_lv", "title_en", "guidance_lv", "guidance_en", "max_points", "weight",
                    "min_points")
#: Settings of the rubric edited as form fields, in the rubric's JSON names.
SETTING_FIELDS = ("threshold", "evaluators_required", "discrepancy_percent", "review_days", "tie_break")
INTEGER_SETTINGS = ("evaluators_required", "review_days")


class CriterionRowForm(Form):
    """One criterion (a row of the editor's table); a row left wholly empty is ignored."""

    code = StringField(_l("Code"), validators=[Optional(), Length(max=40, message=TOO_LONG)])
    title_lv = StringField(_l("Title in Latvian"), validators=[Optional(), Length(max=300, message=TOO_LONG)])
    title_en = StringField(_l("Title in English"), validators=[Optional(), Length(max=300, message=TOO_LONG)])
    guidance_lv = TextAreaField(_l("Guidance in Latvian"), validators=[Optional(),
                                                                       Length(max=3000, message=TOO_LONG)])
    guidance_en = TextAreaField(_l("Guidance in English"), validators=[Optional(),
                                                                       Length(max=3000, message=TOO_LONG)])
    max_points = StringField(_l("Maximum points"), validators=[Optional(), Length(max=20, message=TOO_LONG)])
    weight = StringField(_l("Weight"), validators=[Optional(), Length(max=20, message=TOO_LONG)])
    min_points = StringField(_l("Minimum points"), validators=[Optional(), Length(max=20, message=TOO_LONG)])
    remove = BooleanField(_l("Remove"))

    def is_blank(self) -> bool:
        return not any((self[name].data or "").strip() for name in CRITERION_FIELDS)


class RubricForm(BaseForm):
    rubric_hash = StringField(widget=HiddenInput())
    threshold = StringField(_l("Pass threshold (weighted total)"),
                            validators=[Optional(), Length(max=20, message=TOO_LONG)])
    evaluators_required = StringField(_l("Evaluators per application"),
                                      validators=[Optional(), Length(max=5, message=TOO_LONG)])
    discrepancy_percent = StringField(
        _l("Discrepancy that brings a third evaluator (percent of the higher total)"),
        validators=[Optional(), Length(max=20, message=TOO_LONG)])
    review_days = StringField(_l("Days to review"), validators=[Optional(), Length(max=5, message=TOO_LONG)])
    tie_break = SelectField(_l("Tie-break rule"), validators=[Optional()])
    criteria = FieldList(FormField(CriterionRowForm), min_entries=1)
    stages = TextAreaField(
        _l("Rubrics per SI stage (advanced, JSON)"),
        description=_l("Optional. An object by SI stage code, each with its own criteria and threshold, e.g. "
                       "{\"scaling\": {\"criteria\": [...], \"threshold\": 70}}. Leave empty to use the "
                       "criteria above for every stage."),
        validators=[Optional(), Length(max=100000, message=TOO_LONG)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tie_break.choices = [(code, str(text)) for code, text in TIE_BREAKS.items()]
        #: Form row of each criterion sent to the validator (its index there), for placing messages.
        self.kept_rows: list[int] = []
        #: Messages that belong to no single field.
        self.general: list[str] = []


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def rubric_form_data(rubric: dict[str, Any], current_hash: str) -> dict[str, Any]:
    """The form's initial data for a stored rubric (and one empty row to add a criterion)."""
    stages = rubric.get("stages") or {}
    return {
        "rubric_hash": current_hash,
        **{name: _text(rubric.get(name)) for name in SETTING_FIELDS},
        "criteria": [{name: _text(c.get(name)) for name in CRITERION_FIELDS} for c in rubric.get("criteria") or []]
        + [{}],
        "stages": json.dumps(stages, ensure_ascii=False, indent=2) if stages else "",
    }


def _number(text: str | None) -> str | None:
    """A typed number as text for the validator (a decimal comma allowed); None when empty."""
    text = (text or "").strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
    return text or None


def _integer(text: str | None) -> Any:
    """A whole number, or what was typed (the validator then names the field)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def rubric_from(form: RubricForm) -> dict[str, Any] | None:
    """The rubric as typed, for :func:`validate_rubric`; None (with the reason on the field) when
    the per-stage JSON cannot be read. Empty and removed rows are left out (``form.kept_rows``)."""
    criteria = []
    form.kept_rows = []
    for index, entry in enumerate(form.criteria.entries):
        row = entry.form
        if row.remove.data or row.is_blank():
            continue
        item: dict[str, Any] = {name: (row[name].data or "").strip() for name in CRITERION_FIELDS[:5]}
        item["max_points"] = _number(row.max_points.data)
        weight = _number(row.weight.data)
        if weight is not None:
            item["weight"] = weight
        item["min_points"] = _number(row.min_points.data)
        criteria.append(item)
        form.kept_rows.append(index)
    data: dict[str, Any] = {"criteria": criteria, "threshold": _number(form.threshold.data) or "",
                            "tie_break": form.tie_break.data}
    for name in INTEGER_SETTINGS:
        value = _integer(form[name].data)
        if value is not None:
            data[name] = value
    percent = _number(form.discrepancy_percent.data)
    if percent is not None:
        data["discrepancy_percent"] = percent
    text = (form.stages.data or "").strip()
    if text:
        try:
            stages = json.loads(text)
        except ValueError as error:
            form.stages.errors = [_("This is not valid JSON: %(problem)s", problem=str(error))]
            return None
        data["stages"] = stages
    return data


def place_errors(form: RubricForm, fields: dict[str, list[str]]) -> None:
    """Put each message of a :class:`RubricError` on the field it names; the rest in ``form.general``."""
    for key, messages in fields.items():
        parts = key.split(".")
        if parts[0] in SETTING_FIELDS:
            form[parts[0]].errors = [*form[parts[0]].errors, *messages]
        elif parts[0] == "criteria" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(form.kept_rows):
            row = form.criteria.entries[form.kept_rows[int(parts[1])]].form
            name = parts[2] if len(parts) > 2 and parts[2] in CRITERION_FIELDS else "code"
            row[name].errors = [*row[name].errors, *messages]
        elif parts[0] == "stages":
            where = ".".join(parts[1:])
            form.stages.errors = [*form.stages.errors, *(f"{where}: {m}" if where else m for m in messages)]
        else:
            form.general.extend(messages)


# --- the pool and assignments --------------------------------------------------------------------------

class PoolAddForm(BaseForm):
    user_id = SelectField(_l("Evaluator"), coerce=int, validators=[DataRequired(_l("Choose an evaluator."))])


class ConfirmForm(BaseForm):
    """A button's form: only its CSRF token."""


class ReassignForm(BaseForm):
    comment = TextAreaField(_l("Why is it reassigned?"),
                            validators=[DataRequired(_l("Say why the assignment is withdrawn.")),
                                        Length(max=2000, message=TOO_LONG)])
    #: A pool member typed or picked from the page's one list of the pool (``<datalist id="pool-evaluators">``:
    #: a ``<select>`` per open assignment repeated the whole pool on every row), as "Name (e-mail)", the
    #: e-mail, or the user id; empty: the least loaded.
    evaluator_id = StringField(_l("New evaluator"), validators=[Optional(), Length(max=320, message=TOO_LONG)],
                               description=_l("Leave empty to assign the least loaded evaluator free of "
                                              "conflicts."), render_kw={"list": "pool-evaluators"})

    def chosen(self) -> int | None:
        value = (self.evaluator_id.data or "").strip()
        return int(value) if value.isdigit() and len(value) <= 10 else None

    def chosen_email(self) -> str | None:
        """The e-mail of the evaluator typed or picked ("Name (e-mail)" or the e-mail alone), if no id."""
        value = (self.evaluator_id.data or "").strip()
        if not value or value.isdigit():
            return None
        if value.endswith(")") and "(" in value:
            value = value[value.rindex("(") + 1:-1]
        return value.strip().lower() or None


class ReturnForm(BaseForm):
    comment = TextAreaField(_l("What should the evaluator correct?"),
                            validators=[DataRequired(_l("Say what the evaluator should correct.")),
                                        Length(max=2000, message=TOO_LONG)])
