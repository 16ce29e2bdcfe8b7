"""API (being written)."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("api_registry", __name__, description="registry")
