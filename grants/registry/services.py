"""The public SI registry (DESIGN §9; seed 003, "a public Latvian SI database by stage, theme, target
group, implementer and supporter"): the funded initiatives, what they received and from whom.

An initiative is *funded* when at least one of its applications stands approved: the committee's
newest decision on it approves (a reserve later approved counts, an approval later replaced does
not). What it received is, per award, the agreement's tranche of each SI stage when an agreement
exists, else the amount decided, at the stage applied for.

No personal data leaves this module: organisations are legal entities and are published with
their name, legal form, region and registration number (the number only where it cannot be a
person's code); never a user, an e-mail address, a telephone number, an address or a contact.
E-mail addresses and telephone numbers that applicants typed into free text are masked.

Every function reads a fixed number of statements whatever the number of initiatives: lists are
aggregated (GROUP BY) and paged in SQL, and a page's details (awards, proven stages) come in a
fixed number of statements for the page's ids. Nothing here reads the request.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import aliased

from grants.applications.initiatives import PROVING_ACTIONS
from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.calls.models import Call, Programme
from grants.core.codes import (
    FUND_SOURCE_LABELS,
    LEGAL_FORM_LABELS,
    REGION_LABELS,
    FundSource,
    LegalForm,
    Region,
    label,
)
from grants.core.db import Money, db
from grants.core.i18n import current_language
from grants.decisions.models import Decision, Outcome
from grants.grants_mgmt.awards import STAGE_GATED, tranche_amounts
from grants.grants_mgmt.models import GrantAgreement
from grants.initiatives.models import Initiative
from grants.initiatives.search import matches as initiative_matches
from grants.initiatives.stages import DEFAULT_STAGE_MODEL, STAGE_MODELS, stage_label
from grants.organisations.models import Organisation
from grants.registry.cache import kept_while_unchanged

#: Initiatives on one page of the registry.
PER_PAGE = 20
#: The orders a list can be sorted in: newest support first (the default), title, amount received.
SORTS = ("newest", "title", "amount")
#: Stages at which an initiative counts as scaling (the annual overview's "reached scaling").
SCALING_STAGES = ("scaling", "systemic_change")
#: The years an overview or a filter may name.
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: Rows of a facet shown (the organisations and target groups with most initiatives first).
FACET_LIMIT = 100
#: Initiatives listed by name in each part of the annual overview (the counts cover all).
OVERVIEW_LIST_LIMIT = 100
#: Themes shown one by one in the annual overview (the rest are added up as "other themes").
THEMES_SHOWN = 15
#: Initiatives read per statement when the whole registry is exported.
EXPORT_BATCH = 500
#: The calendar the programme operator counts its years in.
RIGA = ZoneInfo("Europe/Riga")
CURRENCY = "EUR"

# --- text: folding (for the order by title) and masking -----------------------------------------------
# The search itself is full-text (``grants.initiatives.search``, ``grants.core.search``).

#: Latvian (and Latgalian) letters with diacritics, both cases, and their plain letter: the order by
#: title puts "Ābols" among the a's.
_FOLDS = {"ā": "a", "č": "c", "ē": "e", "ģ": "g", "ī": "i", "ķ": "k", "ļ": "l", "ņ": "n", "ō": "o", "ŗ": "r",
          "š": "s", "ū": "u", "ž": "z"}
_FOLDS.update({src.upper(): dst for src, dst in list(_FOLDS.items())})
_FOLD_TABLE = str.maketrans(_FOLDS)
_FOLD_FROM, _FOLD_TO = "".join(_FOLDS), "".join(_FOLDS.values())
#: The SQLite function doing :func:`fold` (registered on each connection below).
SQLITE_FOLD = "registry_fold"


def fold(text: str) -> str:
    """``text`` in lower case without Latvian diacritics (as :func:`_folded` does in SQL)."""
    return text.lower().translate(_FOLD_TABLE)


def _sqlite_fold(text):
    return fold(text) if isinstance(text, str) else text


@sa.event.listens_for(sa.engine.Engine, "connect")
def _register_fold(dbapi_connection, connection_record):
    """SQLite has no ``translate``, and its ``lower`` knows only ASCII: the folding is a Python function."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(SQLITE_FOLD, 1, _sqlite_fold, deterministic=True)


def _without_jit() -> None:
    """PostgreSQL: no JIT compilation for the rest of this (read-only) transaction. The registry's grouped
    statements over JSON lists and common tables are estimated far above ``jit_above_cost`` and JIT then
    costs more than the query itself (about a second at 100,000 applications). Once per transaction."""
    session = db.session()  # the request's session itself (the scoped proxy has no get_transaction)
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get("registry_no_jit") is transaction:
        return
    session.execute(sa.text("SET LOCAL jit = off"))
    session.info["registry_no_jit"] = session.get_transaction()


def _folded(column) -> sa.ColumnElement:
    """The column in lower case without Latvian diacritics: PostgreSQL's lower and translate (both cases are
    translated, whatever the database's locale makes of lower), the registered function on SQLite."""
    if db.session.get_bind().dialect.name == "sqlite":
        return getattr(sa.func, SQLITE_FOLD)(column)
    return sa.func.translate(sa.func.lower(column), _FOLD_FROM, _FOLD_TO)


EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: Telephone numbers: an international number (+ and at least 8 digits) or a Latvian one (8 digits
#: starting with 2 or 6, optionally grouped); not amounts, years or registration numbers.
PHONE_RE = re.compile(r"\+\d[\d \-()]{6,}\d|(?<![\d.,])[26]\d(?:[ \-]?\d){6}(?![\d.,])")
MASK = "[…]"


def mask_contacts(text: str | None) -> str:
    """Free text without the e-mail addresses and telephone numbers an applicant may have typed in."""
    if not text:
        return ""
    return PHONE_RE.sub(MASK, EMAIL_RE.sub(MASK, text))


#: A Latvian personal code (personas kods): DDMMYY-NNNNN, or 32NNNN-NNNNN since 2017.
_PERSONAL_CODE = re.compile(r"^(?:[0-3]\d[01]\d\d\d|32\d{4})-?\d{5}$")


def public_registration_number(legal_form: LegalForm | str | None, number: str | None) -> str:
    """The registration number, where it identifies a legal entity: an informal group has none of its
    own (what it gave may be a person's code), and a number shaped like a personal code is left out."""
    value = (number or "").strip()
    if not value or str(getattr(legal_form, "value", legal_form)) == LegalForm.INFORMAL_GROUP.value:
        return ""
    return "" if _PERSONAL_CODE.match(value) else value


# --- what is funded -------------------------------------------------------------------------------------

def _approved() -> sa.Subquery:
    """``(application_id, amount, decided_on)`` of the applications whose newest decision approves (an
    anti-join on the decisions' application index: no newer decision on the same application)."""
    newer = aliased(Decision)
    return (sa.select(Decision.application_id, Decision.amount, Decision.decided_on)
            .where(Decision.outcome == Outcome.APPROVED,
                   ~sa.exists().where(newer.application_id == Decision.application_id, newer.id > Decision.id))
            .subquery("approved"))


def _awards(ids: list[int] | None = None) -> sa.Select:
    """One row per funded application (of the initiatives ``ids``, when given): its initiative, the
    decision date, what it is worth (the agreement's amount, else the decided one) and whether an
    agreement splits it by stage."""
    approved = _approved()
    amount = sa.type_coerce(sa.func.coalesce(GrantAgreement.awarded_amount, approved.c.amount), Money)
    query = (sa.select(Application.id.label("application_id"), Application.initiative_id, Application.si_stage,
                       Application.award_stage, Application.workflow_name, Application.call_id,
                       approved.c.decided_on, amount.label("amount"), GrantAgreement.id.label("agreement_id"))
             .join(approved, approved.c.application_id == Application.id)
             .outerjoin(GrantAgreement, GrantAgreement.application_id == Application.id))
    return query.where(Application.initiative_id.in_(ids)) if ids is not None else query


def funded_ids() -> sa.Select:
    """The ids of the funded initiatives (a select for ``IN``)."""
    approved = _approved()
    return sa.select(Application.initiative_id).join(approved, approved.c.application_id == Application.id)


def _region():
    """The initiative's planning region, else its organisation's."""
    return sa.func.coalesce(Initiative.region, Organisation.region)


def _year_range(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def _riga_range(year: int) -> tuple[datetime, datetime]:
    """The calendar year in Riga, as instants (audit events are kept in UTC)."""
    return datetime(year, 1, 1, tzinfo=RIGA), datetime(year + 1, 1, 1, tzinfo=RIGA)


# --- target groups (a JSON list per initiative) ---------------------------------------------------------

def _target_groups_table(column=Initiative.target_groups):
    """The target groups (a JSON list column) as rows ``value``: a table-valued JSON function, SQLite's
    json_each or PostgreSQL's jsonb_array_elements_text (which refuses a non-array, hence the guard)."""
    if db.session.get_bind().dialect.name == "postgresql":
        array = sa.case((sa.func.jsonb_typeof(column) == "array", column), else_=sa.cast(sa.literal("[]"), JSONB))
        return sa.func.jsonb_array_elements_text(array).table_valued("value").render_derived(name="target_group")
    return sa.func.json_each(column).table_valued("value").alias("target_group")


def _has_target_group(value: str, column=Initiative.target_groups) -> sa.ColumnElement:
    groups = _target_groups_table(column)
    return sa.exists(sa.select(sa.literal(1)).select_from(groups).where(groups.c.value == value))


# --- filters ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """What a reader narrows the registry to (every one optional), and the order."""

    q: str | None = None
    si_stage: str | None = None
    theme: str | None = None
    target_group: str | None = None
    region: str | None = None
    organisation_id: int | None = None
    year: int | None = None
    sort: str = "newest"

    @classmethod
    def of(cls, args: dict[str, Any]) -> Filters:
        region = args.get("region")
        return cls(q=(args.get("q") or "").strip() or None, si_stage=args.get("si_stage") or None,
                   theme=args.get("theme") or None, target_group=args.get("target_group") or None,
                   region=getattr(region, "value", region) or None, organisation_id=args.get("organisation_id"),
                   year=args.get("year"), sort=args.get("sort") or "newest")

    def active(self) -> dict[str, Any]:
        """The filters given (not the order), by name."""
        return {key: value for key, value in self.__dict__.items() if key != "sort" and value not in (None, "")}


FACETS = ("si_stage", "theme", "target_group", "region", "organisation_id", "year")


def _conditions(filters: Filters, skip: str | None = None) -> list[sa.ColumnElement]:
    """WHERE conditions on a select from initiatives joined with their organisations."""
    conditions: list[sa.ColumnElement] = []
    if filters.q:  # the words of the title, the organisation's name and the description (full-text index)
        conditions.append(initiative_matches(filters.q))
    if filters.si_stage and skip != "si_stage":
        conditions.append(Initiative.current_stage == filters.si_stage)
    if filters.theme and skip != "theme":
        conditions.append(Initiative.theme == filters.theme)
    if filters.target_group and skip != "target_group":
        conditions.append(_has_target_group(filters.target_group))
    if filters.region and skip != "region":
        conditions.append(_region() == filters.region)
    if filters.organisation_id is not None and skip != "organisation_id":
        conditions.append(Initiative.organisation_id == filters.organisation_id)
    if filters.year is not None and skip != "year":
        conditions.append(Initiative.id.in_(_supported_in(filters.year)))
    return conditions


def _supported_in(year: int) -> sa.Select:
    """The ids of the initiatives with an award decided in ``year``."""
    start, end = _year_range(year)
    approved = _approved()
    return (sa.select(Application.initiative_id).join(approved, approved.c.application_id == Application.id)
            .where(approved.c.decided_on >= start, approved.c.decided_on < end))


def _support(ids: list[int] | None = None) -> sa.Subquery:
    """Per funded initiative (of ``ids``, when given): the total received, the first and the newest
    decision, the number of awards."""
    awards = _awards(ids).subquery("awards")
    return (sa.select(awards.c.initiative_id, sa.type_coerce(sa.func.sum(awards.c.amount), Money).label("total"),
                      sa.type_coerce(sa.func.min(awards.c.decided_on), sa.Date).label("first_on"),
                      sa.type_coerce(sa.func.max(awards.c.decided_on), sa.Date).label("last_on"),
                      sa.func.count().label("awards"))
            .group_by(awards.c.initiative_id).subquery("support"))


def _rows_query(filters: Filters, ids: list[int] | None = None) -> sa.Select:
    """The funded initiatives matching ``filters`` (among ``ids``, when given), in the order asked, with
    their organisation and support."""
    support = _support(ids)
    query = (sa.select(Initiative.id, Initiative.title, Initiative.description, Initiative.theme,
                       Initiative.target_groups, Initiative.current_stage, Initiative.stage_model,
                       _region().label("region"), Organisation.id.label("organisation_id"),
                       Organisation.name.label("organisation_name"), Organisation.legal_form,
                       Organisation.registration_number, Organisation.region.label("organisation_region"),
                       support.c.total, support.c.first_on, support.c.last_on, support.c.awards)
             .select_from(Initiative)
             .join(Organisation, Organisation.id == Initiative.organisation_id)
             .join(support, support.c.initiative_id == Initiative.id)
             .where(*_conditions(filters)))
    if ids is not None:
        query = query.where(Initiative.id.in_(ids))
    if filters.sort == "title":
        return query.order_by(_folded(Initiative.title), Initiative.id)
    if filters.sort == "amount":
        return query.order_by(support.c.total.desc(), Initiative.id.desc())
    return query.order_by(support.c.last_on.desc(), Initiative.id.desc())


def _count(filters: Filters) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Initiative.id)).select_from(Initiative)
        .join(Organisation, Organisation.id == Initiative.organisation_id)
        .where(Initiative.id.in_(funded_ids()), *_conditions(filters))) or 0


# --- the details of a page of initiatives ---------------------------------------------------------------

def _code(value) -> str | None:
    return getattr(value, "value", value)


#: An award in one of these states will release no further tranche.
CLOSED_EARLY = ("closed_at_gate", "terminated")


def _award_amounts(row) -> dict[str, Decimal]:
    """Stage → amount of one award: the agreement's tranches when it has them (of an award closed at a
    stage gate or terminated, only those up to the stage it reached), else the whole amount at the
    stage applied for."""
    if row.awarded_amount is not None:
        tranches = tranche_amounts(SimpleNamespace(tranches=row.tranches or []))
        if tranches and row.state in CLOSED_EARLY and row.award_stage in tranches:
            stages = list(tranches)
            tranches = {stage: tranches[stage] for stage in stages[: stages.index(row.award_stage) + 1]}
        if tranches:
            return tranches
        return {row.si_stage: row.awarded_amount}
    return {row.si_stage: row.decided_amount}


def _support_rows(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The awards of the initiatives ``ids``, oldest first (one statement)."""
    if not ids:
        return {}
    approved = _approved()
    language = current_language()
    result: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in db.session.execute(
            sa.select(Application.id, Application.initiative_id, Application.si_stage, Application.state,
                      Application.award_stage, Call.code.label("call_code"),
                      Programme.code.label("programme_code"), Programme.title_lv, Programme.title_en,
                      Programme.fund_source, Programme.currency, Programme.stage_model,
                      approved.c.amount.label("decided_amount"), approved.c.decided_on,
                      GrantAgreement.awarded_amount, GrantAgreement.tranches)
            .join(approved, approved.c.application_id == Application.id)
            .join(Call, Call.id == Application.call_id)
            .join(Programme, Programme.id == Call.programme_id)
            .outerjoin(GrantAgreement, GrantAgreement.application_id == Application.id)
            .where(Application.initiative_id.in_(ids))
            .order_by(approved.c.decided_on, Application.id)):
        amounts = _award_amounts(row)
        fund = _code(row.fund_source)
        title = (row.title_en if language == "en" else row.title_lv) or row.title_lv or row.title_en
        result[row.initiative_id].append({
            "application_id": row.id, "programme_code": row.programme_code, "programme_title": title,
            "fund_source": fund, "fund_source_label": label(FUND_SOURCE_LABELS, row.fund_source),
            "call_code": row.call_code, "year": row.decided_on.year, "currency": row.currency or CURRENCY,
            "si_stages": list(amounts),
            "amount_by_stage": [{"si_stage": stage, "si_stage_label": stage_label(stage, row.stage_model),
                                 "amount": amount} for stage, amount in amounts.items()],
            "amount": sum(amounts.values(), Decimal("0.00"))})
    return result


def _proven(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The stages the initiatives' grants proved, oldest first, each dated by the audited transition that
    accepted it: what grants.applications.initiatives.proven_stages gives one initiative, for many in
    two statements."""
    if not ids:
        return {}
    proving = {app_id: (initiative_id, list(stages)) for app_id, initiative_id, stages in db.session.execute(
        sa.select(Application.id, Application.initiative_id, Application.proven_stages)
        .where(Application.initiative_id.in_(ids))) if stages}
    if not proving:
        return {}
    dates: dict[int, list[datetime]] = defaultdict(list)
    for object_id, occurred_at in db.session.execute(
            sa.select(AuditEvent.object_id, AuditEvent.occurred_at)
            .where(AuditEvent.object_type == "application", AuditEvent.object_id.in_([str(i) for i in proving]),
                   AuditEvent.action.in_(PROVING_ACTIONS))
            .order_by(AuditEvent.id)):
        dates[int(object_id)].append(occurred_at)
    proofs: dict[int, list[tuple]] = defaultdict(list)
    for app_id, (initiative_id, stages) in proving.items():
        for stage, when in zip(stages, dates.get(app_id, []), strict=False):
            proofs[initiative_id].append((when, app_id, stage))
    return {initiative_id: [{"si_stage": stage, "si_stage_label": stage_label(stage),
                             "proven_on": when.astimezone(RIGA).date()}
                            for when, _app_id, stage in sorted(found)]
            for initiative_id, found in proofs.items()}


def _item(row, support: list[dict[str, Any]], proven: list[dict[str, Any]]) -> dict[str, Any]:
    """One initiative as the registry publishes it (pages, API and JSON export)."""
    by_stage: dict[str, Decimal] = defaultdict(Decimal)
    by_fund: dict[str, Decimal] = defaultdict(Decimal)
    for award in support:
        for part in award["amount_by_stage"]:
            by_stage[part["si_stage"]] += part["amount"]
        by_fund[award["fund_source"]] += award["amount"]
    model = STAGE_MODELS.get(row.stage_model) or STAGE_MODELS[DEFAULT_STAGE_MODEL]
    order = {code: index for index, code in enumerate(model.codes)}
    region = _code(row.region)
    legal_form = _code(row.legal_form)
    return {
        "id": row.id,
        "title": mask_contacts(row.title),
        "description": mask_contacts(row.description),
        "theme": mask_contacts(row.theme),
        "target_groups": [mask_contacts(group) for group in (row.target_groups or [])],
        "si_stage": row.current_stage,
        "si_stage_label": stage_label(row.current_stage, row.stage_model if row.stage_model in STAGE_MODELS
                                      else DEFAULT_STAGE_MODEL),
        "proven_stages": proven,
        "region": region,
        "region_label": label(REGION_LABELS, region) if region else "",
        "organisation": {
            "id": row.organisation_id,
            "name": row.organisation_name,
            "legal_form": legal_form,
            "legal_form_label": label(LEGAL_FORM_LABELS, row.legal_form),
            "registration_number": public_registration_number(legal_form, row.registration_number),
            "region": _code(row.organisation_region),
        },
        "first_funded_year": row.first_on.year if row.first_on else None,
        "last_funded_year": row.last_on.year if row.last_on else None,
        "awards": row.awards,
        "currency": CURRENCY,
        "total_amount": row.total if row.total is not None else Decimal("0.00"),
        "amount_by_stage": [{"si_stage": stage, "si_stage_label": stage_label(stage), "amount": amount}
                            for stage, amount in sorted(by_stage.items(), key=lambda kv: order.get(kv[0], 99))],
        "amount_by_fund": [{"fund_source": fund, "fund_source_label": label(FUND_SOURCE_LABELS, fund),
                            "amount": amount} for fund, amount in sorted(by_fund.items())],
        "support": support,
    }


def _items(rows) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    support, proven = _support_rows(ids), _proven(ids)
    return [_item(row, support.get(row.id, []), proven.get(row.id, [])) for row in rows]


# --- the registry: a page, one initiative, everything ---------------------------------------------------

@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


@kept_while_unchanged
def registry_page(filters: Filters, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of the funded initiatives matching ``filters`` and how many match in all: the page's ids
    and the count in one statement (narrow rows sorted), then the page's rows and details by id. Five
    statements whatever the data."""
    _without_jit()
    ordered = _rows_query(filters)
    window = ordered.with_only_columns(Initiative.id, sa.func.count().over().label("matching"))
    picked = db.session.execute(window.limit(per_page).offset((page - 1) * per_page)).all()
    # Past the last page (or nothing matches), the count alone.
    total = picked[0].matching if picked else (_count(filters) if page > 1 else 0)
    ids = [row.id for row in picked]
    rows = {row.id: row for row in db.session.execute(_rows_query(Filters(), ids=ids))} if ids else {}
    return Page(items=_items([rows[i] for i in ids if i in rows]), total=total, page=page, per_page=per_page)


def registry_item(initiative_id: int) -> dict[str, Any] | None:
    """One funded initiative, or None when there is no such initiative or it was never funded."""
    rows = db.session.execute(_rows_query(Filters(), ids=[initiative_id])).all()
    return _items(rows)[0] if rows else None


def iter_registry(batch: int = EXPORT_BATCH) -> Iterator[dict[str, Any]]:
    """Every funded initiative, by id, ``batch`` at a time (flat memory for any size): the next batch's ids
    come from the applications' initiative index, then its rows and details for those ids only."""
    _without_jit()
    last = 0
    while True:
        ids = list(db.session.scalars(funded_ids().where(Application.initiative_id > last).distinct()
                                      .order_by(Application.initiative_id).limit(batch)))
        if not ids:
            return
        rows = db.session.execute(_rows_query(Filters(), ids=ids).order_by(None).order_by(Initiative.id)).all()
        yield from _items(rows)
        last = ids[-1]
        if len(ids) < batch:
            return


# --- facets: how many initiatives each filter value would give -----------------------------------------

@dataclass(frozen=True)
class Option:
    value: Any
    label: str
    count: int


@kept_while_unchanged
def facets(filters: Filters) -> dict[str, list[Option]]:
    """For each filter, its values with the number of initiatives each would show, the other filters (and
    the search) applied: one statement, the funded initiatives read once into a common table."""
    _without_jit()
    approved = _approved()
    awards = (sa.select(Application.initiative_id, approved.c.decided_on)
              .join(approved, approved.c.application_id == Application.id).cte("facet_awards"))
    base = (sa.select(Initiative.id, Initiative.current_stage, Initiative.theme, Initiative.target_groups,
                      _region().label("region"), Initiative.organisation_id, Organisation.name.label("organisation"))
            .join(Organisation, Organisation.id == Initiative.organisation_id)
            .where(Initiative.id.in_(sa.select(awards.c.initiative_id))))
    if filters.q:
        base = base.where(*_conditions(Filters(q=filters.q)))
    funded = base.cte("facet_funded")

    def where(skip: str) -> list[sa.ColumnElement]:
        found = []
        if filters.si_stage and skip != "si_stage":
            found.append(funded.c.current_stage == filters.si_stage)
        if filters.theme and skip != "theme":
            found.append(funded.c.theme == filters.theme)
        if filters.target_group and skip != "target_group":
            found.append(_has_target_group(filters.target_group, funded.c.target_groups))
        if filters.region and skip != "region":
            found.append(funded.c.region == filters.region)
        if filters.organisation_id is not None and skip != "organisation_id":
            found.append(funded.c.organisation_id == filters.organisation_id)
        if filters.year is not None and skip != "year":
            start, end = _year_range(filters.year)
            found.append(funded.c.id.in_(sa.select(awards.c.initiative_id).where(
                awards.c.decided_on >= start, awards.c.decided_on < end)))
        return found

    def branch(name: str, value, label_column=None, *, joins=(), extra=(), distinct=False, limit=None):
        counted = sa.func.count(sa.distinct(funded.c.id)) if distinct else sa.func.count()
        query = sa.select(sa.literal(name).label("facet"), sa.cast(value, sa.String).label("value"),
                          (label_column if label_column is not None else sa.cast(sa.null(), sa.String)).label("label"),
                          counted.label("n")).select_from(funded)
        for target, condition in joins:
            query = query.join(target, condition)
        query = query.where(*where(name), *extra).group_by(value, *([label_column] if label_column is not None
                                                                     else []))
        if limit:
            query = query.order_by(counted.desc(), value).limit(limit)
        return sa.select(query.subquery())

    groups = _target_groups_table(funded.c.target_groups)
    year = sa.extract("year", awards.c.decided_on)
    union = sa.union_all(
        branch("si_stage", funded.c.current_stage),
        branch("theme", funded.c.theme, extra=[funded.c.theme != ""], limit=FACET_LIMIT),
        branch("target_group", groups.c.value, joins=[(groups, sa.true())], distinct=True, limit=FACET_LIMIT),
        branch("region", funded.c.region),
        branch("organisation_id", funded.c.organisation_id, funded.c.organisation, limit=FACET_LIMIT),
        branch("year", year, joins=[(awards, awards.c.initiative_id == funded.c.id)], distinct=True))
    found: dict[str, list[tuple[str | None, str | None, int]]] = defaultdict(list)
    for facet, value, text, count in db.session.execute(union):
        found[facet].append((value, text, count))

    stage_counts = {value: count for value, _text, count in found["si_stage"]}
    model = STAGE_MODELS[DEFAULT_STAGE_MODEL]
    stages = [Option(code, stage_label(code), stage_counts.get(code, 0)) for code in model.codes]
    stages += [Option(code, code, count) for code, count in stage_counts.items() if code not in model.codes]
    # Most initiatives first, then by name: ordered here, the same on both databases.
    themes = [Option(value, value, count) for value, _t, count in sorted(found["theme"], key=lambda r: (-r[2], r[0]))]
    groups_found = [Option(value, value, count)
                    for value, _t, count in sorted(found["target_group"], key=lambda r: (-r[2], r[0]))]
    region_counts = {value: count for value, _text, count in found["region"]}
    regions = [Option(code.value, label(REGION_LABELS, code), region_counts.get(code.value, 0)) for code in Region]
    organisations = [Option(int(value), text, count) for value, text, count in
                     sorted(found["organisation_id"], key=lambda r: (-r[2], r[1] or "", int(r[0])))]
    years = [Option(int(float(value)), str(int(float(value))), count)
             for value, _t, count in sorted(found["year"], key=lambda r: -float(r[0])) if value is not None]
    return {"si_stage": stages, "theme": themes, "target_group": groups_found, "region": regions,
            "organisation_id": organisations, "year": years}


# --- open data: the fields and the flat rows ------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One field of the open data: its name, its type, the formats it appears in, what it means."""

    name: str
    type: str
    formats: tuple[str, ...]
    description: Any  # a lazy string


def data_fields() -> list[Field]:
    """The data dictionary of the open data (CSV columns and JSON keys), in the reader's language."""
    both, csv_only, json_only = ("csv", "json"), ("csv",), ("json",)
    stages = STAGE_MODELS[DEFAULT_STAGE_MODEL]
    fields = [
        Field("id", "integer", both, _l("The initiative's number in the registry; it does not change.")),
        Field("url", "url", both, _l("The initiative's permanent page in the registry.")),
        Field("title", "text", both, _l("The initiative's name, as its organisation gives it.")),
        Field("description", "text", both, _l("What the initiative does, as its organisation describes it "
                                              "(e-mail addresses and telephone numbers are masked).")),
        Field("theme", "text", both, _l("The social theme the initiative works on, as its organisation names it.")),
        Field("target_groups", "list of text", both,
              _l("The people the initiative works with; in CSV separated by a semicolon.")),
        Field("si_stage", "code", both, _l("The SI stage the initiative has reached (Open Book of Social "
                                           "Innovation: problem_identification, idea_generation, prototyping, "
                                           "sustaining, scaling, systemic_change).")),
        Field("si_stage_label", "text", both, _l("The name of that SI stage in the language of the download.")),
        Field("proven_stages", "list of codes", both,
              _l("The SI stages whose results the programme accepted (a final report or a passed stage gate); "
                 "in JSON with the date each was accepted.")),
        Field("region", "code", both, _l("The planning region where the initiative works (riga, vidzeme, kurzeme, "
                                         "zemgale, latgale): its own, else its organisation's.")),
        Field("region_label", "text", both, _l("The name of that planning region.")),
        Field("organisation_id", "integer", csv_only, _l("The implementing organisation's number in the registry.")),
        Field("organisation_name", "text", csv_only, _l("The implementing organisation (a legal entity).")),
        Field("organisation_legal_form", "code", csv_only,
              _l("Its legal form: association, foundation, religious_organisation, social_enterprise, company, "
                 "municipality, public_institution or informal_group.")),
        Field("organisation_registration_number", "text", csv_only,
              _l("Its number in the register of enterprises; empty for informal groups.")),
        Field("organisation_region", "code", csv_only, _l("The planning region where the organisation is based.")),
        Field("organisation", "object", json_only,
              _l("The implementing organisation: id, name, legal_form, legal_form_label, registration_number, "
                 "region (as the organisation_… columns of the CSV).")),
        Field("first_funded_year", "integer", both, _l("The year of the first decision to fund the initiative.")),
        Field("last_funded_year", "integer", both, _l("The year of the newest decision to fund it.")),
        Field("awards", "integer", both, _l("How many grants the initiative received.")),
        Field("currency", "code", both, _l("The currency of the amounts (ISO 4217).")),
        Field("total_amount", "number", both, _l("Everything awarded to the initiative: each grant's amount in "
                                                 "its agreement, or the amount decided before an agreement.")),
    ]
    fields += [Field(f"amount_{stage.code}", "number", csv_only,
                     _l("Awarded for the SI stage %(stage)s (%(code)s).", stage=stage.label, code=stage.code))
               for stage in stages.stages]
    fields += [Field(f"amount_{fund.value}", "number", csv_only,
                     _l("Awarded from %(fund)s (%(code)s).", fund=FUND_SOURCE_LABELS[fund], code=fund.value))
               for fund in FundSource]
    fields += [
        Field("amount_by_stage", "list of objects", json_only,
              _l("The awarded amount per SI stage: si_stage, si_stage_label, amount.")),
        Field("amount_by_fund", "list of objects", json_only,
              _l("The awarded amount per fund source: fund_source, fund_source_label, amount.")),
        Field("programmes", "list of codes", csv_only, _l("The programmes that funded it, separated by a semicolon.")),
        Field("calls", "list of codes", csv_only, _l("The calls for proposals it was funded in, separated by a "
                                                     "semicolon.")),
        Field("support", "list of objects", json_only,
              _l("Each grant: programme_code, programme_title, fund_source, fund_source_label, call_code, year "
                 "of the decision, si_stages funded, amount_by_stage, amount, currency.")),
    ]
    return fields


def csv_row(item: dict[str, Any]) -> dict[str, Any]:
    """An initiative as one flat CSV row (the keys of the CSV fields)."""
    organisation = item["organisation"]
    by_stage = {part["si_stage"]: part["amount"] for part in item["amount_by_stage"]}
    by_fund = {part["fund_source"]: part["amount"] for part in item["amount_by_fund"]}
    row = {key: item.get(key) for key in ("id", "url", "title", "description", "theme", "si_stage",
                                          "si_stage_label", "region", "region_label", "first_funded_year",
                                          "last_funded_year", "awards", "currency", "total_amount")}
    row.update({
        "target_groups": "; ".join(item["target_groups"]),
        "proven_stages": "; ".join(proof["si_stage"] for proof in item["proven_stages"]),
        "organisation_id": organisation["id"], "organisation_name": organisation["name"],
        "organisation_legal_form": organisation["legal_form"],
        "organisation_registration_number": organisation["registration_number"],
        "organisation_region": organisation["region"],
        "programmes": "; ".join(dict.fromkeys(award["programme_code"] for award in item["support"])),
        "calls": "; ".join(dict.fromkeys(award["call_code"] for award in item["support"])),
    })
    row.update({f"amount_{code}": by_stage.get(code, Decimal("0.00"))
                for code in STAGE_MODELS[DEFAULT_STAGE_MODEL].codes})
    row.update({f"amount_{fund.value}": by_fund.get(fund.value, Decimal("0.00")) for fund in FundSource})
    return row


def export_items(permalink: Callable[[int], str]) -> Iterator[dict[str, Any]]:
    """Every funded initiative as the JSON export gives it, with its permanent address."""
    for item in iter_registry():
        yield {"id": item["id"], "url": permalink(item["id"]), **{k: v for k, v in item.items() if k != "id"}}


# --- the annual SI ecosystem overview -------------------------------------------------------------------

@dataclass
class Figure:
    """One measure of the overview: this year's value, the previous year's and the change."""

    key: str
    label: str
    value: Any
    previous: Any
    money: bool = False

    @property
    def change(self) -> Any:
        return self.value - self.previous

    @property
    def percent(self) -> int | None:
        if not self.previous:
            return None
        return round((self.value - self.previous) * 100 / self.previous)


@dataclass
class Breakdown:
    """Support of one kind (stage, theme, region, fund) in the year and the year before."""

    key: str
    label: str
    amount: Decimal = Decimal("0.00")
    awards: int = 0
    previous_amount: Decimal = Decimal("0.00")
    previous_awards: int = 0


@dataclass
class Overview:
    year: int
    figures: list[Figure]
    by_stage: list[Breakdown]
    by_theme: list[Breakdown]
    by_region: list[Breakdown]
    by_fund: list[Breakdown]
    advanced_by_stage: list[Breakdown]
    new: list[dict[str, Any]] = field(default_factory=list)
    advanced: list[dict[str, Any]] = field(default_factory=list)
    scaling: list[dict[str, Any]] = field(default_factory=list)

    def figure(self, key: str) -> Figure:
        return next(figure for figure in self.figures if figure.key == key)


#: The measures of the overview.
FIGURE_LABELS = {
    "new": _l("Initiatives funded for the first time"),
    "advanced": _l("Initiatives that advanced an SI stage"),
    "scaling": _l("Initiatives at scaling or systemic change"),
    "initiatives": _l("Initiatives supported"),
    "awards": _l("Grants awarded"),
    "amount": _l("Support awarded"),
}


def _this_year(column, boundary):
    """1 for this year, 0 for the year before (rows are restricted to the two years); ``boundary`` is
    the first day (or instant) of this year."""
    return sa.case((column >= boundary, 1), else_=0)


def _listed(query: sa.Select) -> list[dict[str, Any]]:
    return [{"id": row.id, "title": mask_contacts(row.title), "organisation": row.name,
             "si_stage": row.current_stage, "si_stage_label": stage_label(row.current_stage)}
            for row in db.session.execute(query.limit(OVERVIEW_LIST_LIMIT))]


@dataclass
class _Tables:
    """The common tables of the overview's statements (each statement renders those it uses)."""

    awards: sa.CTE  # every funded application: initiative, decision date, stage, amount
    first: sa.CTE  # per funded initiative, the date of its first award
    moves: sa.CTE  # the audited moves of funded initiatives to their next stage, in the two years


def _tables(year: int) -> _Tables:
    awards = _awards().cte("awards")
    first = (sa.select(awards.c.initiative_id.label("id"),
                       sa.type_coerce(sa.func.min(awards.c.decided_on), sa.Date).label("first_on"))
             .group_by(awards.c.initiative_id).cte("first_award"))
    moves = (sa.select(AuditEvent.object_id, AuditEvent.occurred_at,
                       AuditEvent.payload["from"].as_string().label("from_stage"),
                       AuditEvent.payload["to"].as_string().label("to_stage"))
             .where(AuditEvent.action == "initiative.advance", AuditEvent.object_type == "initiative",
                    AuditEvent.occurred_at >= _riga_range(year - 1)[0], AuditEvent.occurred_at < _riga_range(year)[1],
                    AuditEvent.object_id.in_(sa.select(sa.cast(awards.c.initiative_id, sa.String))))
             .cte("moves"))
    return _Tables(awards, first, moves)


def _at_scaling(year: int, tables: _Tables) -> sa.CompoundSelect:
    """The funded initiatives at scaling in ``year`` (ids): moved to a scaling stage in the year, funded in
    the year for a scaling stage, or first funded in the year already at one (not moved there later)."""
    start, end = _year_range(year)
    moment_start, moment_end = _riga_range(year)
    awards, first, moves = tables.awards, tables.first, tables.moves
    moved_later = sa.select(AuditEvent.object_id).where(
        AuditEvent.action == "initiative.advance", AuditEvent.object_type == "initiative",
        AuditEvent.occurred_at >= moment_end)
    return sa.union(
        sa.select(sa.cast(moves.c.object_id, sa.Integer).label("id"))
        .where(moves.c.occurred_at >= moment_start, moves.c.occurred_at < moment_end,
               moves.c.to_stage.in_(SCALING_STAGES)),
        sa.select(awards.c.initiative_id)
        .where(awards.c.decided_on >= start, awards.c.decided_on < end,
               sa.or_(awards.c.si_stage.in_(SCALING_STAGES), awards.c.award_stage.in_(SCALING_STAGES))),
        sa.select(first.c.id).join(Initiative, Initiative.id == first.c.id)
        .where(first.c.first_on >= start, first.c.first_on < end, Initiative.current_stage.in_(SCALING_STAGES),
               sa.cast(Initiative.id, sa.String).not_in(moved_later)))


@kept_while_unchanged
def overview(year: int) -> Overview:
    """The SI ecosystem in ``year`` beside the year before: initiatives funded for the first time, those
    that advanced an SI stage, those at scaling; the support decided by SI stage, theme, planning region
    and fund. Six statements whatever the data: the counts, the breakdowns, the tranches of stage-gated
    agreements, three short lists."""
    _without_jit()
    start, end = _year_range(year)
    previous_start = date(year - 1, 1, 1)
    moment_start, moment_end = _riga_range(year)
    tables = _tables(year)
    awards, first, moves = tables.awards, tables.first, tables.moves

    def count(query: sa.Select) -> sa.ScalarSelect:
        return sa.select(sa.func.count()).select_from(query.subquery()).scalar_subquery()

    def moved(since, until) -> sa.ScalarSelect:
        return (sa.select(sa.func.count(sa.distinct(moves.c.object_id)))
                .where(moves.c.occurred_at >= since, moves.c.occurred_at < until).scalar_subquery())

    def supported(since, until) -> sa.ScalarSelect:
        return (sa.select(sa.func.count(sa.distinct(awards.c.initiative_id)))
                .where(awards.c.decided_on >= since, awards.c.decided_on < until).scalar_subquery())

    counts = db.session.execute(sa.select(
        count(sa.select(first.c.id).where(first.c.first_on >= start, first.c.first_on < end)),
        count(sa.select(first.c.id).where(first.c.first_on >= previous_start, first.c.first_on < start)),
        moved(moment_start, moment_end), moved(_riga_range(year - 1)[0], moment_start),
        count(sa.select(_at_scaling(year, tables).subquery())),
        count(sa.select(_at_scaling(year - 1, tables).subquery())),
        supported(start, end), supported(previous_start, start))).one()
    support = _support_breakdowns(year, tables)
    figures = [
        Figure("new", str(FIGURE_LABELS["new"]), counts[0], counts[1]),
        Figure("advanced", str(FIGURE_LABELS["advanced"]), counts[2], counts[3]),
        Figure("scaling", str(FIGURE_LABELS["scaling"]), counts[4], counts[5]),
        Figure("initiatives", str(FIGURE_LABELS["initiatives"]), counts[6], counts[7]),
        Figure("awards", str(FIGURE_LABELS["awards"]), sum(b.awards for b in support["fund"]),
               sum(b.previous_awards for b in support["fund"])),
        Figure("amount", str(FIGURE_LABELS["amount"]), sum((b.amount for b in support["fund"]), Decimal("0.00")),
               sum((b.previous_amount for b in support["fund"]), Decimal("0.00")), money=True),
    ]
    listed = (sa.select(Initiative.id, Initiative.title, Initiative.current_stage, Organisation.name)
              .join(Organisation, Organisation.id == Initiative.organisation_id))
    by_title = (_folded(Initiative.title), Initiative.id)
    new = _listed(listed.join(first, first.c.id == Initiative.id)
                  .where(first.c.first_on >= start, first.c.first_on < end).order_by(*by_title))
    scaling_ids = _at_scaling(year, tables).subquery("scaling")
    scaling = _listed(listed.join(scaling_ids, scaling_ids.c.id == Initiative.id).order_by(*by_title))
    advanced = [{"id": row.id, "title": mask_contacts(row.title), "organisation": row.name,
                 "si_stage": row.current_stage, "si_stage_label": stage_label(row.current_stage),
                 "from_stage": row.from_stage, "from_stage_label": stage_label(row.from_stage or ""),
                 "to_stage": row.to_stage, "to_stage_label": stage_label(row.to_stage or ""),
                 "on": row.occurred_at.astimezone(RIGA).date()}
                for row in db.session.execute(
                    listed.add_columns(moves.c.from_stage, moves.c.to_stage, moves.c.occurred_at)
                    .join(moves, moves.c.object_id == sa.cast(Initiative.id, sa.String))
                    .where(moves.c.occurred_at >= moment_start, moves.c.occurred_at < moment_end)
                    .order_by(moves.c.occurred_at, Initiative.id).limit(OVERVIEW_LIST_LIMIT))]
    return Overview(year=year, figures=figures, by_stage=support["stage"], by_theme=support["theme"],
                    by_region=support["region"], by_fund=support["fund"],
                    advanced_by_stage=support["moved"], new=new, advanced=advanced, scaling=scaling)


def _support_breakdowns(year: int, tables: _Tables) -> dict[str, list[Breakdown]]:
    """Support decided in ``year`` and the year before by SI stage, theme, planning region and fund, and
    the initiatives that moved, by the stage they reached: one grouped statement, plus one reading the
    tranches of stage-gated agreements (their amount is split over the stages they fund)."""
    start, end = _year_range(year)
    previous_start = date(year - 1, 1, 1)
    awards, moves = tables.awards, tables.moves
    two_years = (sa.select(awards).where(awards.c.decided_on >= previous_start, awards.c.decided_on < end)
                 .cte("two_years"))
    bucket = _this_year(two_years.c.decided_on, start)
    total = sa.type_coerce(sa.func.sum(two_years.c.amount), Money)
    gated = sa.and_(two_years.c.workflow_name == STAGE_GATED, two_years.c.agreement_id.is_not(None))

    def grouped(kind: str, key, *joins, where=None) -> sa.Select:
        query = sa.select(sa.literal(kind).label("kind"), sa.cast(key, sa.String).label("key"),
                          bucket.label("bucket"), total.label("amount"), sa.func.count().label("n"))
        query = query.select_from(two_years)
        for target, condition in joins:
            query = query.join(target, condition)
        if where is not None:
            query = query.where(where)
        return query.group_by(key, bucket)

    moved_bucket = _this_year(moves.c.occurred_at, _riga_range(year)[0])
    with_initiative = (Initiative, Initiative.id == two_years.c.initiative_id)
    union = sa.union_all(
        grouped("theme", Initiative.theme, with_initiative),
        grouped("region", _region(), with_initiative, (Organisation, Organisation.id == Initiative.organisation_id)),
        grouped("fund", Programme.fund_source, (Call, Call.id == two_years.c.call_id),
                (Programme, Programme.id == Call.programme_id)),
        grouped("stage", two_years.c.si_stage, where=sa.not_(gated)),
        sa.select(sa.literal("moved"), moves.c.to_stage, moved_bucket, sa.type_coerce(sa.literal(0), Money),
                  sa.func.count(sa.distinct(moves.c.object_id))).group_by(moves.c.to_stage, moved_bucket))
    found: dict[str, dict[Any, list]] = defaultdict(lambda: defaultdict(lambda: [Decimal("0.00"), 0,
                                                                                 Decimal("0.00"), 0]))
    for kind, key, which, amount, n in db.session.execute(union):
        entry = found[kind][key]
        offset = 0 if which == 1 else 2
        entry[offset] += amount or Decimal("0.00")
        entry[offset + 1] += n
    for si_stage, which, awarded, tranches in db.session.execute(
            sa.select(two_years.c.si_stage, bucket, GrantAgreement.awarded_amount, GrantAgreement.tranches)
            .join(GrantAgreement, GrantAgreement.id == two_years.c.agreement_id).where(gated)
            .execution_options(yield_per=500)):
        parts = tranche_amounts(SimpleNamespace(tranches=tranches or [])) or {si_stage: awarded}
        offset = 0 if which == 1 else 2
        for stage, amount in parts.items():
            found["stage"][stage][offset] += amount
            found["stage"][stage][offset + 1] += 1

    def rows(kind: str, keys_labels) -> list[Breakdown]:
        return [Breakdown(key or "", text, *found[kind][key]) if key in found[kind]
                else Breakdown(key or "", text) for key, text in keys_labels]

    codes = STAGE_MODELS[DEFAULT_STAGE_MODEL].codes
    by_stage = rows("stage", [(code, stage_label(code)) for code in codes])
    by_stage += rows("stage", [(code, code) for code in list(found["stage"]) if code not in codes])
    themes = found["theme"]
    ranked = sorted(themes, key=lambda key: (-themes[key][0], -themes[key][2], key or "\uffff"))
    by_theme = rows("theme", [(key, key or _("No theme given")) for key in ranked[:THEMES_SHOWN]])
    if len(ranked) > THEMES_SHOWN:
        rest = [themes[key] for key in ranked[THEMES_SHOWN:]]
        by_theme.append(Breakdown("*", _("Other themes"), *(sum((r[i] for r in rest), Decimal("0.00") if i % 2 == 0
                                                                 else 0) for i in range(4))))
    by_region = rows("region", [(code.value, label(REGION_LABELS, code)) for code in Region])
    if None in found["region"]:
        by_region += rows("region", [(None, _("Outside the planning regions"))])
    by_fund = rows("fund", [(fund.value, label(FUND_SOURCE_LABELS, fund)) for fund in FundSource])
    moved_rows = [Breakdown(code, stage_label(code), awards=found["moved"][code][1],
                            previous_awards=found["moved"][code][3]) if code in found["moved"]
                  else Breakdown(code, stage_label(code)) for code in codes[1:]]
    return {"stage": by_stage, "theme": by_theme, "region": by_region, "fund": by_fund, "moved": moved_rows}
