"""The applications list (page and API): filters by call, state and SI stage, the search, six orders, all kept in
the URL (the pager and the order links carry every other parameter); values that are not valid fall back to the
default on the page and are refused by name in the API; applicants see only their own; the statements do not
grow with the rows, whichever order, whether the list is short (found, then sorted) or long (read in an index's
order: forced here by lowering the bound that tells them apart)."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from grants.applications import views as application_views
from grants.applications.models import Application, Submission
from grants.calls.models import CallStatus
from grants.core import paging
from grants.core.db import db, utcnow
from grants.workflows.engine import fire
from tests.factories import (
    bearer,
    login,
    make_application,
    make_call,
    make_evaluation_call,
    make_organisation,
    make_user,
)

SORTS = ("newest", "oldest", "title", "amount_desc", "amount_asc", "submitted")
BASE = utcnow().replace(microsecond=0) - timedelta(days=30)


def _set(application, **values) -> None:
    """Columns written as they are (the time of change, say), without a new version."""
    db.session.execute(sa.update(Application.__table__).where(Application.__table__.c.id == application.id)
                       .values(**values))


def _submit(application, at) -> None:
    member = application.organisation.memberships[0].user
    fire(application, "submit", member)
    db.session.flush()
    db.session.execute(sa.update(Submission.__table__).where(Submission.__table__.c.application_id == application.id)
                       .values(submitted_at=at))


@pytest.fixture
def world(app):
    """Two calls; eight applications of five organisations with distinct titles, amounts, stages, states, times
    of change and of submission (three never submitted); ``mine`` is the applicant of two of them."""
    first, second = make_evaluation_call(), make_call()
    mine = make_user("applicant")
    own = make_organisation(mine)
    specs = [  # key, call, title, amount, stage, submitted (minutes after BASE) or None, mine
        ("a", first, "Alfa kopiena", "7000.00", "idea_generation", 50, True),
        ("b", first, "Bravo darbnica", "1500.00", "prototyping", 10, False),
        ("c", first, "Charlie klubs", "9000.00", "idea_generation", None, True),
        ("d", second, "Delta kopiena", "2500.00", "idea_generation", 30, False),
        ("e", second, "Echo fonds", "4000.00", "prototyping", None, False),
        ("f", first, "Foxtrot kopiena", "3000.00", "idea_generation", 40, False),
        ("g", second, "Golf skola", "8000.00", "idea_generation", 20, False),
        ("h", first, "Hotel kopiena", "500.00", "prototyping", None, False),
    ]
    items = {}
    for key, call, title, amount, stage, submitted, is_mine in specs:
        organisation = own if is_mine else None
        application = make_application(call, organisation, title=title, requested_amount=Decimal(amount),
                                       si_stage=stage)
        if submitted is not None:
            _submit(application, BASE + timedelta(minutes=submitted))
        items[key] = application
    officer = make_user("officer")
    fire(items["f"], "declare_eligible", officer)  # in evaluation
    # times of change in a known order, none equal: h newest ... a oldest, then b between c and d
    for minutes, key in enumerate(("a", "c", "b", "d", "e", "f", "g", "h")):
        _set(items[key], updated_at=BASE + timedelta(hours=1, minutes=minutes))
    # a second submission of b (a clarification round): its latest submission is the newest of all
    db.session.add(Submission(application_id=items["b"].id, round=2, trigger="resubmit",
                              submitted_at=BASE + timedelta(minutes=60), snapshot={}, content_hash="0" * 64))
    db.session.flush()
    db.session.expire_all()
    return {"items": items, "first": first, "second": second, "mine": mine, "officer": officer,
            "admin": make_user("admin")}


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def _page(client, path) -> tuple[list[int], str]:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    return [int(i) for i in re.findall(r'<tr data-application="(\d+)"', html)], html


def _all(world) -> dict[str, Application]:
    return {key: db.session.get(Application, application.id) for key, application in world["items"].items()}


def _latest(application) -> object:
    return max((s.submitted_at for s in application.submissions), default=None)


def _expected(world, sort: str, keep=lambda application: True) -> list[int]:
    rows = [a for a in _all(world).values() if keep(a)]
    if sort == "newest":
        rows.sort(key=lambda a: (a.updated_at, a.id), reverse=True)
    elif sort == "oldest":
        rows.sort(key=lambda a: (a.updated_at, a.id))
    elif sort == "title":
        rows.sort(key=lambda a: (a.title, a.id))
    elif sort == "amount_desc":
        rows.sort(key=lambda a: (a.requested_amount, a.id), reverse=True)
    elif sort == "amount_asc":
        rows.sort(key=lambda a: (a.requested_amount, a.id))
    else:  # by the latest submission, newest first; never submitted after, newest id first
        submitted = sorted((a for a in rows if _latest(a)), key=lambda a: (_latest(a), a.id), reverse=True)
        rows = submitted + sorted((a for a in rows if not _latest(a)), key=lambda a: a.id, reverse=True)
    return [a.id for a in rows]


def _mine_only(world):
    return lambda a: a.organisation_id in {o.id for o in world["mine"].organisations}


def _in_world(world):
    ids = {a.id for a in world["items"].values()}
    return lambda a: a.id in ids


@pytest.fixture(params=["short", "long"])
def length(request, monkeypatch):
    """The list found first and sorted (short), or read in the order of an index (long: more rows than the bound
    of an exact count, here none; PostgreSQL then gives its estimate as the total)."""
    if request.param == "long":
        monkeypatch.setattr(paging, "EXACT_COUNT_UP_TO", 0)
    return request.param


@pytest.mark.parametrize("sort", SORTS)
def test_every_order_on_the_page_and_in_the_api(client, world, length, sort):
    officer = world["officer"]
    calls = (world["first"].id, world["second"].id)
    api = []
    for call_id in calls:
        api += _ids(client.get(f"/api/v1/applications?call_id={call_id}&sort={sort}&per_page=200",
                               headers=bearer(officer)))
    expected = {call_id: _expected(world, sort, lambda a, c=call_id: a.call_id == c) for call_id in calls}
    assert api == expected[calls[0]] + expected[calls[1]]
    login(client, officer)
    for call_id in calls:
        ids, html = _page(client, f"/applications/?call_id={call_id}&sort={sort}")
        assert ids == expected[call_id]
        assert f'<option value="{sort}" selected>' in html
    # the whole list (staff read every application; only this world's are compared)
    ids, _html = _page(client, f"/applications/?sort={sort}")
    assert [i for i in ids if i in set(expected[calls[0]] + expected[calls[1]])] == _expected(world, sort,
                                                                                             _in_world(world))


@pytest.mark.parametrize(("query", "keep"), [
    ("state=draft", lambda w: lambda a: a.state == "draft"),
    ("state=in_evaluation", lambda w: lambda a: a.state == "in_evaluation"),
    ("si_stage=prototyping", lambda w: lambda a: a.si_stage == "prototyping"),
    ("q=kopiena", lambda w: lambda a: "kopiena" in a.title),
    ("call_id={first}&si_stage=idea_generation&q=kopiena",
     lambda w: lambda a: a.call_id == w["first"].id and a.si_stage == "idea_generation" and "kopiena" in a.title),
    ("call_id={second}&state=eligibility_review", lambda w: lambda a: a.call_id == w["second"].id
     and a.state == "eligibility_review"),
])
@pytest.mark.parametrize("sort", ("newest", "title", "submitted"))
def test_every_filter_and_their_combinations(client, world, length, query, keep, sort):
    query = query.format(first=world["first"].id, second=world["second"].id)
    rule = keep(world)
    expected = [i for i in _expected(world, sort, rule) if i in {a.id for a in world["items"].values()}]
    listed = _ids(client.get(f"/api/v1/applications?{query}&sort={sort}&per_page=200",
                             headers=bearer(world["officer"])))
    assert [i for i in listed if i in set(expected) | {a.id for a in world["items"].values()}] == expected
    login(client, world["officer"])
    ids, html = _page(client, f"/applications/?{query}&sort={sort}")
    assert [i for i in ids if i in {a.id for a in world["items"].values()}] == expected
    for key, values in parse_qs(query).items():  # the form shows what is applied
        if key == "q":
            assert f'value="{values[0]}"' in html
        else:
            assert f'<option value="{values[0]}" selected>' in html


def _links(html: str, rel: str | None = None, sort: str | None = None) -> list[dict[str, list[str]]]:
    if rel:
        hrefs = re.findall(rf'href="([^"]+)" rel="{rel}"', html)
    else:
        hrefs = re.findall(rf'href="([^"]+)" data-sort="{sort}"', html)
    return [parse_qs(urlsplit(htmllib.unescape(href)).query) for href in hrefs]


@pytest.mark.parametrize("filters", ("q=kopiena", "si_stage=idea_generation"))
@pytest.mark.parametrize("sort", SORTS)
def test_the_pager_and_the_order_links_keep_every_other_parameter(client, world, length, monkeypatch, sort,
                                                                   filters):
    monkeypatch.setattr(application_views, "PER_PAGE", 2)
    if length == "long":  # three rows, more than two: long, and a total (an estimate on PostgreSQL) of at least 3
        monkeypatch.setattr(paging, "EXACT_COUNT_UP_TO", 2)
    first = world["first"].id
    kept = {"call_id": [str(first)], **parse_qs(filters)}
    keep = (lambda a: "kopiena" in a.title) if filters.startswith("q=") else (lambda a: a.si_stage == "idea_generation")
    expected = _expected(world, sort, lambda a: a.call_id == first and keep(a))
    assert len(expected) == 3
    login(client, world["officer"])
    seen = []
    for page in (1, 2):
        ids, html = _page(client, f"/applications/?call_id={first}&{filters}&sort={sort}&page={page}")
        seen += ids
        if page == 1:
            (following,) = _links(html, "next")
            assert following == {**kept, "page": ["2"], **({"sort": [sort]} if sort != "newest" else {})}
            assert not _links(html, "prev")
        else:
            (previous,) = _links(html, "prev")
            assert previous == {**kept, "page": ["1"], **({"sort": [sort]} if sort != "newest" else {})}
            total = int(re.search(r'data-total="(\d+)"', html).group(1))  # PostgreSQL's estimate when long
            assert not _links(html, "next") or total > len(expected)
        for other in SORTS:  # the order links: the filters kept, the page not (a new order starts again)
            if other != sort:
                (link,) = _links(html, sort=other)
                assert link == {**kept, "sort": [other]}
        (back,) = re.findall(r'name="back" value="([^"]*)"', html)  # where a bulk action comes back to
        assert parse_qs(htmllib.unescape(back)) == {**kept, **({"page": ["2"]} if page == 2 else {}),
                                                    **({"sort": [sort]} if sort != "newest" else {})}
    assert seen == expected
    api = []
    for page in (1, 2, 3):
        api += _ids(client.get(f"/api/v1/applications?call_id={first}&{filters}&sort={sort}&per_page=2&page={page}",
                               headers=bearer(world["officer"])))
    assert api == expected


def test_a_long_list_by_submission_continues_with_the_never_submitted(client, world, monkeypatch):
    """Read in the submissions' order, the page that runs past the last submitted one takes the first never
    submitted ones, and the pages after take the rest (the offset counted from the submitted ones)."""
    monkeypatch.setattr(paging, "EXACT_COUNT_UP_TO", 0)
    expected = _expected(world, "submitted", _in_world(world))
    headers = bearer(world["officer"])
    ids = {a.id for a in world["items"].values()}
    pages = [[i for i in _ids(client.get(f"/api/v1/applications?sort=submitted&per_page=3&page={page}",
                                         headers=headers)) if i in ids] for page in (1, 2, 3, 4)]
    assert sum(pages, []) == expected  # five submitted, then three never submitted
    assert pages[1] == expected[3:6] and pages[2] == expected[6:] and pages[3] == []


def test_bad_values_fall_back_on_the_page_and_are_named_in_the_api(client, world):
    officer = world["officer"]
    login(client, officer)
    default, _html = _page(client, "/applications/")
    for query in ("state=nonsense", "sort=sideways", "si_stage=moon", "call_id=abc", "call_id=-4",
                  "call_id=99999999999999", "page=-3", "page=abc", "page=99999999999999",
                  "q=" + "x" * 500, "state=%E2%80%AE", "select=all&sort=;drop"):
        response = client.get(f"/applications/?{query}")
        assert response.status_code == 200, query
    assert _page(client, "/applications/?state=nonsense&sort=sideways&si_stage=moon&call_id=abc")[0] == default
    headers = bearer(officer)
    for query, field in (("state=nonsense", "state"), ("sort=sideways", "sort"), ("si_stage=moon", "si_stage"),
                         ("call_id=abc", "call_id"), ("call_id=0", "call_id"), ("per_page=500", "per_page"),
                         ("page=0", "page")):
        response = client.get(f"/api/v1/applications?{query}", headers=headers)
        assert response.status_code == 422, query
        assert field in response.get_json()["fields"], response.get_json()
    english = client.get("/api/v1/applications?sort=sideways", headers={**headers, "Accept-Language": "en"})
    assert "newest" in english.get_json()["fields"]["sort"][0]


@pytest.mark.parametrize("sort", SORTS)
def test_applicants_see_only_their_own_whatever_the_filters_and_the_order(client, world, length, sort):
    mine = world["mine"]
    own = _expected(world, sort, _mine_only(world))
    assert len(own) == 2
    headers = bearer(mine)
    assert _ids(client.get(f"/api/v1/applications?sort={sort}", headers=headers)) == own
    assert _ids(client.get(f"/api/v1/applications?sort={sort}&call_id={world['second'].id}", headers=headers)) == []
    assert _ids(client.get(f"/api/v1/applications?sort={sort}&q=kopiena", headers=headers)) == [
        i for i in own if i == world["items"]["a"].id]
    login(client, mine)
    ids, html = _page(client, f"/applications/?sort={sort}")
    assert ids == own
    assert _page(client, f"/applications/?sort={sort}&state=in_evaluation")[0] == []
    # published calls are offered (a draft call is not); no checkbox, no bulk action
    draft_call = make_call(status=CallStatus.DRAFT)
    html = _page(client, f"/applications/?sort={sort}")[1]
    assert f'<option value="{world["first"].id}"' in html and f'<option value="{world["second"].id}"' in html
    assert f'<option value="{draft_call.id}"' not in html
    assert 'name="ids"' not in html and "bulk" not in html


def test_the_filters_offer_the_calls_states_and_stages(client, world):
    draft_call = make_call(status=CallStatus.DRAFT)
    login(client, world["officer"])
    _ids_, html = _page(client, "/applications/?lang=en")
    for call in (world["first"], world["second"], draft_call):  # staff: every call
        assert f'<option value="{call.id}">{call.code} · {call.title_en}</option>' in html
    # the states of the workflows the calls pin, labelled as the workflow labels them
    assert '<option value="draft">' in html and '<option value="in_evaluation">' in html
    assert '<option value="prototyping">' in html
    lv = client.get("/applications/?lang=lv").get_data(as_text=True)
    assert "Vispirms jaunākās izmaiņas" in lv and "Pieprasītā summa, vispirms lielākā" in lv


def _counts(client, count_queries, paths, headers=None) -> list[int]:
    counts = []
    for path in paths:
        client.get(path, headers=headers)  # warm up (caches of the process)
        with count_queries() as counter:
            response = client.get(path, headers=headers)
        assert response.status_code == 200
        counts.append(counter.count)
    return counts


@pytest.mark.parametrize("sort", SORTS)
def test_the_statements_do_not_grow_with_the_rows(client, world, length, count_queries, sort):
    first = world["first"]
    officer, applicant = world["officer"], world["mine"]
    paths = [f"/applications/?sort={sort}", f"/applications/?sort={sort}&call_id={first.id}&q=kopiena"]
    api = [f"/api/v1/applications?sort={sort}", f"/api/v1/applications?sort={sort}&state=draft&si_stage="
           "idea_generation"]
    login(client, officer)
    before = _counts(client, count_queries, paths)
    before_api = _counts(client, count_queries, api, bearer(officer))
    before_own = _counts(client, count_queries, api, bearer(applicant))
    for i in range(12):  # more rows of every kind: submitted (twice, for some), drafts, of the applicant too
        application = make_application(first, title=f"Kopiena {i}", organisation=(
            applicant.organisations[0] if i % 4 == 0 else None))
        if i % 3:
            _submit(application, BASE + timedelta(minutes=100 + i))
    db.session.flush()
    assert _counts(client, count_queries, paths) == before
    assert _counts(client, count_queries, api, bearer(officer)) == before_api
    assert _counts(client, count_queries, api, bearer(applicant)) == before_own
    # no snapshot is read for a list
    with count_queries() as counter:
        client.get(f"/applications/?sort={sort}")
    assert not any("snapshot" in statement for statement in counter.statements)
