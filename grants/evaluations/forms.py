"""The evaluator's forms: the conflict-of-interest declaration, the review, declared relations."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput, NumberInput

from grants.core.forms import TOO_LONG, BaseForm
from grants.evaluations.rubrics import Criterion


class DeclarationForm(BaseForm):
    """"No conflict" opens the application; "conflict" (with a statement) recuses the evaluator."""

    has_conflict = RadioField(
        _l("Your declaration"),
        choices=lambda: [SelectChoice("no", str(_l("I have no conflict of interest"))),
                         SelectChoice("yes", str(_l("I have a conflict of interest")))],
        validators=[InputRequired(_l("Choose one of the two declarations."))])
    statement = TextAreaField(
        _l("Describe the conflict of interest"),
        description=_l("Required when you declare a conflict: your relation with the applicant, its partners or "
                       "the project."),
        validators=[Optional(), Length(max=5000, message=TOO_LONG)])

    @property
    def conflict(self) -> bool:
        return self.has_conflict.data == "yes"


class ReviewForm(BaseForm):
    """The criteria's fields (``score_<code>``, ``comment_<code>``) are added per rubric by :func:`review_form`;
    scores stay text here, so what was typed is shown again; the service checks them against the rubric."""

    summary = TextAreaField(_l("Summary"),
                            description=_l("Your overall assessment: strengths, weaknesses, recommendations."),
                            validators=[Optional(), Length(max=10000, message=TOO_LONG)])
    #: The review version the page showed: saving over someone else's change is refused.
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])

    criteria: tuple[Criterion, ...] = ()

    def score(self, code: str):
        return self[f"score_{code}"]

    def comment(self, code: str):
        return self[f"comment_{code}"]

    def scores(self) -> dict[str, str]:
        """The scores as typed (a decimal comma read as a point), empty ones left out."""
        values = {}
        for criterion in self.criteria:
            raw = (self.score(criterion.code).data or "").strip().replace(",", ".")
            if raw:
                values[criterion.code] = raw
        return values

    def comments(self) -> dict[str, str]:
        return {c.code: self.comment(c.code).data or "" for c in self.criteria}

    def field_for(self, error_key: str):
        """The field a service error key (``scores.need``, ``comments.need``, ``summary``) belongs to."""
        kind, _, code = error_key.partition(".")
        name = {"scores": f"score_{code}", "comments": f"comment_{code}"}.get(kind, kind)
        return self._fields.get(name)


def _points(value) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


def review_form(criteria: Iterable[Criterion], **kwargs) -> ReviewForm:
    """A review form with a score and a comment field for each criterion of the rubric."""
    criteria = tuple(criteria)
    attributes: dict = {"criteria": criteria}
    for criterion in criteria:
        maximum = _points(criterion.max_points)
        attributes[f"score_{criterion.code}"] = StringField(
            _l("Points (0–%(max)s)", max=maximum),
            widget=NumberInput(step="0.01", min="0", max=maximum),
            validators=[Optional(), Length(max=20, message=TOO_LONG)])
        attributes[f"comment_{criterion.code}"] = TextAreaField(
            _l("Comment"), validators=[Optional(), Length(max=5000, message=TOO_LONG)])
    form_class = type("RubricReviewForm", (ReviewForm,), attributes)
    return form_class(**kwargs)


class RelationForm(BaseForm):
    """A relation with an organisation: found on submit by its registration number or its full name (a list
    of every organisation, tens of thousands, was too long to send)."""

    registration_number = StringField(
        _l("Organisation"),
        description=_l("The organisation's registration number in the Enterprise Register, or its full name."),
        validators=[Optional(), Length(max=300, message=TOO_LONG)])
    #: Not shown: an organisation's id, as the list on earlier versions of the page sent it.
    organisation_id = IntegerField(validators=[Optional()])
    description = TextAreaField(
        _l("Relation"),
        description=_l("For example: board member, employee, relative of a manager, a contract in the last three "
                       "years."),
        validators=[Optional(), Length(max=2000, message=TOO_LONG)])


class RemoveRelationForm(BaseForm):
    """Only the CSRF token: the relation is named by the address."""
