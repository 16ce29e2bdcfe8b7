"""HTML forms for officers setting up calls: dates are entered in Europe/Riga and stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from grants.core.forms import TOO_LONG, BaseForm
from grants.forms.editing import QUESTION_TYPE_LABELS

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local_to_utc(value: datetime | None) -> datetime | None:
    """A wall-clock time in Riga (naive, from a datetime-local input) as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=_zone()).astimezone(UTC)


def utc_to_local(value: datetime | None) -> datetime | None:
    """A stored UTC time as Riga wall-clock time (naive), for a datetime-local input."""
    return value.astimezone(_zone()).replace(tzinfo=None) if value is not None else None


class StageRowForm(Form):
    si_stage = StringField(widget=HiddenInput())
    include = BooleanField(_l("The call funds this stage"))
    envelope = DecimalField(_l("Envelope (EUR)"), places=2, validators=[Optional()])
    min_grant = DecimalField(_l("Minimum grant (EUR)"), places=2, validators=[Optional()])
    max_grant = DecimalField(_l("Maximum grant (EUR)"), places=2, validators=[Optional()])


class CallForm(BaseForm):
    programme_id = SelectField(_l("Programme"), coerce=int, validators=[InputRequired(_l("Choose a programme."))])
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the call's code.")),
                                               Length(max=40, message=TOO_LONG)])
    title_lv = StringField(_l("Title in Latvian"), validators=[DataRequired(_l("Enter the title in Latvian.")),
                                                              Length(max=300, message=TOO_LONG)])
    title_en = StringField(_l("Title in English"), validators=[DataRequired(_l("Enter the title in English.")),
                                                              Length(max=300, message=TOO_LONG)])
    description_lv = TextAreaField(_l("Description in Latvian"), validators=[Optional()])
    description_en = TextAreaField(_l("Description in English"), validators=[Optional()])
    opens_at = DateTimeLocalField(_l("Opens (Riga time)"), format=LOCAL_FORMAT,
                                  validators=[InputRequired(_l("Enter when the call opens."))])
    closes_at = DateTimeLocalField(_l("Submission deadline (Riga time)"), format=LOCAL_FORMAT,
                                   validators=[InputRequired(_l("Enter the submission deadline."))])
    workflow = SelectField(_l("Workflow"), validators=[DataRequired(_l("Choose a workflow."))])
    stages = FieldList(FormField(StageRowForm))

    def values(self) -> dict:
        name, _sep, version = (self.workflow.data or "").rpartition(":")
        return {"programme_id": self.programme_id.data, "code": self.code.data.strip(),
                "title_lv": self.title_lv.data.strip(), "title_en": self.title_en.data.strip(),
                "description_lv": self.description_lv.data or "", "description_en": self.description_en.data or "",
                "opens_at": local_to_utc(self.opens_at.data), "closes_at": local_to_utc(self.closes_at.data),
                "workflow_name": name, "workflow_version": int(version) if version.isdigit() else 0,
                "stages": [{"si_stage": row.si_stage.data, "envelope": row.envelope.data,
                            "min_grant": row.min_grant.data, "max_grant": row.max_grant.data}
                           for row in self.stages if row.include.data]}


class CorrigendumForm(BaseForm):
    closes_at = DateTimeLocalField(_l("New submission deadline (Riga time)"), format=LOCAL_FORMAT,
                                   validators=[Optional()])
    description_lv = TextAreaField(_l("Description in Latvian"), validators=[Optional()])
    description_en = TextAreaField(_l("Description in English"), validators=[Optional()])
    reason = TextAreaField(_l("Reason for the corrigendum"),
                           validators=[DataRequired(_l("Say why the call is corrected.")),
                                       Length(max=5000, message=TOO_LONG)],
                           description=_l("Applicants preparing an application are sent this."))


class PublishForm(BaseForm):
    """Only the CSRF token."""


# --- the form editor ----------------------------------------------------------------------------------

def _type_choices() -> list[tuple[str, str]]:
    return [(kind.value, str(label)) for kind, label in QUESTION_TYPE_LABELS.items()]


class _EditorForm(BaseForm):
    """Every change in the form editor carries the hash of the form it started from (stale edits: 409)."""

    form_hash = StringField(widget=HiddenInput())


class QuestionFields(Form):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter a code."))],
                       description=_l("Answers are stored under it: lower-case letters, digits and "
                                      "underscores, unique in the whole form."))
    type = SelectField(_l("Type"), choices=_type_choices, validators=[DataRequired(_l("Choose a type."))])
    label_lv = StringField(_l("Question in Latvian"), validators=[DataRequired(_l("Enter the question in Latvian."))])
    label_en = StringField(_l("Question in English"), validators=[DataRequired(_l("Enter the question in English."))])
    help_lv = TextAreaField(_l("Help in Latvian"), validators=[Optional()])
    help_en = TextAreaField(_l("Help in English"), validators=[Optional()])
    required = BooleanField(_l("Required"))
    max_length = IntegerField(_l("Character limit"), validators=[Optional()],
                              description=_l("Short and long text only."))
    min = DecimalField(_l("Minimum"), validators=[Optional()], description=_l("Number and money only."))
    max = DecimalField(_l("Maximum"), validators=[Optional()], description=_l("Number and money only."))
    options = TextAreaField(_l("Options"), validators=[Optional()],
                            description=_l("Choice questions only: one option a line, "
                                           "value | label in Latvian | label in English."))
    columns = TextAreaField(_l("Table columns"), validators=[Optional()],
                            description=_l("Tables only: one column a line, code | type | label in Latvian | "
                                           "label in English | required (yes/no), then optionally max_length=…, "
                                           "min=…, max=…, not_more_than=<column>. The options of a choice column "
                                           "are kept; change them in the JSON editor."))
    min_rows = IntegerField(_l("Minimum rows"), validators=[Optional()])
    max_rows = IntegerField(_l("Maximum rows"), validators=[Optional()])

    def values(self) -> dict:
        data = {name: field.data for name, field in self._fields.items()}
        for key in ("min", "max"):
            if data[key] is not None:
                data[key] = int(data[key]) if data[key] == data[key].to_integral_value() else float(data[key])
        return data


class QuestionForm(_EditorForm):
    question = FormField(QuestionFields)


class SectionForm(_EditorForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter a code."))],
                       description=_l("Lower-case letters, digits and underscores, unique in the form."))
    title_lv = StringField(_l("Title in Latvian"), validators=[DataRequired(_l("Enter the title in Latvian."))])
    title_en = StringField(_l("Title in English"), validators=[DataRequired(_l("Enter the title in English."))])
    help_lv = TextAreaField(_l("Help in Latvian"), validators=[Optional()])
    help_en = TextAreaField(_l("Help in English"), validators=[Optional()])

    def values(self) -> dict:
        return {key: self._fields[key].data for key in ("code", "title_lv", "title_en", "help_lv", "help_en")}


class NewSectionForm(SectionForm):
    """A section holds at least one question, so a new one comes with its first."""

    question = FormField(QuestionFields)


class FormActionForm(_EditorForm):
    """Move or remove a section or question: ``action`` names what, ``target`` the code."""

    action = StringField(widget=HiddenInput())
    target = StringField(widget=HiddenInput())


class SectionTemplateForm(_EditorForm):
    template = SelectField(_l("Built-in section"),
                           validators=[DataRequired(_l("Choose one of the built-in sections."))])


class FormJSONForm(_EditorForm):
    definition = TextAreaField(_l("Form definition (JSON)"),
                               validators=[DataRequired(_l("Enter the form definition."))],
                               description=_l("The whole form: a list of sections with their questions. "
                                              "It is checked the same way as every other change."))
