"""Built-in eligibility checks: named, with typed parameters, explaining what they looked at.

A check takes the application's :class:`~grants.eligibility.facts.Facts` and its parameters
and returns an :class:`Outcome` with the inputs it saw. Those inputs are stored with the result
and may be named in the rule's messages (``{requested}``); ``provides`` lists them.
Parameters are loaded by a marshmallow schema when the ruleset is saved, so a bad parameter
is refused then, never at run time.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from grants.core.codes import LegalForm, Region
from grants.eligibility.facts import Facts
from grants.eligibility.models import Outcome
from grants.initiatives.stages import STAGE_MODELS


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Check:
    name: str
    title: Any
    description: Any
    schema: type[ma.Schema]
    provides: tuple[str, ...]
    run: Callable[[Facts, dict[str, Any]], Result]

    def load_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.schema().load(params or {})


CHECKS: dict[str, Check] = {}


def check(name: str, title, description, schema: type[ma.Schema], provides: tuple[str, ...]):
    def register(fn):
        CHECKS[name] = Check(name, title, description, schema, provides, fn)
        return fn
    return register


class _Params(ma.Schema):
    class Meta:
        unknown = ma.RAISE


def _money(value: Any) -> str:
    return f"{Decimal(value):.2f}"


def _passes(condition: bool) -> Outcome:
    return Outcome.PASS if condition else Outcome.FAIL


# --- Who applies --------------------------------------------------------------------------------

class LegalFormParams(_Params):
    allowed = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf([f.value for f in LegalForm])),
                             required=True, validate=ma.validate.Length(min=1))


@check("legal_form", _l("Eligible legal forms"), _l("The organisation's legal form is one of those listed."),
       LegalFormParams, ("legal_form", "allowed"))
def legal_form(facts: Facts, params: dict[str, Any]) -> Result:
    form = getattr(facts.application.organisation.legal_form, "value", facts.application.organisation.legal_form)
    return Result(_passes(form in params["allowed"]), {"legal_form": form, "allowed": ", ".join(params["allowed"])})


class CountryParams(_Params):
    countries = ma.fields.List(ma.fields.String(validate=ma.validate.Regexp(r"^[A-Z]{2}$")),
                               load_default=lambda: ["LV"], validate=ma.validate.Length(min=1))


@check("country", _l("Registered in the programme's country"),
       _l("The organisation is registered in one of the countries listed."), CountryParams, ("country", "countries"))
def country(facts: Facts, params: dict[str, Any]) -> Result:
    registered = (facts.application.organisation.country or "").upper()
    return Result(_passes(registered in params["countries"]),
                  {"country": registered, "countries": ", ".join(params["countries"])})


class RegionParams(_Params):
    regions = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf([r.value for r in Region])),
                             required=True, validate=ma.validate.Length(min=1))
    #: Whose region counts: the organisation's seat or where the initiative works.
    of = ma.fields.String(load_default="initiative", validate=ma.validate.OneOf(["initiative", "organisation"]))


@check("region", _l("Region"), _l("The initiative (or the organisation) works in one of the regions listed."),
       RegionParams, ("region", "regions"))
def region(facts: Facts, params: dict[str, Any]) -> Result:
    holder = facts.application.initiative if params["of"] == "initiative" else facts.application.organisation
    value = getattr(holder.region, "value", holder.region) or ""
    return Result(_passes(value in params["regions"]),
                  {"region": value or "—", "regions": ", ".join(params["regions"])})


# --- What is asked for --------------------------------------------------------------------------

@check("amount_within_stage_limits", _l("Amount within the stage's limits"),
       _l("The requested amount is between the smallest and the largest grant of the SI stage applied for."),
       _Params, ("requested", "min_grant", "max_grant"))
def amount_within_stage_limits(facts: Facts, params: dict[str, Any]) -> Result:
    requested = Decimal(facts.application.requested_amount)
    if facts.stage is None:
        return Result(Outcome.FAIL, {"requested": _money(requested), "min_grant": "—", "max_grant": "—"})
    low, high = Decimal(facts.stage.min_grant), Decimal(facts.stage.max_grant)
    return Result(_passes(low <= requested <= high),
                  {"requested": _money(requested), "min_grant": _money(low), "max_grant": _money(high)})


class ShareParams(_Params):
    min_share = ma.fields.Decimal(required=True, places=4, validate=ma.validate.Range(min=0, max=1))
    max_share = ma.fields.Decimal(load_default=None, allow_none=True, places=4,
                                  validate=ma.validate.Range(min=0, max=1))

    @ma.validates_schema
    def _order(self, data, **kwargs):
        if data.get("max_share") is not None and data["max_share"] < data["min_share"]:
            raise ma.ValidationError(str(_l("The largest share cannot be below the smallest.")), "max_share")

    @ma.post_load
    def _plain(self, data, **kwargs):  # stored as JSON: strings, not Decimals
        return {key: (str(value) if value is not None else None) for key, value in data.items()}


@check("co_financing_share", _l("Co-financing share"),
       _l("Co-financing in the budget table is at least the share given (0.10 is 10 %) of the budget total."),
       ShareParams, ("share", "min_share", "co_financing", "budget_total"))
def co_financing_share(facts: Facts, params: dict[str, Any]) -> Result:
    budget = facts.budget
    low = Decimal(params["min_share"])
    high = Decimal(params["max_share"]) if params.get("max_share") is not None else None
    share = budget["co_financing_share"]
    inputs = {"share": f"{share * 100:.2f} %" if share is not None else "—", "min_share": f"{low * 100:.2f} %",
              "co_financing": _money(budget["co_financing"] or 0), "budget_total": _money(budget["total"] or 0)}
    if share is None:
        return Result(Outcome.FAIL, inputs)
    total, co = budget["total"], budget["co_financing"]  # compared exactly: the shown share is rounded
    return Result(_passes(co >= low * total and (high is None or co <= high * total)), inputs)


class DurationParams(_Params):
    min_months = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=120))
    max_months = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=120))

    @ma.validates_schema
    def _order(self, data, **kwargs):
        if data.get("min_months", 1) > data.get("max_months", 120):
            raise ma.ValidationError(str(_l("The longest duration cannot be below the shortest.")), "max_months")


@check("duration", _l("Duration"), _l("The project lasts between the shortest and the longest duration given."),
       DurationParams, ("duration_months", "min_months", "max_months"))
def duration(facts: Facts, params: dict[str, Any]) -> Result:
    months = facts.application.duration_months
    return Result(_passes(params["min_months"] <= months <= params["max_months"]),
                  {"duration_months": months, "min_months": params["min_months"], "max_months": params["max_months"]})


@check("stage_allowed", _l("SI stage funded by the call"), _l("The call funds the SI stage applied for."),
       _Params, ("si_stage", "stages"))
def stage_allowed(facts: Facts, params: dict[str, Any]) -> Result:
    stages = facts.call.stage_codes
    return Result(_passes(facts.application.si_stage in stages),
                  {"si_stage": facts.application.si_stage, "stages": ", ".join(stages)})


@check("previous_stage_completed", _l("Previous SI stage completed"),
       _l("For stage-gated entry: the initiative's results of the SI stage before the one applied for were "
          "accepted, or the initiative has already advanced to the stage applied for."),
       _Params, ("si_stage", "previous_stage", "current_stage"))
def previous_stage_completed(facts: Facts, params: dict[str, Any]) -> Result:
    previous = facts.previous_stage()
    initiative = facts.application.initiative
    inputs = {"si_stage": facts.application.si_stage, "previous_stage": previous or "—",
              "current_stage": initiative.current_stage}
    if previous is None:
        return Result(Outcome.PASS, inputs)
    model = STAGE_MODELS[initiative.stage_model]
    advanced = (initiative.current_stage in model.codes
                and model.position(initiative.current_stage) >= model.position(facts.application.si_stage))
    return Result(_passes(previous in facts.proven_stages or advanced), inputs)


# --- The organisation's record --------------------------------------------------------------------

class OverdueParams(_Params):
    grace_days = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=365))
    #: Confirmed irregularities not yet recovered or written off fail the check too.
    irregularities = ma.fields.Boolean(load_default=True)


@check("no_overdue_reports", _l("No overdue reports or open irregularities"),
       _l("None of the organisation's grants has a report its agreement requires past its due date and not "
          "submitted (for older grants without an agreement: past the planned end, start of implementation plus "
          "the duration, without the final report), nor a confirmed irregularity not yet recovered or written off."),
       OverdueParams, ("overdue", "irregularities"))
def no_overdue_reports(facts: Facts, params: dict[str, Any]) -> Result:
    grace = timedelta(days=params["grace_days"])
    overdue = [f"{code} (#{app_id}, {end.isoformat()})" for app_id, code, end in facts.running_grants
               if end is not None and end + grace < facts.today]
    overdue += [f"{code} (#{app_id}, {due.isoformat()})" for app_id, code, due in facts.overdue_reports
                if due + grace < facts.today]
    irregular = ([f"{code} (#{app_id}, {_money(amount)} EUR)" for app_id, code, amount in facts.irregularities]
                 if params.get("irregularities", True) else [])
    return Result(_passes(not overdue and not irregular),
                  {"overdue": ", ".join(overdue) or "—", "irregularities": ", ".join(irregular) or "—"})


class DeMinimisParams(_Params):
    ceiling = ma.fields.Decimal(load_default=Decimal("300000.00"), places=2, validate=ma.validate.Range(min=0))
    years = ma.fields.Integer(load_default=3, validate=ma.validate.Range(min=1, max=10))

    @ma.post_load
    def _plain(self, data, **kwargs):
        return {"ceiling": f"{Decimal(data['ceiling']):.2f}", "years": data["years"]}


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@check("de_minimis", _l("De minimis headroom"),
       _l("Aid to the same undertaking (by registration number) granted within the rolling period before today, "
          "plus this request, stays within the ceiling (Regulation (EU) 2023/2831)."),
       DeMinimisParams, ("received", "requested", "total", "ceiling", "since"))
def de_minimis(facts: Facts, params: dict[str, Any]) -> Result:
    since = _years_before(facts.today, params["years"])
    received = sum((amount for granted_on, amount in facts.aid if since <= granted_on <= facts.today), Decimal(0))
    requested = Decimal(facts.application.requested_amount)
    ceiling = Decimal(params["ceiling"])
    return Result(_passes(received + requested <= ceiling),
                  {"received": _money(received), "requested": _money(requested), "total": _money(received + requested),
                   "ceiling": _money(ceiling), "since": since.isoformat()})


class DoubleFundingParams(_Params):
    threshold = ma.fields.Float(load_default=0.85, validate=ma.validate.Range(min=0.5, max=1.0))
    #: Compare with applications in other calls (``call``) or only in other programmes (``programme``).
    scope = ma.fields.String(load_default="call", validate=ma.validate.OneOf(["call", "programme"]))


def similarity(a: str, b: str) -> float:
    a, b = " ".join(a.lower().split()), " ".join(b.lower().split())
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@check("double_funding", _l("Double-funding flag"),
       _l("The same organisation has an application in another call (or programme) with a near-identical title "
          "or summary: an officer must look (use the severity manual)."),
       DoubleFundingParams, ("match", "similarity"))
def double_funding(facts: Facts, params: dict[str, Any]) -> Result:
    application = facts.application
    best: tuple[float, Any] = (0.0, None)
    for other in facts.others:
        if params["scope"] == "call" and other.call_id == application.call_id:
            continue
        if params["scope"] == "programme" and other.programme_id == application.call.programme_id:
            continue
        score = max(similarity(application.title, other.title),
                    similarity(application.summary or "", other.summary) if application.summary else 0.0)
        if score > best[0]:
            best = (score, other)
    score, other = best
    if other is None or score < params["threshold"]:
        return Result(Outcome.PASS, {"match": "—", "similarity": f"{score:.2f}"})
    return Result(Outcome.MANUAL, {"match": f"#{other.id} {other.call_code}: {other.title}",
                                   "match_id": other.id, "similarity": f"{score:.2f}"})


class MicroProjectParams(_Params):
    questions = ma.fields.List(ma.fields.String(), load_default=lambda: [
        "mp_initiated_by_users", "mp_specific_needs", "mp_new_service"], validate=ma.validate.Length(min=1))


@check("micro_project", _l("Micro-project criteria"),
       _l("Each of the micro-project declarations is answered yes and explained (the preset of the empowerment "
          "handbook)."),
       MicroProjectParams, ("missing",))
def micro_project(facts: Facts, params: dict[str, Any]) -> Result:
    answers = facts.application.answers or {}
    missing = [code for code in params["questions"]
               if answers.get(code) is not True or not str(answers.get(f"{code}_explanation") or "").strip()]
    return Result(_passes(not missing), {"missing": ", ".join(missing) or "—"})


# --- What the editor and the API show of the checks ----------------------------------------

#: Starting values of the built-in checks' required parameters, for the editor to prefill.
_PARAM_EXAMPLES: dict[str, Any] = {"countries": ["LV"], "min_share": "0.10", "max_months": 24}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def check_defaults(name: str) -> dict[str, Any]:
    """Parameters to start a rule of the built-in check ``name`` from (its defaults, and examples of
    the required ones), JSON-ready."""
    check = CHECKS[name]
    examples = {**_PARAM_EXAMPLES, "allowed": [f.value for f in LegalForm], "regions": [r.value for r in Region]}
    start = {key: examples.get(key, [] if isinstance(f, ma.fields.List) else "")
             for key, f in check.schema().fields.items() if f.required}
    try:
        return {key: _plain(value) for key, value in check.load_params(start).items()}
    except ma.ValidationError:
        return start


def check_catalogue() -> list[dict[str, Any]]:
    """The built-in checks for the editor and the API: title and description in the current language,
    parameters (type, required, default), defaults to start from and the inputs a message may name."""
    catalogue = []
    for name, check in CHECKS.items():
        parameters = []
        for key, f in check.schema().fields.items():
            default = f.load_default
            default = None if default is ma.missing else (default() if callable(default) else default)
            parameters.append({"name": key, "type": type(f).__name__, "required": f.required,
                               "default": _plain(default)})
        catalogue.append({"name": name, "title": str(check.title), "description": str(check.description),
                          "parameters": parameters, "defaults": check_defaults(name),
                          "provides": list(check.provides)})
    return catalogue
