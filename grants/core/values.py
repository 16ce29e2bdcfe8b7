"""Reading values people type or clients send — a date, an amount of money — leniently: ``None``
for anything that is not one, so the caller can say which field is wrong; and calendar months."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from grants.core.db import to_money


def as_date(value: Any) -> date | None:
    """A date, or an ISO ``YYYY-MM-DD`` string; None otherwise."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def as_money(value: Any) -> Decimal | None:
    """EUR with at most two decimals (grants.core.db.to_money); None for anything else."""
    try:
        return to_money(value)
    except ValueError:
        return None


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover
