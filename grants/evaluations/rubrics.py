"""Scoring rubrics: what evaluators score, and the rules that turn scores into a result.

A call's rubric is plain JSON data, frozen with the call version like its form and rules::

    {"criteria": [{"code", "title_lv", "title_en", "guidance_lv", "guidance_en",
                   "max_points", "weight", "min_points"}],
     "threshold": 60,                       # pass mark for the weighted total
     "stages": {"scaling": {"criteria": [...], "threshold": 70}},   # optional, per SI stage
     "evaluators_required": 2,              # independent reviews per application
     "discrepancy_percent": 30,             # third evaluator when totals differ by more than this
                                            # share of the higher total
     "review_days": 14,                     # due date of an assignment, from when it is made
     "tie_break": "earlier_submission"}     # or "lower_amount"

An application is scored with the criteria of its SI stage when the rubric has them, else
with the call's. A criterion's weighted score is ``points × weight``; the total is their sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.calls.parts import register_part
from grants.core.errors import UserInputError
from grants.core.i18n import current_language

TWO_PLACES = Decimal("0.01")
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
DEFAULT_EVALUATORS = 2
DEFAULT_DISCREPANCY = Decimal(30)
DEFAULT_REVIEW_DAYS = 14
TIE_BREAKS = {
    "earlier_submission": _l("equal scores: the application submitted first ranks higher"),
    "lower_amount": _l("equal scores: the smaller requested amount ranks higher, then the earlier submission"),
}
DEFAULT_TIE_BREAK = "earlier_submission"


class RubricError(UserInputError):
    """A rubric that cannot be used; ``fields`` names each problem (``criteria.2.max_points``)."""


def decimal(value: Any) -> Decimal | None:
    """A finite number as a Decimal (``1``, ``2.5``, ``"7.25"``), else None; booleans are not numbers."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def two_places(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Criterion:
    code: str
    title_lv: str
    title_en: str
    guidance_lv: str
    guidance_en: str
    max_points: Decimal
    weight: Decimal
    min_points: Decimal | None

    @property
    def title(self) -> str:
        return (self.title_en if current_language() == "en" else self.title_lv) or self.title_lv or self.title_en

    @property
    def guidance(self) -> str:
        return self.guidance_en if current_language() == "en" else self.guidance_lv

    @property
    def max_weighted(self) -> Decimal:
        return self.max_points * self.weight


@dataclass(frozen=True)
class Rubric:
    """The criteria and pass mark that apply to one application, with the call's evaluation settings."""

    criteria: tuple[Criterion, ...]
    threshold: Decimal
    evaluators_required: int
    discrepancy_percent: Decimal
    review_days: int
    tie_break: str

    @property
    def max_total(self) -> Decimal:
        return sum((c.max_weighted for c in self.criteria), Decimal(0))

    def criterion(self, code: str) -> Criterion | None:
        return next((c for c in self.criteria if c.code == code), None)

    def total(self, scores: dict[str, Any]) -> Decimal:
        """The weighted total of ``scores`` (criteria without a score count 0)."""
        return two_places(sum((decimal(scores.get(c.code)) or Decimal(0)) * c.weight for c in self.criteria))


def _criteria(raw: Any, path: str, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors[path] = [_("Add at least one criterion.")]
        return []
    import re

    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"{path}.{index}"
        if not isinstance(item, dict):
            errors[where] = [_("A criterion is an object with a code, titles and points.")]
            continue
        code = str(item.get("code") or "").strip()
        if not re.match(CODE_PATTERN, code):
            errors[f"{where}.code"] = [_("Use a short code of lowercase letters, digits and _, starting with a "
                                         "letter.")]
        elif code in seen:
            errors[f"{where}.code"] = [_("Each criterion needs its own code.")]
        seen.add(code)
        title_lv = str(item.get("title_lv") or "").strip()
        title_en = str(item.get("title_en") or "").strip()
        if not title_lv:
            errors[f"{where}.title_lv"] = [_("Give the title in Latvian.")]
        if not title_en:
            errors[f"{where}.title_en"] = [_("Give the title in English.")]
        max_points = decimal(item.get("max_points"))
        if max_points is None or max_points <= 0 or max_points > 1000 or max_points != two_places(max_points):
            errors[f"{where}.max_points"] = [_("Maximum points: a positive number up to 1000, at most two decimals.")]
        weight = decimal(item.get("weight", 1))
        if weight is None or weight <= 0 or weight > 100 or weight != two_places(weight):
            errors[f"{where}.weight"] = [_("Weight: a positive number up to 100, at most two decimals.")]
        min_points = item.get("min_points")
        minimum = None
        if min_points not in (None, ""):
            minimum = decimal(min_points)
            if minimum is None or minimum < 0 or (max_points is not None and minimum > max_points):
                errors[f"{where}.min_points"] = [_("Minimum points: between 0 and the maximum.")]
        clean.append({"code": code, "title_lv": title_lv[:300], "title_en": title_en[:300],
                      "guidance_lv": str(item.get("guidance_lv") or "").strip()[:3000],
                      "guidance_en": str(item.get("guidance_en") or "").strip()[:3000],
                      "max_points": plain_number(max_points), "weight": plain_number(weight),
                      "min_points": plain_number(minimum)})
    return clean


def plain_number(value: Decimal | None) -> int | float | None:
    """JSON keeps numbers: whole ones as integers, others as floats of at most two decimals."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _threshold(raw: Any, criteria: list[dict[str, Any]], path: str, errors: dict[str, list[str]]):
    threshold = decimal(raw if raw is not None else 0)
    maximum = sum((decimal(c["max_points"]) or 0) * (decimal(c["weight"]) or 0) for c in criteria)
    if threshold is None or threshold < 0 or (criteria and threshold > maximum):
        errors[path] = [_("The pass threshold is a number between 0 and the highest possible total (%(max)s).",
                          max=maximum)]
    return plain_number(threshold) if threshold is not None else None


def validate_rubric(data: Any, stage_codes: list[str] | None = None) -> dict[str, Any]:
    """The rubric, checked and normalised; :class:`RubricError` names every problem by field."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise RubricError(_("The rubric is an object with criteria and a threshold."),
                          fields={"rubric": [_("The rubric is an object with criteria and a threshold.")]})
    criteria = _criteria(data.get("criteria"), "criteria", errors)
    clean: dict[str, Any] = {"criteria": criteria,
                             "threshold": _threshold(data.get("threshold"), criteria, "threshold", errors)}
    stages = data.get("stages") or {}
    if not isinstance(stages, dict):
        errors["stages"] = [_("Stage rubrics are listed by SI stage code.")]
        stages = {}
    clean_stages: dict[str, Any] = {}
    for code, stage in stages.items():
        if stage_codes is not None and code not in stage_codes:
            errors[f"stages.{code}"] = [_("The call does not fund this SI stage.")]
            continue
        if not isinstance(stage, dict):
            errors[f"stages.{code}"] = [_("The rubric is an object with criteria and a threshold.")]
            continue
        stage_criteria = _criteria(stage.get("criteria"), f"stages.{code}.criteria", errors)
        clean_stages[code] = {"criteria": stage_criteria,
                              "threshold": _threshold(stage.get("threshold"), stage_criteria,
                                                      f"stages.{code}.threshold", errors)}
    if clean_stages:
        clean["stages"] = clean_stages
    required = data.get("evaluators_required", DEFAULT_EVALUATORS)
    if isinstance(required, bool) or not isinstance(required, int) or not 1 <= required <= 5:
        errors["evaluators_required"] = [_("Evaluators per application: a whole number from 1 to 5.")]
    percent = decimal(data.get("discrepancy_percent", DEFAULT_DISCREPANCY))
    if percent is None or not 0 < percent <= 100:
        errors["discrepancy_percent"] = [_("Discrepancy: a percentage above 0 and up to 100.")]
    days = data.get("review_days", DEFAULT_REVIEW_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 120:
        errors["review_days"] = [_("Days to review: a whole number from 1 to 120.")]
    tie_break = data.get("tie_break", DEFAULT_TIE_BREAK)
    if tie_break not in TIE_BREAKS:
        errors["tie_break"] = [_("Choose one of the tie-break rules.")]
    if errors:
        raise RubricError(fields=errors)
    clean.update(evaluators_required=required, discrepancy_percent=plain_number(percent), review_days=days,
                 tie_break=tie_break)
    return clean


def _build(criteria: list[dict[str, Any]]) -> tuple[Criterion, ...]:
    return tuple(Criterion(code=c["code"], title_lv=c.get("title_lv", ""), title_en=c.get("title_en", ""),
                           guidance_lv=c.get("guidance_lv", ""), guidance_en=c.get("guidance_en", ""),
                           max_points=decimal(c["max_points"]), weight=decimal(c.get("weight", 1)),
                           min_points=decimal(c.get("min_points")))
                 for c in criteria)


def rubric_of(data: dict[str, Any] | None, si_stage: str | None = None) -> Rubric:
    """The rubric that applies to an application at ``si_stage`` (the call's when no stage rubric)."""
    data = data or {}
    part = (data.get("stages") or {}).get(si_stage) or data
    return Rubric(criteria=_build(part.get("criteria") or []), threshold=decimal(part.get("threshold")) or Decimal(0),
                  evaluators_required=int(data.get("evaluators_required", DEFAULT_EVALUATORS)),
                  discrepancy_percent=decimal(data.get("discrepancy_percent", DEFAULT_DISCREPANCY)),
                  review_days=int(data.get("review_days", DEFAULT_REVIEW_DAYS)),
                  tie_break=data.get("tie_break", DEFAULT_TIE_BREAK))


def rubric_for(application, gate_stage: str = "") -> Rubric:
    """The rubric of an evaluation round: the selection scores the application with its own
    stage's criteria; a stage gate scores the stage's results with the criteria of the stage the
    gate opens (``gate_stage``)."""
    return rubric_of(application.call.rubric, gate_stage or application.si_stage)


def has_criteria(data: dict[str, Any] | None) -> bool:
    return bool((data or {}).get("criteria"))


def default_rubric() -> dict[str, Any]:
    """The rubric the demo and new calls start from: five criteria of SI calls, 100 points, pass at 60."""
    return validate_rubric({
        "criteria": [
            {"code": "need", "max_points": 25, "weight": 1, "min_points": 10,
             "title_lv": "Problēmas un mērķgrupas vajadzību pamatojums",
             "title_en": "The problem and the target group's needs",
             "guidance_lv": "Vai problēma ir skaidri aprakstīta ar datiem? Vai mērķgrupa piedalījās tās "
                            "noteikšanā?",
             "guidance_en": "Is the problem described clearly, with evidence? Did the target group take part "
                            "in identifying it?"},
            {"code": "novelty", "max_points": 20, "weight": 1, "min_points": 8,
             "title_lv": "Risinājuma novitāte (sociālā inovācija)",
             "title_en": "Novelty of the solution (social innovation)",
             "guidance_lv": "Vai tas ir pakalpojums, kas iepriekš nebija pieejams, vai jauna pieeja?",
             "guidance_en": "Is it a service not available before, or a newly developed approach?"},
            {"code": "change", "max_points": 20, "weight": 1,
             "title_lv": "Pārmaiņu teorija un sagaidāmie rezultāti",
             "title_en": "Theory of change and expected results",
             "guidance_lv": "Vai rezultāti ir izmērāmi un loģiski izriet no aktivitātēm?",
             "guidance_en": "Are the results measurable and do they follow from the activities?"},
            {"code": "capacity", "max_points": 15, "weight": 1,
             "title_lv": "Īstenotāja kapacitāte un partnerības",
             "title_en": "The implementer's capacity and partnerships",
             "guidance_lv": "Vai komandai un partneriem ir pieredze un resursi?",
             "guidance_en": "Do the team and partners have the experience and resources?"},
            {"code": "budget", "max_points": 20, "weight": 1,
             "title_lv": "Budžeta pamatotība un ilgtspēja",
             "title_en": "Budget and sustainability",
             "guidance_lv": "Vai izmaksas ir pamatotas un vai ir plāns pēc finansējuma beigām?",
             "guidance_en": "Are the costs justified, and is there a plan for after the grant?"},
        ],
        "threshold": 60, "evaluators_required": DEFAULT_EVALUATORS, "discrepancy_percent": 30,
        "review_days": DEFAULT_REVIEW_DAYS, "tie_break": DEFAULT_TIE_BREAK,
    })


# --- for the API ----------------------------------------------------------------------------------

def rubric_for_api(rubric: dict | None, si_stage: str | None = None) -> list[dict]:
    """The criteria that apply at ``si_stage`` (the call's own without one), titles in the request's language."""
    return [{"code": c.code, "title": c.title, "guidance": c.guidance, "max_points": plain_number(c.max_points),
             "weight": plain_number(c.weight), "min_points": plain_number(c.min_points)}
            for c in rubric_of(rubric, si_stage).criteria]


def evaluation_for_api(rubric: dict | None) -> dict:
    settings = rubric_of(rubric)
    return {"threshold": float(settings.threshold), "evaluators_required": settings.evaluators_required,
            "discrepancy_percent": float(settings.discrepancy_percent), "review_days": settings.review_days,
            "tie_break": settings.tie_break,
            "stages": {code: {"threshold": float(rubric_of(rubric, code).threshold),
                              "criteria": rubric_for_api(rubric, code)}
                       for code in ((rubric or {}).get("stages") or {})}}


# A new call starts from the standard rubric; the call carries it (grants.calls.parts).
register_part("rubric", default=default_rubric)
