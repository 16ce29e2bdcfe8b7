"""The public SI registry and the annual SI ecosystem overview (API.md, "Reporting, exports and the
registry"): no sign-in, no personal data. The same services as the pages (grants.registry)."""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint

from grants.core.errors import NotFound
from grants.registry import downloads
from grants.registry.schemas import (
    ExportArgs,
    OverviewSchema,
    RegistryArgs,
    RegistryItemSchema,
    RegistryPageSchema,
)
from grants.registry.services import FIRST_YEAR, LAST_YEAR, Filters, overview, registry_item, registry_page

blp = Blueprint("api_registry", __name__, description="The public SI registry: funded initiatives, open data and "
                                                      "the annual SI ecosystem overview (no sign-in, no personal data)")


def _permalink(initiative_id: int) -> str:
    return url_for("registry.initiative", initiative_id=initiative_id, _external=True)


def _with_url(item: dict) -> dict:
    return {**item, "url": _permalink(item["id"])}


@blp.route("/registry/initiatives", methods=["GET"])
@blp.arguments(RegistryArgs, location="query")
@blp.response(200, RegistryPageSchema)
@blp.alt_response(422, description="A query value is wrong (named in `fields`).")
def list_initiatives(args):
    """The funded initiatives: search (`q`), filters, order and page as on the registry's page. Labels are in
    the language of `Accept-Language` (Latvian by default)."""
    page = registry_page(Filters.of(args), args["page"], args["per_page"])
    return {"items": [_with_url(item) for item in page.items], "total": page.total, "page": page.page}


@blp.route("/registry/initiatives/<int:initiative_id>", methods=["GET"])
@blp.response(200, RegistryItemSchema)
@blp.alt_response(404, description="No such funded initiative.")
def read_initiative(initiative_id: int):
    """One funded initiative: its SI stage and proven stages, organisation, and every grant it received."""
    item = registry_item(initiative_id)
    if item is None:
        raise NotFound()
    return _with_url(item)


@blp.route("/registry/export", methods=["GET"])
@blp.arguments(ExportArgs, location="query")
@blp.doc(responses={"200": {
    "description": "The whole registry as a download: CSV (one row per initiative, the data dictionary's field "
                   "names in the header) or JSON (`{licence, licence_url, generated_at, currency, fields, "
                   "initiatives}`), streamed.",
    "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}})
@blp.alt_response(422, description="`format` is neither `csv` nor `json`.")
def export(args):
    """The open data download of the whole registry."""
    if args["format"] == "csv":
        return downloads.csv_response(_permalink)
    return downloads.json_response(_permalink)


@blp.route("/registry/overview/<int:year>", methods=["GET"])
@blp.response(200, OverviewSchema)
@blp.alt_response(404, description="A year before 2000 or after 2100.")
def read_overview(year: int):
    """The annual SI ecosystem overview of `year` beside the year before: initiatives funded for the first time,
    that advanced an SI stage, at scaling; support awarded by SI stage, theme, planning region and fund."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise NotFound()
    return overview(year)
