"""The applications list, as the page (``/applications/``) and the API (``GET /api/v1/applications``) show it:
its filters (call, workflow state, SI stage, the full-text search ``q``), its orders and a page of it.

Staff read every application, so a list may hold 100,000 rows. A page never sorts them all:

- the list is counted first (``bounded_count``: exact up to ``EXACT_COUNT_UP_TO`` rows);
- a list of at most that many rows (a narrow filter, a search, an applicant's or an evaluator's list) is found
  first and then sorted, by expressions no index serves (``grants.core.search.unindexed``): PostgreSQL could
  otherwise walk an order's index testing every row for a filter it misjudges (a search for a word nobody
  used read the whole table that way); a search is always sorted after it is found, as before;
- a longer one is read in the order of an index: ``applications (updated_at, id)`` for the newest and the
  oldest change, ``applications (title, id)`` and ``applications (requested_amount_cents, id)`` for the title
  and the amount, ``submissions (submitted_at, application_id)`` for the latest submission (without the last
  three, those orders sort the whole table: 0.1-0.5 s at 100,000 applications);
- the page's ids are read first (an index-only walk, or a sort of narrow rows), then only their rows.

"Submitted, newest first" orders by the latest submission (the API's ``submitted_at``); applications never
submitted come after, newest first by id. Titles are ordered as the database's collation orders them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from flask import flash, request, url_for
from flask_babel import gettext as _

from grants.applications.models import Application, Submission
from grants.applications.permissions import readable, reads_all_applications
from grants.applications.search import matches
from grants.calls.models import Call, CallStatus
from grants.core import paging
from grants.core.db import db
from grants.core.input_guard import MAX_ID
from grants.core.roles import RoleCode
from grants.core.search import unindexed
from grants.initiatives.stages import ALL_STAGE_CODES, DEFAULT_STAGE_MODEL, STAGE_MODELS, stage_label
from grants.workflows.engine import definitions

#: The orders, the first the default (newest change first, the list's order before there was a choice).
SORTS = ("newest", "oldest", "title", "amount_desc", "amount_asc", "submitted")
DEFAULT_SORT = SORTS[0]
#: Characters of a search that are read.
MAX_SEARCH = 200
#: Who may select rows of the list for a bulk action (assign evaluators, export the selection).
BULK_ROLES = (RoleCode.OFFICER, RoleCode.ADMIN)
#: Applications one bulk action takes at most (pages and API).
MAX_SELECTED = 200


def sort_labels() -> dict[str, str]:
    return {"newest": _("Newest change first"), "oldest": _("Oldest change first"), "title": _("Title (A–Z)"),
            "amount_desc": _("Requested amount, highest first"), "amount_asc": _("Requested amount, lowest first"),
            "submitted": _("Submitted, newest first")}


def application_states() -> tuple[str, ...]:
    """Every state code of the application workflows (what a ``state`` filter may name)."""
    codes: dict[str, None] = {}
    for (name, _version), definition in sorted(definitions().items()):
        if name.startswith("application"):
            codes.update(dict.fromkeys(definition.states))
    return tuple(codes)


@dataclass(frozen=True)
class Listing:
    """What the list shows: its filters and its order (each valid; ``None``/``""`` when not used)."""

    call_id: int | None = None
    state: str | None = None
    si_stage: str | None = None
    q: str = ""
    sort: str = DEFAULT_SORT

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Listing:
        """From a query string; a value that is not valid is left out (the default is used), never an error."""
        raw_call = str(args.get("call_id") or "").strip()
        state = str(args.get("state") or "").strip()
        stage = str(args.get("si_stage") or "").strip()
        sort = str(args.get("sort") or "").strip()
        return cls(call_id=int(raw_call) if raw_call.isdigit() and 0 < int(raw_call) <= MAX_ID else None,
                   state=state if state in application_states() else None,
                   si_stage=stage if stage in ALL_STAGE_CODES else None,
                   q=str(args.get("q") or "").strip()[:MAX_SEARCH],
                   sort=sort if sort in SORTS else DEFAULT_SORT)

    def query_args(self) -> dict[str, Any]:
        """The query string that shows this list again (what differs from the default)."""
        return {key: value for key, value in asdict(self).items()
                if value not in (None, "") and not (key == "sort" and value == DEFAULT_SORT)}

    @property
    def filtered(self) -> bool:
        return any(value not in (None, "") for key, value in asdict(self).items() if key != "sort")


def filtered(user, listing: Listing) -> sa.Select:
    """The applications ``user`` may read that the filters and the search keep (not ordered)."""
    query = sa.select(Application).where(readable(user))
    for name in ("call_id", "state", "si_stage"):
        value = getattr(listing, name)
        if value is not None:
            query = query.where(getattr(Application, name) == value)
    if listing.q:
        query = query.where(matches(listing.q))
    return query


def _latest_submitted_at() -> sa.ScalarSelect:
    return (sa.select(sa.func.max(Submission.submitted_at)).where(Submission.application_id == Application.id)
            .scalar_subquery())


def order(sort: str, *, indexed: bool) -> list[sa.ColumnElement]:
    """The ORDER BY of ``sort``; ``indexed``: as the index of the order has it (a long list), else as
    expressions no index serves (a list found first, then sorted)."""
    plain = (lambda column: column) if indexed else unindexed
    if sort == "oldest":
        return [plain(Application.updated_at).asc(), Application.id.asc()]
    if sort == "title":
        return [plain(Application.title).asc(), Application.id.asc()]
    if sort == "amount_desc":
        return [plain(Application.requested_amount).desc(), Application.id.desc()]
    if sort == "amount_asc":
        return [plain(Application.requested_amount).asc(), Application.id.asc()]
    if sort == "submitted":  # as one statement: sorted after it is found (see _submitted_page for a long list)
        return [_latest_submitted_at().desc().nulls_last(), Application.id.desc()]
    return [plain(Application.updated_at).desc(), Application.id.desc()]


@dataclass
class Page:
    items: list[Application]
    total: int
    total_is_estimate: bool
    page: int
    per_page: int
    #: When asked for: each item's latest submission time (None before the first submission), by id.
    submitted_at: dict[int, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "total_is_estimate": self.total_is_estimate,
                "page": self.page}


def page_of(user, listing: Listing, page: int, per_page: int, options: Iterable[Any] = (), *,
            with_submitted_at: bool = False) -> Page:
    """One page of the list with its total, in three statements whatever the size (four or five on the pages
    of a long list by submission where the never submitted begin), besides what ``options`` (loader options
    for the applications) load. The page's ids are read first, narrow (an index-only walk of a long list's
    order, or a sort of ids and keys only), then their rows (``with_submitted_at``: with the latest submission
    time of each, in the same statement)."""
    base = filtered(user, listing)
    total, estimate = paging.bounded_count(base)
    long_list = estimate or total > paging.EXACT_COUNT_UP_TO
    indexed = long_list and reads_all_applications(user) and not listing.q
    if listing.sort == "submitted" and indexed:
        ids = _submitted_page(base, page, per_page)
    else:
        ids = list(db.session.scalars(paging.window(
            base.with_only_columns(Application.id).order_by(*order(listing.sort, indexed=indexed)), page, per_page)))
    found = Page([], total, estimate, page, per_page)
    if not ids:
        return found
    rows = sa.select(Application, *([_latest_submitted_at()] if with_submitted_at else []))
    loaded = {row[0].id: row for row in db.session.execute(
        rows.where(Application.id.in_(ids)).options(*options)).unique()}
    for app_id in (app_id for app_id in ids if app_id in loaded):
        found.items.append(loaded[app_id][0])
        if with_submitted_at:
            found.submitted_at[app_id] = loaded[app_id][1]
    return found


def _submitted_page(base: sa.Select, page: int, per_page: int) -> list[int]:
    """The ids of page ``page`` of a long list by latest submission, newest first, then those never submitted.

    The submitted ones are read walking the submissions newest first, each application at its latest
    submission (none later), as many as the page needs; when the page runs past them, the never submitted
    ones follow (newest id first)."""
    filters = base.with_only_columns(Application.id).subquery("kept")
    later = sa.orm.aliased(Submission)
    # times and ids only: both indexes answer without reading a submission (index-only)
    submitted = (sa.select(Submission.application_id)
                 .join(filters, filters.c.id == Submission.application_id)
                 .where(~sa.select(later.id).where(later.application_id == Submission.application_id,
                                                   later.submitted_at > Submission.submitted_at).exists()))
    offset = (page - 1) * per_page
    ids = list(db.session.scalars(submitted.order_by(Submission.submitted_at.desc(),
                                                     Submission.application_id.desc())
                                  .limit(per_page).offset(offset)))
    if len(ids) == per_page:
        return ids
    # past the last submitted one: how many there are (known when this page has some of them)
    count = offset + len(ids) if ids else paging.count_of(submitted)
    never = (base.with_only_columns(Application.id)
             .where(~sa.select(Submission.id).where(Submission.application_id == Application.id).exists())
             .order_by(Application.id.desc()))
    return ids + list(db.session.scalars(never.limit(per_page - len(ids)).offset(max(offset - count, 0))))


# --- what the filters offer -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Choices:
    calls: list[tuple[int, str]]
    states: list[tuple[str, str]]
    stages: list[tuple[str, str]]


def choices(user, language: str) -> Choices:
    """The values the filters offer ``user``, with their labels (one statement): the calls (staff: every
    call; anyone else: the published ones, where every application they may read is; not "the calls of their
    applications": an evaluator's applications are found by a condition no index answers, a second pass over
    every application), the states of the workflows those calls pin, in the workflows' order, labelled as the
    workflow labels them, and the SI stages."""
    query = sa.select(Call.id, Call.code, Call.title_lv, Call.title_en, Call.workflow_name, Call.workflow_version)
    if not reads_all_applications(user):
        query = query.where(Call.status != CallStatus.DRAFT)
    calls = db.session.execute(query.order_by(Call.code)).all()
    states: dict[str, str] = {}
    pinned = {(row.workflow_name, row.workflow_version) for row in calls}
    known = definitions()
    for key in sorted(pinned):
        definition = known.get(key)
        for code, state in (definition.states.items() if definition else ()):
            states.setdefault(code, _(state.label))
    return Choices(
        calls=[(row.id, f"{row.code} · {(row.title_en if language == 'en' else row.title_lv) or row.title_lv}")
               for row in calls],
        states=list(states.items()),
        stages=[(code, stage_label(code)) for code in STAGE_MODELS[DEFAULT_STAGE_MODEL].codes])



# --- bulk actions on a selection of the list ----------------------------------------------------------------

def back_to(listing: Listing, page: int) -> str:
    """The query string of the list (its filters, order and page) a bulk action sends back to."""
    return urlencode({**listing.query_args(), **({"page": page} if page > 1 else {})})


def list_url(back: str | None) -> str:
    """The list a bulk action was sent from (``back``: its query string), its own parameters only."""
    args = dict(parse_qsl(back or "")[:20])
    raw_page = str(args.get("page") or "")
    page = int(raw_page) if raw_page.isdigit() and 1 < int(raw_page) <= MAX_ID else None
    return url_for("applications.index", **Listing.from_args(args).query_args(), **({"page": page} if page else {}))


def selected_ids(values: Iterable[Any]) -> list[int]:
    """The ids ticked on the list: whole numbers, each once, in the order sent (anything else left out)."""
    ids: dict[int, None] = {}
    for value in values:
        text = str(value).strip()
        if text.isdigit() and 0 < int(text) <= MAX_ID:
            ids.setdefault(int(text))
    return list(ids)


def read_selection(form, user) -> tuple[list[int] | None, str]:
    """A bulk action's form as the list sent it: the ticked ids and the list to go back to. The ids are None,
    the reason flashed, when the form expired or the selection is not 1 to ``MAX_SELECTED`` applications
    ``user`` may read."""
    back = list_url(request.form.get("back"))
    if not form.validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return None, back
    ids = selected_ids(request.form.getlist("ids"))
    if not ids or len(ids) > MAX_SELECTED or unknown_ids(user, ids):
        flash(_("Choose from 1 to %(max)d applications of the list.", max=MAX_SELECTED), "error")
        return None, back
    return ids, back


def unknown_ids(user, ids: Iterable[int]) -> list[int]:
    """Of ``ids``, those naming no application ``user`` may read (one statement)."""
    ids = list(ids)
    found = set(db.session.scalars(sa.select(Application.id).where(Application.id.in_(ids), readable(user)))) \
        if ids else set()
    return [app_id for app_id in ids if app_id not in found]
