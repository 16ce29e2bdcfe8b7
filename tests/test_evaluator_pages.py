"""Evaluator pages: the dashboard, the conflict-of-interest gate, scoring and submitting, relations."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from grants.applications.attachments import add_attachment
from grants.core.db import db, utcnow
from grants.evaluations.models import Assignment, Relation
from grants.evaluations.services import STANDARD_DECLARATION, add_to_pool, auto_assign, declare
from grants.workflows.engine import fire
from tests.conftest import csrf_token_from
from tests.factories import (
    bearer,
    in_evaluation,
    login,
    make_application,
    make_evaluation_call,
    make_organisation,
    make_pool,
    make_user,
    review,
    scores_totalling,
)
from tests.test_attachments import pdf_bytes

SECRET_SUMMARY = "Slepenais kopsavilkums 7Q4"


@pytest.fixture
def officer(app):
    return make_user("officer")


def _assignments(application, *states):
    query = sa.select(Assignment).where(Assignment.application_id == application.id).order_by(Assignment.id)
    if states:
        query = query.where(Assignment.state.in_(states))
    return list(db.session.scalars(query).unique())


@pytest.fixture
def assigned(officer):
    """A call with three pool evaluators and one application in evaluation, assigned to two of them."""
    call = make_evaluation_call()
    pool = make_pool(call, 3, officer)
    application = in_evaluation(call, officer, summary=SECRET_SUMMARY)
    auto_assign(call, officer)
    first, second = _assignments(application)
    return call, pool, application, first, second


def _as(app, user):
    """A browser signed in as ``user``."""
    browser = app.test_client()
    login(browser, user)
    return browser


def _page(client, path):
    response = client.get(path)
    return response, response.get_data(as_text=True)


def _declare(client, assignment, has_conflict="no", statement=""):
    _, page = _page(client, f"/evaluations/assignments/{assignment.id}")
    return client.post(f"/evaluations/assignments/{assignment.id}/declaration",
                       data={"csrf_token": csrf_token_from(page), "has_conflict": has_conflict, "statement": statement})


def _review_data(page, scores=None, comments=None, summary="", action="save"):
    version = re.search(r'name="version"[^>]*value="(\d*)"', page)
    data = {"csrf_token": csrf_token_from(page), "summary": summary, "action": action,
            "version": version.group(1) if version else ""}
    for code, value in (scores or {}).items():
        data[f"score_{code}"] = str(value)
    for code, value in (comments or {}).items():
        data[f"comment_{code}"] = value
    return data


def _post_review(client, assignment, **kwargs):
    _, page = _page(client, f"/evaluations/assignments/{assignment.id}")
    return client.post(f"/evaluations/assignments/{assignment.id}", data=_review_data(page, **kwargs))


@pytest.mark.parametrize("path", ["/evaluations/", "/evaluations/relations"])
def test_only_evaluators_open_the_evaluator_pages(app, client, path):
    assert client.get(path).status_code == 302  # to the login page
    for role in ("applicant", "officer", "committee", "admin"):
        assert _as(app, make_user(role)).get(path).status_code == 403, role
    assert _as(app, make_user("evaluator")).get(path).status_code == 200


def test_only_the_evaluator_opens_an_assignment(app, assigned, officer):
    _call, _pool, _application, first, _second = assigned
    for user in (officer, make_user("admin"), first.application.organisation.memberships[0].user):
        assert _as(app, user).get(f"/evaluations/assignments/{first.id}").status_code == 403


def test_content_is_hidden_until_no_conflict_is_declared(app, assigned, officer):
    call, pool, application, first, second = assigned
    client = _as(app, first.evaluator)
    response, page = _page(client, f"/evaluations/assignments/{first.id}")
    assert response.status_code == 200
    assert application.organisation.name in page and application.title in page and call.code in page
    assert SECRET_SUMMARY not in page and 'id="application-content"' not in page
    assert f'action="/evaluations/assignments/{first.id}/declaration"' in page
    assert 'name="has_conflict"' in page
    with app.test_request_context():
        assert f'<blockquote class="declaration-text">{STANDARD_DECLARATION}</blockquote>' in page
    assert client.get(f"/applications/{application.id}").status_code == 403
    # Scoring before the declaration is refused and changes nothing.
    response = client.post(f"/evaluations/assignments/{first.id}",
                           data=_review_data(page, scores={"need": 5}))
    assert response.status_code == 409 and first.review is None
    # Another evaluator does not even learn that the assignment exists.
    outsider = next(e for e in pool if e.id not in (first.evaluator_id, second.evaluator_id))
    assert _as(app, second.evaluator).get(f"/evaluations/assignments/{first.id}").status_code == 404
    assert _as(app, outsider).get(f"/evaluations/assignments/{first.id}").status_code == 404

    response = _declare(client, first)
    assert response.status_code == 302
    db.session.refresh(first)
    assert first.state == "accepted" and first.has_conflict is False and first.declared_at is not None
    response, page = _page(client, f"/evaluations/assignments/{first.id}")
    assert SECRET_SUMMARY in page and 'id="application-content"' in page
    assert page.count('data-criterion="') == 5 and 'name="score_need"' in page and 'step="0.01"' in page
    assert 'max="25"' in page and 'value="submit"' in page and 'value="save"' in page
    assert client.get(f"/applications/{application.id}").status_code == 200
    # A second declaration is refused.
    response = client.post(f"/evaluations/assignments/{first.id}/declaration",
                           data={"csrf_token": csrf_token_from(page), "has_conflict": "yes", "statement": "x"})
    assert response.status_code == 409
    db.session.refresh(first)
    assert first.state == "accepted"
    # The applicant and the officer see the application as before.
    assert _as(app, application.organisation.memberships[0].user).get(
        f"/applications/{application.id}").status_code == 200
    assert _as(app, officer).get(f"/applications/{application.id}").status_code == 200


def test_declared_evaluator_downloads_the_submitted_files(client, officer):
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    application = make_application(call)
    applicant = application.organisation.memberships[0].user
    attachment = add_attachment(application, applicant, FileStorage(io.BytesIO(pdf_bytes()), filename="budzets.pdf",
                                                                    content_type="application/pdf"))
    fire(application, "submit", applicant)
    fire(application, "declare_eligible", officer)
    auto_assign(call, officer)
    first = _assignments(application)[0]
    login(client, first.evaluator)
    download = f"/applications/{application.id}/attachments/{attachment.id}"
    assert download not in client.get(f"/evaluations/assignments/{first.id}").get_data(as_text=True)
    assert client.get(download).status_code == 403
    _declare(client, first)
    page = client.get(f"/evaluations/assignments/{first.id}").get_data(as_text=True)
    assert download in page and "budzets.pdf" in page
    response = client.get(download)
    body = response.data
    response.close()
    assert response.status_code == 200 and body == pdf_bytes()


def test_declaring_a_conflict_recuses_and_brings_a_replacement(app, client, assigned):
    call, pool, application, first, second = assigned
    login(client, second.evaluator)
    response = _declare(client, second, has_conflict="yes", statement="   ")
    assert response.status_code == 422 and 'class="field has-error"' in response.get_data(as_text=True)
    db.session.refresh(second)
    assert second.state == "assigned"
    response = _declare(client, second, has_conflict="yes", statement="Mans brālis vada šo biedrību.")
    assert response.status_code == 302
    db.session.refresh(second)
    assert second.state == "recused" and second.has_conflict is True
    response, page = _page(client, f"/evaluations/assignments/{second.id}")
    assert response.status_code == 200 and 'id="recused"' in page and SECRET_SUMMARY not in page
    replacement = [a for a in _assignments(application, "assigned") if a.id != first.id]
    assert len(replacement) == 1 and replacement[0].replaces_id == second.id
    assert replacement[0].evaluator_id not in (first.evaluator_id, second.evaluator_id)
    assert client.get(f"/applications/{application.id}").status_code == 403
    # The replacement sees it on the dashboard.
    page = _as(app, replacement[0].evaluator).get("/evaluations/").get_data(as_text=True)
    assert f'data-assignment="{replacement[0].id}" data-state="assigned"' in page


@pytest.mark.parametrize(("value", "ok"), [("0", True), ("25", True), ("12.75", True), ("-0.01", False),
                                           ("25.01", False), ("abc", False), ("1.555", False)])
def test_scores_are_checked_at_the_boundaries(client, assigned, value, ok):
    _call, _pool, _application, first, _second = assigned
    declare(first, first.evaluator, False, "")
    db.session.commit()
    login(client, first.evaluator)
    response = _post_review(client, first, scores={"need": value, "novelty": "7"},
                            comments={"need": "Mans komentārs"}, summary="Kopsavilkums")
    db.session.refresh(first)
    if ok:
        assert response.status_code == 302
        assert first.review.scores["need"] == float(value) and first.review.scores["novelty"] == 7
        return
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    field = page[page.index('data-criterion="need"'):page.index('data-criterion="novelty"')]
    assert "has-error" in field and 'id="score_need-error"' in field
    assert f'value="{value}"' in field and "Mans komentārs" in field  # what was typed is kept
    assert 'id="score_novelty-error"' not in page
    assert first.review is None  # nothing saved


def test_a_refused_submission_keeps_the_draft_and_a_submitted_review_is_locked(client, assigned):
    _call, _pool, application, first, _second = assigned
    login(client, first.evaluator)
    _declare(client, first)
    assert _post_review(client, first, scores={"need": 10}).status_code == 302
    response = _post_review(client, first, scores={"need": 20, "novelty": 15}, comments={"need": "Pamatots."},
                            action="submit")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert 'id="review-error"' in page and page.count("<li>", page.index('class="reasons"')) >= 4
    db.session.refresh(first)
    assert first.state == "accepted" and first.review.scores == {"need": 20, "novelty": 15}
    assert first.review.comments == {"need": "Pamatots."}
    assert 'value="20"' in page  # the form still shows the draft
    # Complete it and submit, from the page the refusal showed.
    response = client.post(f"/evaluations/assignments/{first.id}",
                           data=_review_data(page, scores=scores_totalling(69), summary="Labs projekts.",
                                             action="submit"))
    assert response.status_code == 302
    db.session.refresh(first)
    assert first.state == "submitted" and first.review.submitted_at is not None
    response, page = _page(client, f"/evaluations/assignments/{first.id}")
    assert f'data-judged-hash="{application.latest_submission.content_hash}"' in page
    assert 'data-total="69.00"' in page and 'name="score_need"' not in page
    # Locked: another save is refused and changes nothing.
    response = client.post(f"/evaluations/assignments/{first.id}",
                           data={"csrf_token": csrf_token_from(page), "score_need": "1", "action": "save"})
    assert response.status_code == 409
    db.session.refresh(first)
    assert first.review.scores == scores_totalling(69)


def test_a_stale_draft_is_not_saved_over_a_newer_one(client, assigned):
    _call, _pool, _application, first, _second = assigned
    login(client, first.evaluator)
    _declare(client, first)
    assert _post_review(client, first, scores={"need": 10}).status_code == 302
    _, page = _page(client, f"/evaluations/assignments/{first.id}")
    stale = _review_data(page, scores={"need": 4})  # an older tab
    newer = client.post(f"/evaluations/assignments/{first.id}", data=_review_data(page, scores={"need": 5}))
    assert newer.status_code == 302
    response = client.post(f"/evaluations/assignments/{first.id}", data=stale)
    assert response.status_code == 409 and 'id="review-error"' in response.get_data(as_text=True)
    db.session.refresh(first)
    assert first.review.scores == {"need": 5}


def test_evaluators_never_see_each_others_reviews(app, client, assigned):
    _call, _pool, _application, first, second = assigned
    review(first, 90, summary="Pirmā vērtētāja kopsavilkums")
    declare(second, second.evaluator, False, "")
    db.session.commit()
    login(client, second.evaluator)
    _post_review(client, second, scores={"need": 11}, comments={"novelty": "Otrā vērtētāja piezīme"})
    page = client.get(f"/evaluations/assignments/{second.id}").get_data(as_text=True)
    assert "Pirmā vērtētāja kopsavilkums" not in page and "Labi pamatots." not in page
    assert first.evaluator.name not in page or first.evaluator.name == second.evaluator.name
    assert client.get(f"/evaluations/assignments/{first.id}").status_code == 404
    page = _as(app, first.evaluator).get(f"/evaluations/assignments/{first.id}").get_data(as_text=True)
    assert "Pirmā vērtētāja kopsavilkums" in page and "Otrā vērtētāja piezīme" not in page
    assert client.get(f"/api/v1/assignments/{second.id}/review", headers=bearer(first.evaluator)).status_code == 404


def _dashboard_data(officer, evaluator, calls: int, per_call: int):
    for _ in range(calls):
        call = make_evaluation_call()
        make_pool(call, 1, officer)
        add_to_pool(call, evaluator, officer)
        for _ in range(per_call):
            in_evaluation(call, officer)
        auto_assign(call, officer)


def test_dashboard_groups_highlights_overdue_and_its_queries_do_not_grow(client, officer, count_queries):
    evaluator = make_user("evaluator")
    _dashboard_data(officer, evaluator, 1, 2)
    login(client, evaluator)
    client.get("/evaluations/")
    with count_queries() as small:
        assert client.get("/evaluations/").status_code == 200
    _dashboard_data(officer, evaluator, 3, 3)
    mine = list(db.session.scalars(sa.select(Assignment).where(Assignment.evaluator_id == evaluator.id)
                                   .order_by(Assignment.id)).unique())
    assert len(mine) == 11
    review(mine[0], 80)
    declare(mine[1], evaluator, False, "")
    declare(mine[2], evaluator, True, "Esmu valdes loceklis.")
    late = mine[3]
    late.due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    with count_queries() as large:
        response = client.get("/evaluations/")
    assert response.status_code == 200
    assert large.count == small.count and large.count <= 15
    page = response.get_data(as_text=True)
    assert f'data-assignment="{late.id}" data-state="assigned" class="overdue" data-overdue="true"' in page
    assert page.count('data-overdue="true"') == 1
    assert f'data-assignment="{mine[0].id}" data-state="submitted"' in page
    assert f'data-assignment="{mine[1].id}" data-state="accepted"' in page
    assert f'data-assignment="{mine[2].id}"' not in page  # recused: only counted
    counts = dict(re.findall(r'data-count="(\w+)"><span class="meta">[^<]*</span> <strong>(\d+)</strong>', page))
    assert counts == {"pending": "8", "scoring": "1", "overdue": "1", "submitted": "1", "closed": "1"}
    assert f'href="/evaluations/assignments/{late.id}"' in page
    first_call = mine[0].call_id
    assert f'data-call="{first_call}" data-submitted="1" data-active="2"' in page


def test_relations_are_declared_listed_and_removed(app, client):
    evaluator = make_user("evaluator")
    owner = make_user("applicant")
    by_number = make_organisation(owner, name="Biedrība Numurs")
    by_choice = make_organisation(owner, name="Biedrība Izvēle")
    login(client, evaluator)
    page = client.get("/evaluations/relations").get_data(as_text=True)
    token = csrf_token_from(page)
    response = client.post("/evaluations/relations", data={"csrf_token": token, "registration_number": "999",
                                                          "organisation_id": "0", "description": "Valdē"})
    assert response.status_code == 422 and 'id="registration_number-error"' in response.get_data(as_text=True)
    response = client.post("/evaluations/relations", data={"csrf_token": token, "organisation_id": str(by_choice.id),
                                                          "description": ""})
    assert response.status_code == 422 and 'id="description-error"' in response.get_data(as_text=True)
    assert client.post("/evaluations/relations", data={
        "csrf_token": token, "registration_number": by_number.registration_number, "organisation_id": "0",
        "description": "Valdes loceklis"}).status_code == 302
    assert client.post("/evaluations/relations", data={
        "csrf_token": token, "organisation_id": str(by_choice.id),
        "description": "Māsa ir vadītāja"}).status_code == 302
    relations = list(db.session.scalars(sa.select(Relation).where(Relation.user_id == evaluator.id)
                                        .order_by(Relation.id)).unique())
    assert [(r.organisation_id, r.description) for r in relations] == [(by_number.id, "Valdes loceklis"),
                                                                       (by_choice.id, "Māsa ir vadītāja")]
    page = client.get("/evaluations/relations").get_data(as_text=True)
    assert "Biedrība Numurs" in page and "Māsa ir vadītāja" in page
    response = client.post(f"/evaluations/relations/{relations[0].id}/remove", data={"csrf_token": token})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Relation)
                             .where(Relation.user_id == evaluator.id)) == 1
    # Someone else's relation cannot be removed.
    client = _as(app, make_user("evaluator"))
    token = csrf_token_from(client.get("/evaluations/relations").get_data(as_text=True))
    response = client.post(f"/evaluations/relations/{relations[1].id}/remove", data={"csrf_token": token})
    assert response.status_code == 404


def test_a_relation_names_the_organisation_by_number_or_name_without_listing_them_all(app, client,
                                                                                       count_queries):
    evaluator = make_user("evaluator")
    owner = make_user("applicant")
    unique = make_organisation(owner, name="Biedrība Vienīgā")
    make_organisation(owner, name="Biedrība Dubultā")
    make_organisation(owner, name="biedrība dubultā")
    login(client, evaluator)
    with count_queries() as small:
        page = client.get("/evaluations/relations").get_data(as_text=True)
    # one text input, not a list of every organisation
    assert "<select" not in page and "Biedrība Vienīgā" not in page
    assert 'name="registration_number"' in page and 'name="organisation_id"' not in page
    for _ in range(5):
        make_organisation(owner)
    with count_queries() as large:
        client.get("/evaluations/relations")
    assert large.count == small.count
    token = csrf_token_from(page)
    ambiguous = client.post("/evaluations/relations", data={
        "csrf_token": token, "registration_number": "Biedrība Dubultā", "description": "Valdē"})
    assert ambiguous.status_code == 422
    assert 'id="registration_number-error"' in ambiguous.get_data(as_text=True)
    unknown = client.post("/evaluations/relations", data={"csrf_token": token, "registration_number": "Nav tādas",
                                                          "description": "Valdē"})
    assert unknown.status_code == 422 and 'id="registration_number-error"' in unknown.get_data(as_text=True)
    empty = client.post("/evaluations/relations", data={"csrf_token": token, "registration_number": "",
                                                        "description": "Valdē"})
    assert empty.status_code == 422 and 'id="registration_number-error"' in empty.get_data(as_text=True)
    bad = client.post("/evaluations/relations", data={"csrf_token": token, "organisation_id": "abc",
                                                      "registration_number": "x" * 400, "description": "Valdē"})
    assert bad.status_code == 422
    assert client.post("/evaluations/relations", data={
        "csrf_token": token, "registration_number": "  BIEDRĪBA vienīgā ", "description": "Valdes loceklis"},
    ).status_code == 302
    [relation] = db.session.scalars(sa.select(Relation).where(Relation.user_id == evaluator.id)).unique().all()
    assert relation.organisation_id == unique.id

