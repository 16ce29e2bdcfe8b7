from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from grants.core.codes import REGION_LABELS
from grants.core.forms import TOO_LONG, BaseForm
from grants.initiatives.services import DESCRIPTION_MAX, PROFILE_FIELDS, THEME_MAX, TITLE_MAX


class InitiativeForm(BaseForm):
    """The profile of an initiative; the service checks the rest (target groups, membership)."""

    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter the initiative's title.")),
                                                 Length(max=TITLE_MAX, message=TOO_LONG)])
    description = TextAreaField(_l("Description"),
                                validators=[Optional(), Length(max=DESCRIPTION_MAX, message=TOO_LONG)],
                                description=_l("The social problem and the change the initiative works for."))
    theme = StringField(_l("Theme"), validators=[Optional(), Length(max=THEME_MAX, message=TOO_LONG)],
                        description=_l("For example: social inclusion of seniors."))
    target_groups = TextAreaField(_l("Target groups"), validators=[Optional()],
                                  description=_l("One per line, at most 20, each up to 80 characters."))
    region = SelectField(_l("Region"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(self.target_groups.data, list):  # from the stored initiative: one per line
            self.target_groups.data = "\n".join(self.target_groups.data)
        self.region.choices = [("", str(_l("Not tied to one region")))] + [
            (code.value, str(text)) for code, text in REGION_LABELS.items()]

    def profile(self) -> dict:
        data = {name: self[name].data for name in PROFILE_FIELDS}
        data["target_groups"] = (data["target_groups"] or "").splitlines()
        data["region"] = data["region"] or None
        return data


class NewInitiativeForm(InitiativeForm):
    organisation_id = SelectField(_l("Organisation"), coerce=int,
                                  validators=[InputRequired(_l("Choose an organisation you belong to."))])
    si_stage = SelectField(_l("Current SI stage"), validators=[DataRequired(_l("Choose one of the SI stages."))],
                           description=_l("Where the initiative stands now. Later it moves on only through "
                                          "the programme's decisions."))


class EditInitiativeForm(InitiativeForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
