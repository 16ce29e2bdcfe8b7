"""The public SI registry and the annual SI ecosystem overview (DESIGN §9; seed 003): pages anyone may
read, in Latvian and English, without signing in.

- ``/registry/``: the funded initiatives, searched, filtered, sorted and paged by the query string;
- ``/registry/initiatives/<id>``: one funded initiative's permanent page (404 for any other);
- ``/registry/data``: the open data: downloads, licence, data dictionary;
- ``/registry/export.csv`` and ``.json``: the whole registry, streamed;
- ``/registry/overview/<year>``: the annual overview, with charts; ``/registry/overview/`` is this year.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from grants.core.db import today
from grants.core.validation_messages import translate_validation_message
from grants.registry import downloads
from grants.registry.charts import bar_chart
from grants.registry.schemas import RegistryArgs
from grants.registry.services import (
    FIRST_YEAR,
    LAST_YEAR,
    PER_PAGE,
    SORTS,
    Filters,
    data_fields,
    facets,
    overview,
    registry_item,
    registry_page,
)

bp = Blueprint("registry", __name__, url_prefix="/registry")

#: The query string keys a registry link carries (the filters, the order, the page and the language).
QUERY_KEYS = ("q", "si_stage", "theme", "target_group", "region", "organisation_id", "year", "sort", "lang")


@bp.context_processor
def _language() -> dict[str, Any]:
    """``lang_args``: the language asked for in the query string, carried on to the registry's links (a
    shared link keeps its language)."""
    lang = request.args.get("lang")
    return {"lang_args": {"lang": lang} if lang in current_app.config["LANGUAGES"] else {}}


def _permalink(initiative_id: int) -> str:
    return url_for("registry.initiative", initiative_id=initiative_id, _external=True)


def _sort_labels() -> dict[str, str]:
    return {"newest": _("Newest support first"), "title": _("Title (A–Z)"), "amount": _("Largest support first")}


def _read_args() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The query string checked (RegistryArgs); bad values are reported by field and left out."""
    raw = {key: request.args.get(key) for key in request.args}
    schema = RegistryArgs()
    try:
        return schema.load(raw), {}
    except ma.ValidationError as error:
        messages = {key: [translate_validation_message(str(m)) for m in (value if isinstance(value, list) else [value])]
                    for key, value in error.normalized_messages().items()}
        return schema.load({key: value for key, value in raw.items() if key not in messages}), messages


@bp.get("/")
def index():
    """The registry: a search form with a count per filter value, the page of results, a pager."""
    args, errors = _read_args()
    filters = Filters.of(args)
    result = registry_page(filters, args["page"], PER_PAGE)
    options = facets(filters)
    kept = {key: value for key, value in request.args.items()
            if key in QUERY_KEYS and value.strip() and key not in errors}
    removable = []
    labels = {"si_stage": _("SI stage reached"), "theme": _("Theme"), "target_group": _("Target group"),
              "region": _("Planning region"), "organisation_id": _("Organisation"), "year": _("Year of support"),
              "q": _("Search")}
    for key, value in filters.active().items():
        shown = next((option.label for option in options.get(key, []) if option.value == value), value)
        removable.append((labels[key], shown, url_for("registry.index", **{k: v for k, v in kept.items()
                                                                          if k != key})))
    return render_template(
        "registry/index.html", result=result, filters=filters, options=options, errors=errors,
        sorts=[(code, _sort_labels()[code]) for code in SORTS], query_args=kept, removable=removable,
        field_labels=labels), 400 if errors else 200


@bp.get("/initiatives/<int:initiative_id>")
def initiative(initiative_id: int):
    """One funded initiative: what it is, who implements it, the SI stages it reached and proved, the
    support it received by grant, stage and fund. An initiative never funded is not in the registry."""
    item = registry_item(initiative_id)
    if item is None:
        abort(404)
    return render_template("registry/initiative.html", item=item, permalink=_permalink(initiative_id))


@bp.get("/data")
def data():
    """The open data: the downloads, the licence and the data dictionary."""
    type_labels = {"integer": _("whole number"), "number": _("number (euros, two decimals)"), "text": _("text"),
                   "code": _("code"), "url": _("web address"), "list of text": _("list of texts"),
                   "list of codes": _("list of codes"), "list of objects": _("list of records"),
                   "object": _("record")}
    return render_template("registry/data.html", fields=data_fields(), licence=downloads.licence(),
                           type_labels=type_labels)


@bp.get("/export.csv")
def export_csv():
    return downloads.csv_response(_permalink)


@bp.get("/export.json")
def export_json():
    return downloads.json_response(_permalink)


@bp.get("/overview/")
def overview_now():
    return redirect(url_for("registry.overview_of", year=today().year, **({"lang": request.args["lang"]}
                                                                         if "lang" in request.args else {})))


@bp.get("/overview/<int:year>")
def overview_of(year: int):
    """The annual SI ecosystem overview of ``year``, beside the year before, with charts and tables."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    found = overview(year)
    series = [str(year - 1), str(year)]

    def chart(chart_id: str, title: str, rows, *, money: bool = True, counts: bool = False):
        items = [(row.key, row.label, (row.previous_awards, row.awards) if counts else
                  (row.previous_amount, row.amount)) for row in rows]
        return bar_chart(chart_id, title, items, series=series, money=money)

    charts = {
        "stage": chart("chart-stage", _("Support awarded by SI stage, %(year)d and %(previous)d", year=year,
                                        previous=year - 1), found.by_stage),
        "theme": chart("chart-theme", _("Support awarded by theme, %(year)d and %(previous)d", year=year,
                                        previous=year - 1), found.by_theme),
        "region": chart("chart-region", _("Support awarded by planning region, %(year)d and %(previous)d", year=year,
                                          previous=year - 1), found.by_region),
        "fund": chart("chart-fund", _("Support awarded by fund source, %(year)d and %(previous)d", year=year,
                                      previous=year - 1), found.by_fund),
        "advanced": chart("chart-advanced", _("Initiatives that advanced, by the SI stage reached, %(year)d and "
                                              "%(previous)d", year=year, previous=year - 1),
                          found.advanced_by_stage, money=False, counts=True),
    }
    return render_template("registry/overview.html", overview=found, charts=charts,
                           previous_year=year - 1 if year > FIRST_YEAR else None,
                           next_year=year + 1 if year < LAST_YEAR else None, this_year=today().year)
