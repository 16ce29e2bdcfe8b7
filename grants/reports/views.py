"""Pages (being written)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("/")
def index():
    abort(501)
