"""Before/after of an object's fields, for the payload of an audit event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def snapshot(obj, fields: Iterable[str]) -> dict[str, Any]:
    return {field: getattr(obj, field) for field in fields}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for every field whose value differs."""
    return {field: [before.get(field), value] for field, value in after.items() if before.get(field) != value}
