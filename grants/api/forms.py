"""Application forms: the built-in section templates integrators can build a call's form from."""

from __future__ import annotations

from flask_smorest import Blueprint

from grants.forms.schemas import SectionTemplateSchema
from grants.forms.templates import SECTION_TEMPLATES

blp = Blueprint("api_forms", __name__, description="Application form building blocks")


@blp.route("/forms/templates", methods=["GET"])
@blp.response(200, SectionTemplateSchema(many=True))
def section_templates():
    """The built-in sections (problem and target group, Theory of Change, Business Model Canvas,
    budget with co-financing, micro-project questions): code, translated title and definition."""
    return list(SECTION_TEMPLATES.values())
