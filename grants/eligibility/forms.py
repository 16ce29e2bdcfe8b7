"""An officer's decision on one eligibility rule: confirm it, fail it, or override a failure."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from grants.core.forms import TOO_LONG, BaseForm


class DecisionForm(BaseForm):
    """One per rule on the page, told apart by the prefix ``rule-<code>-``."""

    outcome = RadioField(_l("Decision"), choices=lambda: [SelectChoice("pass", str(_l("The rule is met"))),
                                                          SelectChoice("fail", str(_l("The rule is not met")))],
                         validators=[InputRequired(_l("Choose pass or fail."))])
    justification = TextAreaField(
        _l("Justification"),
        description=_l("Needed (at least 20 characters) to override a failed rule or to decide that a rule is "
                       "not met; the applicant reads it when the rule is not met."),
        validators=[Optional(), Length(max=5000, message=TOO_LONG)])
    #: The version of the application the page showed.
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


def decision_form(code: str, **kwargs) -> DecisionForm:
    return DecisionForm(prefix=f"rule-{code}", **kwargs)
