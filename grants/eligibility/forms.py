"""An officer's decision on one eligibility rule: confirm it, fail it, or override a failure."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
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


# --- the eligibility ruleset editor of a call (grants.eligibility.rules_views) ----------------------------------------

class _RulesEditorForm(BaseForm):
    """Every change of the rules carries the hash of the rules it started from (stale edits: 409)."""

    rules_hash = StringField(widget=HiddenInput())


class RuleForm(_RulesEditorForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter a code."))],
                       description=_l("Lower-case letters, digits and underscores, unique among the rules."))
    title_lv = StringField(_l("Title in Latvian"), validators=[DataRequired(_l("Enter the title in Latvian."))])
    title_en = StringField(_l("Title in English"), validators=[DataRequired(_l("Enter the title in English."))])
    message_lv = TextAreaField(_l("Message in Latvian"),
                               validators=[DataRequired(_l("Enter the message in Latvian."))],
                               description=_l("What the applicant reads when the rule does not pass. A built-in "
                                              "check's message may name its inputs in braces, e.g. {requested}."))
    message_en = TextAreaField(_l("Message in English"),
                               validators=[DataRequired(_l("Enter the message in English."))])
    severity = SelectField(_l("Severity"), choices=lambda: [
        SelectChoice("blocking", str(_l("Blocking: cannot submit; ineligible unless overridden"))),
        SelectChoice("manual", str(_l("Manual: an officer confirms when it does not pass"))),
        SelectChoice("warning", str(_l("Warning: shown, never stops anything")))])
    kind = SelectField(_l("Kind"), choices=lambda: [SelectChoice("check", str(_l("Built-in check"))),
                                                    SelectChoice("expression", str(_l("Expression")))])
    check = SelectField(_l("Built-in check"), validators=[Optional()])
    params = TextAreaField(_l("Parameters (JSON)"), validators=[Optional()],
                           description=_l("The check's parameters as a JSON object; empty for its defaults."))
    expression = TextAreaField(_l("Expression"), validators=[Optional()],
                               description=_l("For an expression rule, e.g. application.requested_amount <= "
                                              "stage.max_grant. The fields are listed below."))


class RulesActionForm(_RulesEditorForm):
    """Move or remove a rule, or add a preset: ``action`` names what, ``target`` the rule's code."""

    action = StringField(widget=HiddenInput())
    target = StringField(widget=HiddenInput())


class RulesJSONForm(_RulesEditorForm):
    """The whole ruleset as JSON: saved (``/rules/json``) or tried on an application (``/rules/preview``)."""

    definition = TextAreaField(_l("Eligibility rules (JSON)"), validators=[Optional()],
                               description=_l("All the rules: a list of rule objects. They are checked the same "
                                              "way as every other change."))
    application_id = SelectField(_l("Application to try the rules on"), validators=[Optional()],
                                 validate_choice=False)
    source = StringField(widget=HiddenInput())
