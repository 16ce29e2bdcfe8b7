from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from grants.core.codes import LEGAL_FORM_LABELS, REGION_LABELS
from grants.core.forms import TOO_LONG, BaseForm


def _choices(labels: dict, blank: str | None = None):
    def build():
        items = [(code.value, str(text)) for code, text in labels.items()]
        return ([("", blank)] if blank is not None else []) + items

    return build


class OrganisationForm(BaseForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the organisation's name.")),
                                               Length(max=300, message=TOO_LONG)])
    registration_number = StringField(
        _l("Registration number"),
        validators=[DataRequired(_l("Enter the registration number.")), Length(max=50, message=TOO_LONG),
                    Regexp(r"^[A-Za-z0-9\-/ ]+$", message=_l("Use letters, digits, spaces, - and / only."))],
        description=_l("As in the Enterprise Register (11 digits for Latvian organisations)."))
    legal_form = SelectField(_l("Legal form"), validators=[DataRequired(_l("Choose the legal form."))])
    country = StringField(_l("Country"), default="LV",
                          validators=[DataRequired(), Regexp(r"^[A-Za-z]{2}$",
                                                             message=_l("Two-letter country code, e.g. LV."))],
                          description=_l("Two-letter ISO code, e.g. LV."))
    region = SelectField(_l("Planning region"), validators=[Optional()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=500, message=TOO_LONG)])
    contact_email = EmailField(_l("Contact e-mail"), validators=[Optional(), Email(_l("Enter a valid e-mail address.")),
                                                                 Length(max=254, message=TOO_LONG)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=50, message=TOO_LONG)])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300, message=TOO_LONG)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.legal_form.choices = _choices(LEGAL_FORM_LABELS, str(_l("Choose…")))()
        self.region.choices = _choices(REGION_LABELS, str(_l("Outside Latvia / not applicable")))()

    def profile(self) -> dict:
        data = {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
        data["region"] = data.get("region") or None
        return data
