"""The committee's decision on one application of the ranked list."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from grants.core.forms import TOO_LONG, BaseForm
from grants.decisions.models import OUTCOME_LABELS, Outcome


class DecisionForm(BaseForm):
    outcome = RadioField(_l("Decision"),
                         choices=lambda: [SelectChoice(o.value, str(OUTCOME_LABELS[o])) for o in Outcome],
                         validators=[InputRequired(_l("Choose approve, reserve or reject."))])
    amount = StringField(_l("Amount awarded (EUR)"),
                         description=_l("When approving: the requested amount, or less."),
                         validators=[Optional(), Length(max=20, message=TOO_LONG)])
    conditions = TextAreaField(_l("Conditions"), description=_l("Conditions of the award, if any."),
                               validators=[Optional(), Length(max=5000, message=TOO_LONG)])
    justification = TextAreaField(
        _l("Justification"),
        description=_l("Required when the decision departs from the ranking's recommendation; the applicant "
                       "reads it."),
        validators=[Optional(), Length(max=5000, message=TOO_LONG)])
    decided_on = DateField(_l("Decision date"), description=_l("The date the committee decided; not in the future."),
                           validators=[InputRequired(_l("Give the date of the decision."))])

    def values(self) -> dict:
        """What :func:`grants.decisions.services.decide` takes (an amount only when approving)."""
        approving = self.outcome.data == Outcome.APPROVED.value
        return {"outcome": self.outcome.data, "amount": (self.amount.data or "").strip() if approving else None,
                "conditions": self.conditions.data or "", "justification": self.justification.data or "",
                "decided_on": self.decided_on.data}
