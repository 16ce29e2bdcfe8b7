"""Horizontal bar charts drawn server-side as SVG (no JavaScript, no CDN), one or two series (this year
and the year before). Only the geometry is computed here; templates/registry/_charts.html draws it with
a caption and the same numbers in a table, so nothing depends on seeing the bars."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: The drawing's coordinate system (the SVG scales to the page's width).
WIDTH = 720
LABEL_WIDTH = 260
VALUE_WIDTH = 120
BAR_HEIGHT = 16
ROW_GAP = 10
TOP = 6


@dataclass(frozen=True)
class Bar:
    series: int
    value: Any
    x: float
    y: float
    width: float
    height: float
    text_x: float


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    values: tuple[Any, ...]
    bars: tuple[Bar, ...]
    label_y: float


@dataclass
class Chart:
    """``rows`` of ``(key, label, values)``, one value per series; ``series`` names each series."""

    id: str
    title: str
    series: Sequence[str]
    money: bool = False
    rows: list[Row] = field(default_factory=list)
    height: float = 0
    width: int = WIDTH
    label_width: int = LABEL_WIDTH

    @property
    def empty(self) -> bool:
        return not any(value for row in self.rows for value in row.values)


def bar_chart(chart_id: str, title: str, items: Sequence[tuple[str, str, Sequence[Any]]], *,
              series: Sequence[str], money: bool = False) -> Chart:
    """The chart of ``items`` (key, label, one value per series); bar lengths are shares of the largest value."""
    largest = max((float(value or 0) for _key, _label, values in items for value in values), default=0.0)
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    count = len(series)
    row_height = count * BAR_HEIGHT + ROW_GAP
    rows = []
    for index, (key, text, values) in enumerate(items):
        top = TOP + index * row_height
        bars = []
        for position, value in enumerate(values):
            length = round(float(value or 0) * area / largest, 1) if largest else 0.0
            y = top + position * BAR_HEIGHT
            bars.append(Bar(series=position, value=value if value is not None else Decimal(0), x=LABEL_WIDTH, y=y,
                            width=length, height=BAR_HEIGHT - 3, text_x=LABEL_WIDTH + length + 6))
        rows.append(Row(key=key, label=text, values=tuple(values), bars=tuple(bars),
                        label_y=top + count * BAR_HEIGHT / 2 + 1))
    return Chart(id=chart_id, title=title, series=list(series), money=money, rows=rows,
                 height=TOP * 2 + len(items) * row_height)
