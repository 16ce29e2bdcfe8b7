from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SearchField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from grants.core.forms import TOO_LONG, BaseForm
from grants.core.roles import ROLE_LABELS


class PeopleFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = SearchField(_l("Name or e-mail"), validators=[Optional(), Length(max=254, message=TOO_LONG)])


class ErasureForm(BaseForm):
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(_l("Say why the data is erased (for example, the person's request "
                                                  "and its date).")),
                                  Length(max=2000, message=TOO_LONG)],
        description=_l("Kept in the audit trail with the erasure."))
    confirm = BooleanField(
        _l("I understand that the name, e-mail address and sign-in of this account are removed for good."),
        validators=[DataRequired(_l("Tick the box to confirm."))])


class ResetTwoFactorForm(BaseForm):
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(_l("Say why, for example how you checked who asked.")),
                                  Length(max=2000, message=TOO_LONG)],
        description=_l("Kept in the audit trail. The person sets two-step sign-in up again at their next sign-in."))


class AccessForm(BaseForm):
    """An administrator's change of someone's roles and whether the account may sign in."""

    roles = SelectMultipleField(_l("Roles"), widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                validate_choice=False)
    active = BooleanField(_l("The account may sign in"))

    def prepare(self) -> None:
        self.roles.choices = [(code.value, str(text)) for code, text in ROLE_LABELS.items()]
