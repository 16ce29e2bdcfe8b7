"""Pages (being written)."""

from __future__ import annotations

from flask import Blueprint, abort

bp = Blueprint("registry", __name__, url_prefix="/registry")


@bp.get("/")
def index():
    abort(501)
