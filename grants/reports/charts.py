"""Charts of a funder report, drawn as SVG on the server (no JavaScript, nothing from elsewhere).

These functions only lay the shapes out (coordinates in a fixed ``viewBox``); the templates
(grants/templates/reports/_charts.html) draw them, with a title and a description for screen
readers, and put the same numbers in a table beside each chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: The chart's width in viewBox units; the SVG scales to the width of the page.
WIDTH = 520
#: Colours of the series (the app's palette; each also differs in lightness, for print in grey).
COLOURS = {"received": "#0b5c8a", "requested": "#0b5c8a", "eligible": "#2f7fb0", "evaluated": "#8a5a00",
           "funded": "#5b2a86", "awarded": "#5b2a86", "paid": "#1e6b3a"}
_VALUE_ROOM = 110
#: The funnel sits beside its table: narrower, its labels on the left.
FUNNEL_WIDTH = 480
_LABEL_WIDTH = 140


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str


@dataclass
class Bar:
    series: str
    label: str
    value: Any
    colour: str
    x: float
    y: float
    width: float
    height: float
    #: Where the value is written: after the bar.
    text_x: float
    text_y: float


@dataclass
class Group:
    key: str
    label: str
    label_y: float
    bars: list[Bar] = field(default_factory=list)


@dataclass
class BarChart:
    """Horizontal bars, grouped by category (a label above each group, a bar per series)."""

    key: str
    title: str
    series: list[Series]
    groups: list[Group]
    height: float
    money: bool = False
    width: int = WIDTH

    @property
    def is_empty(self) -> bool:
        return not any(bar.value for group in self.groups for bar in group.bars)


@dataclass
class Step:
    key: str
    label: str
    value: int
    #: Share of the first step, in per cent (None when the first is 0).
    percent: int | None
    colour: str
    x: float
    y: float
    width: float
    height: float
    #: The band joining this step to the next one (SVG polygon points), empty for the last.
    joint: str = ""


@dataclass
class Funnel:
    key: str
    title: str
    steps: list[Step]
    height: float
    width: int = FUNNEL_WIDTH
    label_width: int = _LABEL_WIDTH

    @property
    def is_empty(self) -> bool:
        return not any(step.value for step in self.steps)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float | Decimal) else 0.0


def bar_chart(key: str, title: str, series: list[Series], categories: list[tuple[str, str, dict[str, Any]]], *,
              money: bool = False, bar_height: int = 16, gap: int = 4, group_gap: int = 14,
              label_height: int = 18) -> BarChart:
    """Lay out ``categories`` (``(key, label, {series key: value})``) as groups of bars, one bar per
    series, all on one scale (the largest value spans the width left for the bars)."""
    largest = max((_number(values.get(s.key)) for _k, _l, values in categories for s in series), default=0.0)
    span = WIDTH - _VALUE_ROOM
    groups: list[Group] = []
    y = 0.0
    for category_key, category_label, values in categories:
        y += label_height
        group = Group(category_key, category_label, y - 5)
        for item in series:
            value = values.get(item.key, 0)
            width = span * _number(value) / largest if largest else 0.0
            group.bars.append(Bar(item.key, item.label, value, item.colour, 0.0, y, round(width, 1), bar_height,
                                  round(width + 6, 1), y + bar_height - 4))
            y += bar_height + gap
        groups.append(group)
        y += group_gap - gap
    return BarChart(key, title, series, groups, round(max(y, 1.0), 1), money=money)


def funnel(key: str, title: str, steps: list[tuple[str, str, int]], *, step_height: int = 34,
           joint_height: int = 16) -> Funnel:
    """Lay out ``steps`` (``(key, label, count)``) as a funnel: centred bars as wide as their share of
    the largest, joined by bands, the label and the count on the left."""
    largest = max((value for _k, _l, value in steps), default=0)
    first = steps[0][2] if steps else 0
    area = FUNNEL_WIDTH - _LABEL_WIDTH
    centre = _LABEL_WIDTH + area / 2
    laid: list[Step] = []
    y = 0.0
    for key_, label, value in steps:
        width = max(area * value / largest, 2.0) if largest else 2.0
        laid.append(Step(key_, label, value, round(value * 100 / first) if first else None,
                         COLOURS.get(key_, "#0b5c8a"), round(centre - width / 2, 1), y, round(width, 1),
                         step_height))
        y += step_height + joint_height
    for upper, lower in zip(laid, laid[1:], strict=False):
        top, bottom = upper.y + upper.height, lower.y
        upper.joint = " ".join(f"{x:.1f},{y:.1f}" for x, y in (
            (upper.x, top), (upper.x + upper.width, top), (lower.x + lower.width, bottom), (lower.x, bottom)))
    return Funnel(key, title, laid, round(max(y - joint_height, 1.0), 1))


def report_charts(report, labels: dict[str, str]) -> dict[str, Any]:
    """The charts of a report (grants.reports.statistics.Report): the funnel, applications and money by SI
    stage, applications by region, and requested / awarded / paid. ``labels`` names the series
    (received, funded, requested, awarded, paid) and the steps, in the reader's language."""
    def series(*keys: str) -> list[Series]:
        return [Series(key, labels[key], COLOURS[key]) for key in keys]

    funnel_steps = [(key, labels[key], report.funnel[key]) for key in ("received", "eligible", "evaluated", "funded")]
    return {
        "funnel": funnel("funnel", labels["funnel_title"], funnel_steps),
        "stage_counts": bar_chart("stage-counts", labels["stage_counts_title"], series("received", "funded"),
                                  [(row["si_stage"], row["label"], row) for row in report.by_stage]),
        "stage_money": bar_chart("stage-money", labels["stage_money_title"], series("requested", "awarded", "paid"),
                                 [(row["si_stage"], row["label"], row) for row in report.by_stage], money=True),
        "region_counts": bar_chart("region-counts", labels["region_counts_title"], series("received", "funded"),
                                   [(row["region"], row["label"], row) for row in report.by_region]),
        "money": bar_chart("money", labels["money_title"], series("requested", "awarded", "paid"),
                           [("total", labels["money_group"], report.money)], money=True),
    }
