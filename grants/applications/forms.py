"""HTML forms for starting and editing an application."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from grants.core.forms import TOO_LONG, BaseForm


class ApplicationFieldsForm(BaseForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the application a title.")),
                                                 Length(max=300, message=TOO_LONG)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=5000, message=TOO_LONG)],
                            description=_l("What you will do, for whom, and what will change."))
    requested_amount = DecimalField(_l("Requested amount (EUR)"), places=2,
                                    validators=[InputRequired(_l("Enter the amount you ask for.")),
                                                NumberRange(min=0, message=_l("The amount cannot be negative."))])
    duration_months = IntegerField(_l("Duration (months)"),
                                   validators=[InputRequired(_l("Enter the duration in months.")),
                                               NumberRange(min=1, max=120,
                                                           message=_l("Between 1 and 120 months."))])

    def values(self) -> dict:
        return {"title": self.title.data.strip(), "summary": (self.summary.data or "").strip(),
                "requested_amount": self.requested_amount.data, "duration_months": self.duration_months.data}


class NewApplicationForm(ApplicationFieldsForm):
    organisation_id = SelectField(_l("Applying organisation"), coerce=int,
                                  validators=[InputRequired(_l("Choose the organisation that applies."))])
    si_stage = SelectField(_l("SI stage"), validators=[DataRequired(_l("Choose the SI stage you ask money for."))])
    initiative_id = SelectField(_l("Initiative"), coerce=int, validators=[Optional()],
                                description=_l("Continue an initiative of your organisation, or start a new one."))


class EditApplicationForm(ApplicationFieldsForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
