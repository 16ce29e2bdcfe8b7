"""Pages (being written)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.get("/")
def index():
    abort(501)
