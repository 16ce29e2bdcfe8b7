"""Full-text search (issue 15 item 2): the staff applications list and its API, the grants list and the
public registry find words whatever the case and the Latvian diacritics, the last word as a prefix, every
word required; what a person types is never query syntax; a rename through its service is found at once;
the lists keep their permissions, filters and query counts; the migration fills and removes it all."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from grants import create_app
from grants.applications.models import Application
from grants.applications.search import application_search_text, newest_first_matching
from grants.applications.services import update_application
from grants.core import search
from grants.core.db import db, today
from grants.decisions.models import Decision, Outcome
from grants.initiatives.models import Initiative
from grants.initiatives.search import initiative_search_text
from grants.initiatives.services import update_initiative
from grants.organisations.services import update_organisation
from tests.conftest import csrf_token_from, throwaway_database
from tests.factories import bearer, login, make_application, make_call, make_initiative, make_organisation, make_user

#: Search texts that are query syntax in tsquery, FTS5 MATCH, LIKE or a regular expression.
HOSTILE = ["'", '"', "''", '""', "*", "darb*", ":*", "a:b", "darb:*", "&", "|", "!", "!darb", "(", ")", "(darb",
           "a & b", "a | b", "a <-> b", "<->", "NEAR(darbs klubs)", "NEAR", "AND", "OR", "NOT", "darbs AND",
           "OR darbs", "darbs NOT klubs", "\\", "\\'", "'; DROP TABLE applications; --", "%", "_", "%_%", "^darbs",
           "title:darbs", "search_text:x", "{title}: x", "-darbs", "+darbs", "[a-z]", ".*", "$1", "?", "🙂", "ǅ",
           "x" * 200, " ".join(["darbs"] * 60)[:200], "a" * 101]


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


# --- the words ------------------------------------------------------------------------------------------

def test_text_is_folded_into_plain_lower_case_words():
    assert search.fold("SIEVIEŠU Ģimeņu ĶĒĶIS ļaudis Ŗ ō Ūdens žurka čūska") == \
        "sieviesu gimenu kekis laudis r o udens zurka cuska"
    assert search.search_text("Biedrība \"Rīgas Kopiena\"", None, "Sociālā darbnīca (2026–2027)!") == \
        "biedriba rigas kopiena sociala darbnica 2026 2027"
    # Decomposed letters (s + combining caron) fold as the composed ones do.
    assert search.words("Sievies\u030cu") == ["sieviesu"]
    assert search.words("a_b c-d e.f x@y.lv") == ["a", "b", "c", "d", "e", "f", "x", "y", "lv"]
    assert search.words("x" * 101) == [] and search.words("x" * 100) == ["x" * 100]


def test_only_quoted_words_reach_the_query_syntax():
    assert search.tsquery(search.query_words("Sieviešu DARB")) == "'sieviesu' & 'darb':*"
    assert search.fts5_query(search.query_words("Sieviešu DARB")) == '"sieviesu" AND "darb"*'
    assert search.query_words("NEAR(a OR b) AND !c & d:* 'e'") == ["near", "a", "or", "b", "and", "c", "d", "e"]
    assert search.query_words("* : & | ! ( ) \" ' %") == []
    # A one-letter last word is a whole word (as a prefix it would match most rows).
    assert search.tsquery(["darba", "s"]) == "'darba' & 's'" and search.fts5_query(["s"]) == '"s"'
    assert len(search.query_words(" ".join(f"w{i}" for i in range(40)))) == search.MAX_QUERY_WORDS


# --- the applications list and its API -----------------------------------------------------------------

@pytest.fixture
def world(app):
    """Three applications of two organisations, an officer and each organisation's applicant."""
    mine, theirs = make_user("applicant"), make_user("applicant")
    women = make_organisation(mine, name="Biedrība \"Sieviešu Atbalsts\"")
    other = make_organisation(theirs, name="Nodibinājums Ērgļu fonds")
    call = make_call()
    items = {
        "work": make_application(call, women, title="Darba prasmes sievietēm",
                                 initiative=make_initiative(women, title="Ģimeņu centrs")),
        "club": make_application(call, women, title="Senioru klubs", state="submitted",
                                 initiative=make_initiative(women, title="Kopienas māja")),
        "eagle": make_application(make_call(), other, title="SIEVIEŠU darbnīca Ērgļos",
                                  initiative=make_initiative(other, title="Darbnīca")),
    }
    return {"items": items, "mine": mine, "theirs": theirs, "officer": make_user("officer"), "call": call,
            "women": women, "other": other}


def _api(client, world, query, who="officer"):
    return _ids(client.get(f"/api/v1/applications?{query}", headers=bearer(world[who])))


def _page_ids(client, path) -> list[int]:
    import re

    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [int(i) for i in re.findall(r'href="/applications/(\d+)"', response.get_data(as_text=True))]


def test_applications_are_found_whatever_the_case_and_the_diacritics(client, world):
    work, club, eagle = (world["items"][key].id for key in ("work", "club", "eagle"))
    assert set(_api(client, world, "q=sieviesu")) == {work, club, eagle}  # titles and organisation name
    assert set(_api(client, world, "q=SIEVIEŠU")) == {work, club, eagle}
    assert set(_api(client, world, "q=Sieviešu")) == {work, club, eagle}
    assert _api(client, world, "q=erglos") == [eagle]  # stored with diacritics, typed without
    assert _api(client, world, "q=gimenu") == [work]  # the initiative's title
    assert _api(client, world, "q=ĢIMEŅU") == [work]
    assert _api(client, world, "q=%C4%A2ime%C5%86u") == [work]


def test_the_last_word_is_a_prefix_and_every_word_is_needed(client, world):
    work, club, eagle = (world["items"][key].id for key in ("work", "club", "eagle"))
    assert set(_api(client, world, "q=darb")) == {work, eagle}
    assert _api(client, world, "q=senior") == [club]
    assert _api(client, world, "q=darba sievi") == [work]  # two words, the second a prefix
    assert _api(client, world, "q=darb sievietem") == []  # only the last word is a prefix
    assert _api(client, world, "q=klubs atbalsts") == [club]  # one word in the title, one in the organisation
    assert _api(client, world, "q=klubs fonds") == []
    assert _api(client, world, "q=darbnica erg") == [eagle]


def test_the_search_keeps_the_filters_the_permissions_and_the_order(client, world, session):
    work, club, eagle = (world["items"][key].id for key in ("work", "club", "eagle"))
    call_id = world["call"].id
    assert set(_api(client, world, f"q=sieviesu&call_id={call_id}")) == {work, club}
    assert _api(client, world, "q=sieviesu&state=submitted") == [club]
    # An applicant finds only their organisation's applications, whatever the words.
    assert set(_api(client, world, "q=sieviesu", who="mine")) == {work, club}
    assert _api(client, world, "q=sieviesu", who="theirs") == [eagle]
    assert _api(client, world, "q=klubs", who="theirs") == []
    # Newest change first, as without a search; pages and totals of the matches.
    world["items"]["work"].updated_at = world["items"]["club"].updated_at + timedelta(seconds=5)
    session.flush()
    listed = client.get(f"/api/v1/applications?q=sieviesu&call_id={call_id}&per_page=1",
                        headers=bearer(world["officer"])).get_json()
    assert listed["total"] == 2 and [item["id"] for item in listed["items"]] == [work]
    second = client.get(f"/api/v1/applications?q=sieviesu&call_id={call_id}&per_page=1&page=2",
                        headers=bearer(world["officer"])).get_json()
    assert [item["id"] for item in second["items"]] == [club]


def test_the_applications_page_searches_and_keeps_the_words(client, world):
    work, club, eagle = (world["items"][key].id for key in ("work", "club", "eagle"))
    login(client, world["officer"])
    assert set(_page_ids(client, "/applications/?q=sieviesu")) == {work, club, eagle}
    assert _page_ids(client, "/applications/?q=GIMEN") == [work]
    html = client.get("/applications/?q=Ģimeņu").get_data(as_text=True)
    assert 'value="Ģimeņu"' in html and 'role="search"' in html
    empty = client.get("/applications/?q=nekas+t%C4%81ds").get_data(as_text=True)
    assert 'data-empty="search"' in empty
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/calls/").get_data(as_text=True))})
    login(client, world["theirs"])
    assert _page_ids(client, "/applications/?q=sieviesu") == [eagle]


def test_the_search_adds_no_statement(client, world, count_queries):
    headers = bearer(world["officer"])
    client.get("/api/v1/applications", headers=headers)  # warm up
    with count_queries() as without:
        client.get("/api/v1/applications", headers=headers)
    with count_queries() as with_search:
        assert len(_ids(client.get("/api/v1/applications?q=sieviesu darb", headers=headers))) == 2
    assert with_search.count == without.count
    login(client, world["officer"])
    client.get("/applications/")
    with count_queries() as page_without:
        client.get("/applications/")
    with count_queries() as page_with:
        client.get("/applications/?q=sieviesu")
    assert page_with.count == page_without.count


@pytest.mark.parametrize("text", HOSTILE)
def test_query_syntax_typed_in_is_plain_text_everywhere(client, world, text):
    officer = bearer(world["officer"])
    for path in ("/api/v1/applications", "/api/v1/grants", "/api/v1/registry/initiatives"):
        response = client.get(path, query_string={"q": text}, headers=officer)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        assert isinstance(response.get_json()["items"], list)
    login(client, world["officer"])
    for path in ("/applications/", "/grants/", "/registry/"):
        response = client.get(path, query_string={"q": text})
        assert response.status_code == 200, (path, response.status_code)


def test_a_search_of_only_operators_finds_nothing(client, world):
    for text in ("*", "&|!", "'\"", "%", "( )"):
        assert _api(client, world, f"q={text.replace('%', '%25').replace('&', '%26')}") == []
    assert len(_api(client, world, "q=")) == 3 and len(_api(client, world, "q=%20%20")) == 3  # no search


# --- a rename is found at once ------------------------------------------------------------------------

def test_a_renamed_application_organisation_or_initiative_is_found_by_its_new_words(client, world, session):
    work = world["items"]["work"]
    update_application(work, world["mine"], {"title": "Amatu skola"}, work.version)
    assert _api(client, world, "q=amatu skola") == [work.id]
    assert _api(client, world, "q=darba prasmes") == []

    version = work.version
    update_organisation(world["women"], {"name": "Biedrība Ūdensroze"}, world["mine"])
    assert set(_api(client, world, "q=udensroze")) == {work.id, world["items"]["club"].id}
    assert _api(client, world, "q=atbalsts") == []
    assert work.version == version  # the application itself did not change
    assert session.scalar(sa.select(Initiative.search_text).where(Initiative.id == work.initiative_id)) == \
        "gimenu centrs biedriba udensroze"

    initiative = work.initiative
    update_initiative(initiative, world["mine"], {"title": "Jauniešu centrs"}, initiative.version)
    assert _api(client, world, "q=jauniesu") == [work.id]
    assert _api(client, world, "q=gimenu") == []
    session.expire_all()
    assert session.get(Application, work.id).search_text == "amatu skola biedriba udensroze jauniesu centrs"


def test_one_flush_renaming_both_an_organisation_and_its_application_keeps_both(client, world, session):
    work = world["items"]["work"]
    world["women"].name = "Lauku sievas"
    work.title = "Maizes cepšana"
    work.initiative.title = "Maizes māja"
    session.flush()
    assert _api(client, world, "q=lauku maizes cepsana maja") == [work.id]
    assert _api(client, world, "q=senioru lauku") == [world["items"]["club"].id]


# --- the grants list and the registry -----------------------------------------------------------------

def _approve(application, committee):
    db.session.add(Decision(application_id=application.id, outcome=Outcome.APPROVED, amount=Decimal("1000.00"),
                            decided_on=today(), decided_by_id=committee.id))
    db.session.flush()


def test_the_grants_list_finds_words_and_agreement_numbers(client, world, session):
    from grants.grants_mgmt.models import GrantAgreement

    committee = make_user("committee")
    work, eagle = world["items"]["work"], world["items"]["eagle"]
    for application in (work, eagle):
        _approve(application, committee)
    session.add(GrantAgreement(application_id=work.id, programme_id=work.call.programme_id, sequence=77,
                               number="SI-2026/0077", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                               awarded_amount=Decimal("1000.00"), co_financing_rate=Decimal("10.00"), tranches=[]))
    session.flush()
    officer = bearer(world["officer"])

    def grant_ids(query):
        response = client.get("/api/v1/grants", query_string={"q": query}, headers=officer)
        assert response.status_code == 200, response.get_json()
        return sorted(item["application_id"] for item in response.get_json()["items"])

    assert grant_ids("sieviesu") == sorted([work.id, eagle.id])
    assert grant_ids("ERGL") == [eagle.id]
    assert grant_ids("2026/00") == [work.id]  # a piece of the agreement number, as typed
    assert grant_ids("si-2026/0077") == [work.id]
    assert grant_ids("senioru") == []  # not approved
    login(client, world["officer"])
    html = client.get("/grants/?q=ģimeņu").get_data(as_text=True)
    assert "Darba prasmes sievietēm" in html and "SIEVIEŠU darbnīca Ērgļos" not in html


def test_the_registry_finds_a_renamed_initiative_and_organisation_at_once(client, world, session):
    committee = make_user("committee")
    _approve(world["items"]["eagle"], committee)
    eagle = world["items"]["eagle"].initiative
    registry = "/api/v1/registry/initiatives"
    assert _ids(client.get(f"{registry}?q=darbnica")) == [eagle.id]
    assert _ids(client.get(f"{registry}?q=erglu fond")) == [eagle.id]
    assert _ids(client.get(f"{registry}?q=gimenu")) == []  # not funded
    update_initiative(eagle, world["theirs"], {"title": "Kokapstrādes skola", "description": "Galdniecība."},
                      eagle.version)
    assert _ids(client.get(f"{registry}?q=kokapstrades")) == [eagle.id]
    assert _ids(client.get(f"{registry}?q=GALDNIECIBA")) == [eagle.id]
    assert _ids(client.get(f"{registry}?q=darbnica")) == []
    update_organisation(world["other"], {"name": "Nodibinājums Ozols"}, world["theirs"])
    assert _ids(client.get(f"{registry}?q=ozols kokapstr")) == [eagle.id]
    assert _ids(client.get(f"{registry}?q=erglu")) == []


# --- the indexes and the migration ---------------------------------------------------------------------

def test_the_index_answers_the_search(app, world, session):
    conditions = [(Application.__table__, "sieviesu darb"), (Initiative.__table__, "gimenu")]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        for table, words in conditions:
            statement = sa.select(table.c.id).where(search.matches(table, words))
            plan = "\n".join(session.execute(sa.text("EXPLAIN " + str(statement.compile(
                session.get_bind(), compile_kwargs={"literal_binds": True})))).scalars())
            assert f"ix_{table.name}_search" in plan, plan
        # The searched list is sorted after the index found the matches, never read in the order of changes
        # testing each row (which reads the whole table for a word nobody used).
        listed = newest_first_matching(sa.select(Application.id).order_by(Application.updated_at.desc()), "zzz")
        plan = "\n".join(session.execute(sa.text("EXPLAIN " + str(listed.limit(50).compile(
            session.get_bind(), compile_kwargs={"literal_binds": True})))).scalars())
        assert "ix_applications_search" in plan and "updated_at" not in plan.split("Sort Key")[0], plan
    else:
        for table, words in conditions:
            statement = sa.select(table.c.id).where(search.matches(table, words))
            plan = " ".join(str(row[-1]) for row in session.execute(sa.text("EXPLAIN QUERY PLAN " + str(
                statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})))))
            assert "VIRTUAL TABLE INDEX" in plan and f"{table.name}_fts" in plan, plan


def test_the_migration_fills_the_words_of_existing_rows_and_goes_down_and_up(tmp_path):
    with throwaway_database(tmp_path) as url:
        app = create_app("testing", DATABASE_URL=url)
        with app.app_context():
            upgrade(revision="0014_audit_verifications")
            with db.engine.begin() as connection:
                connection.execute(sa.text(
                    "INSERT INTO organisations (id, name, registration_number, legal_form, region, country, address, "
                    "contact_email, contact_phone, website, created_at) VALUES (1, 'Biedrība \"Sieviešu Atbalsts\"', "
                    "'40000000001', 'association', 'riga', 'LV', '', '', '', '', CURRENT_TIMESTAMP)"))
                connection.execute(sa.text(
                    "INSERT INTO initiatives (id, organisation_id, title, description, stage_model, current_stage, "
                    "workflow_name, workflow_version, version, theme, target_groups, created_at) VALUES "
                    "(1, 1, 'Ģimeņu centrs', 'Darbnīcas ģimenēm', 'open_book', 'idea_generation', 'initiative', "
                    "1, 1, '', '[]', CURRENT_TIMESTAMP)"))
            upgrade()
            with db.engine.connect() as connection:
                assert connection.execute(sa.text("SELECT search_text FROM initiatives")).scalar_one() == \
                    "gimenu centrs darbnicas gimenem biedriba sieviesu atbalsts"
                assert initiative_search_text("Ģimeņu centrs", "Darbnīcas ģimenēm",
                                              "Biedrība \"Sieviešu Atbalsts\"") == \
                    "gimenu centrs darbnicas gimenem biedriba sieviesu atbalsts"
            with app.test_request_context():
                assert db.session.scalars(sa.select(Initiative.id).where(
                    search.matches(Initiative.__table__, "DARBNĪC"))).all() == [1]
                db.session.remove()
            downgrade(revision="0014_audit_verifications")
            inspector = sa.inspect(db.engine)
            assert "search_text" not in {column["name"] for column in inspector.get_columns("applications")}
            assert "search_text" not in {column["name"] for column in inspector.get_columns("initiatives")}
            assert not [name for name in inspector.get_table_names() if "_fts" in name]
            upgrade()
            with app.test_request_context():
                assert db.session.scalars(sa.select(Initiative.id).where(
                    search.matches(Initiative.__table__, "sieviesu atbal"))).all() == [1]
                db.session.remove()
            db.engine.dispose()


def test_the_words_the_bench_builder_writes_are_the_services(world, session):
    work = world["items"]["work"]
    session.expire_all()
    work = session.get(Application, work.id)
    assert work.search_text == application_search_text(work.title, work.organisation.name, work.initiative.title)
    initiative = work.initiative
    assert initiative.search_text == initiative_search_text(initiative.title, initiative.description,
                                                            initiative.organisation.name)
