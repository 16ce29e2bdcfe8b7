"""What the public registry reads from a query string and what its API returns (separate load and
dump schemas). The same argument schema checks the pages' query strings, so a page and the API refuse
the same values with the same messages."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from grants.core.codes import Region
from grants.core.input_guard import MAX_ID
from grants.initiatives.stages import ALL_STAGE_CODES
from grants.registry.services import FIRST_YEAR, LAST_YEAR, PER_PAGE, SORTS

#: The furthest page a list goes to (beyond, the offset would mean nothing but work for the database).
MAX_PAGE = 10_000
MAX_PER_PAGE = 100


def _money(**kwargs) -> ma.fields.Decimal:
    return ma.fields.Decimal(as_string=True, places=2,
                             metadata={"description": 'EUR as a decimal string, e.g. "12500.00"',
                                       **kwargs.pop("metadata", {})}, **kwargs)


class RegistryArgs(ma.Schema):
    """Filters, order and page of the registry (every one optional; an empty value means "any")."""

    class Meta:
        unknown = ma.EXCLUDE

    #: The API's document says so of each parameter (``allowEmptyValue``, grants.api.openapi).
    EMPTY_IS_ANY = True

    q = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200, error=_l(
        "Use at most %(max)d characters.", max=200)), metadata={
        "description": "Words in the title, the description or the organisation's name (case and Latvian "
                       "diacritics do not matter)."})
    si_stage = ma.fields.String(load_default=None, validate=ma.validate.OneOf(
        sorted(ALL_STAGE_CODES), error=_l("Choose one of the SI stages.")),
        metadata={"description": "The SI stage the initiative has reached (a stage code)."})
    theme = ma.fields.String(load_default=None, validate=ma.validate.Length(max=120, error=_l(
        "Use at most %(max)d characters.", max=120)), metadata={"description": "The theme, exactly."})
    target_group = ma.fields.String(load_default=None, validate=ma.validate.Length(max=80, error=_l(
        "Use at most %(max)d characters.", max=80)), metadata={"description": "A target group, exactly."})
    region = ma.fields.Enum(Region, by_value=True, load_default=None,
                            error_messages={"unknown": _l("Choose one of the planning regions.")},
                            metadata={"description": "The planning region (the initiative's, else its "
                                                     "organisation's)."})
    organisation_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(
        min=1, max=MAX_ID, error=_l("Not a valid id.")), error_messages={"invalid": _l("Not a valid id.")},
        metadata={"description": "The implementing organisation."})
    year = ma.fields.Integer(load_default=None, validate=ma.validate.Range(
        min=FIRST_YEAR, max=LAST_YEAR, error=_l("Give a year from %(first)d to %(last)d.", first=FIRST_YEAR,
                                                last=LAST_YEAR)),
        error_messages={"invalid": _l("Give a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)},
        metadata={"description": "Initiatives with a grant decided in this year."})
    sort = ma.fields.String(load_default="newest", validate=ma.validate.OneOf(SORTS, error=_l(
        "Sort by newest, title or amount.")), metadata={
        "description": "`newest` support first (default), `title`, or `amount` received (largest first)."})
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE, error=_l(
        "Give a page number from 1 to %(max)d.", max=MAX_PAGE)),
        error_messages={"invalid": _l("Give a page number from 1 to %(max)d.", max=MAX_PAGE)})
    per_page = ma.fields.Integer(load_default=PER_PAGE, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE, error=_l(
        "Give a number from 1 to %(max)d.", max=MAX_PER_PAGE)),
        error_messages={"invalid": _l("Give a number from 1 to %(max)d.", max=MAX_PER_PAGE)})

    @ma.pre_load
    def drop_blanks(self, data, **kwargs):
        """A form sends every field: an empty one (or one of spaces) is no filter."""
        if not hasattr(data, "keys"):
            return data
        return {key: data[key] for key in list(data) if not (isinstance(data[key], str) and not data[key].strip())}


class ExportArgs(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(
        ("csv", "json"), error=_l("Choose csv or json.")), metadata={"description": "`csv` or `json` (default)."})


# --- what the API returns ---------------------------------------------------------------------------

class StageAmountSchema(ma.Schema):
    si_stage = ma.fields.String()
    si_stage_label = ma.fields.String()
    amount = _money()


class FundAmountSchema(ma.Schema):
    fund_source = ma.fields.String(metadata={"description": "esf_plus, eea_norway, national, municipal, private"})
    fund_source_label = ma.fields.String()
    amount = _money()


class ProvenStageSchema(ma.Schema):
    si_stage = ma.fields.String()
    si_stage_label = ma.fields.String()
    proven_on = ma.fields.Date(metadata={"description": "When the programme accepted the stage's results."})


class PublicOrganisationSchema(ma.Schema):
    """The implementing organisation, a legal entity: no person, no contact."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    legal_form = ma.fields.String()
    legal_form_label = ma.fields.String()
    registration_number = ma.fields.String(metadata={"description": "Empty for informal groups."})
    region = ma.fields.String(allow_none=True)


class SupportSchema(ma.Schema):
    """One grant the initiative received."""

    programme_code = ma.fields.String()
    programme_title = ma.fields.String()
    fund_source = ma.fields.String()
    fund_source_label = ma.fields.String()
    call_code = ma.fields.String()
    year = ma.fields.Integer(metadata={"description": "The year of the committee's decision."})
    si_stages = ma.fields.List(ma.fields.String(), metadata={"description": "The SI stages it funds."})
    amount_by_stage = ma.fields.List(ma.fields.Nested(StageAmountSchema))
    amount = _money(metadata={"description": "The agreement's amount, or the decided one before an agreement."})
    currency = ma.fields.String()


class RegistryItemSchema(ma.Schema):
    """A funded initiative as the public registry shows it."""

    id = ma.fields.Integer()
    url = ma.fields.String(metadata={"description": "Its permanent page."})
    title = ma.fields.String()
    description = ma.fields.String()
    theme = ma.fields.String()
    target_groups = ma.fields.List(ma.fields.String())
    si_stage = ma.fields.String(metadata={"description": "The SI stage reached."})
    si_stage_label = ma.fields.String()
    proven_stages = ma.fields.List(ma.fields.Nested(ProvenStageSchema))
    region = ma.fields.String(allow_none=True)
    region_label = ma.fields.String()
    organisation = ma.fields.Nested(PublicOrganisationSchema)
    first_funded_year = ma.fields.Integer()
    last_funded_year = ma.fields.Integer()
    awards = ma.fields.Integer(metadata={"description": "How many grants it received."})
    currency = ma.fields.String()
    total_amount = _money()
    amount_by_stage = ma.fields.List(ma.fields.Nested(StageAmountSchema))
    amount_by_fund = ma.fields.List(ma.fields.Nested(FundAmountSchema))
    support = ma.fields.List(ma.fields.Nested(SupportSchema))


class RegistryPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RegistryItemSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()


class FigureSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": "new, advanced, scaling, initiatives, awards, amount"})
    label = ma.fields.String()
    value = ma.fields.Raw(metadata={"description": "This year's value (amounts as decimal strings)."})
    previous = ma.fields.Raw(metadata={"description": "The previous year's value."})

    @ma.post_dump(pass_original=True)
    def amounts_as_text(self, data, figure, **kwargs):
        if figure.money:
            data["value"], data["previous"] = f"{figure.value:.2f}", f"{figure.previous:.2f}"
        return data


class BreakdownSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    amount = _money()
    awards = ma.fields.Integer()
    previous_amount = _money()
    previous_awards = ma.fields.Integer()


class MovedSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": "The SI stage moved to."})
    label = ma.fields.String()
    initiatives = ma.fields.Integer(attribute="awards")
    previous_initiatives = ma.fields.Integer(attribute="previous_awards")


class ListedInitiativeSchema(ma.Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    organisation = ma.fields.String()
    si_stage = ma.fields.String()
    from_stage = ma.fields.String()
    to_stage = ma.fields.String()
    on = ma.fields.Date()


class OverviewSchema(ma.Schema):
    year = ma.fields.Integer()
    figures = ma.fields.List(ma.fields.Nested(FigureSchema), metadata={
        "description": "This year beside the previous one: initiatives funded for the first time, that advanced "
                       "an SI stage, at scaling; initiatives supported, grants and amount awarded."})
    by_stage = ma.fields.List(ma.fields.Nested(BreakdownSchema))
    by_theme = ma.fields.List(ma.fields.Nested(BreakdownSchema))
    by_region = ma.fields.List(ma.fields.Nested(BreakdownSchema))
    by_fund = ma.fields.List(ma.fields.Nested(BreakdownSchema))
    advanced_by_stage = ma.fields.List(ma.fields.Nested(MovedSchema))
    new = ma.fields.List(ma.fields.Nested(ListedInitiativeSchema))
    advanced = ma.fields.List(ma.fields.Nested(ListedInitiativeSchema))
    scaling = ma.fields.List(ma.fields.Nested(ListedInitiativeSchema))
