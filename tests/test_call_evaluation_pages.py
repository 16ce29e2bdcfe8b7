"""The officer's evaluation pages of a call: rubric editor, evaluator pool, assignments, dashboard."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.calls.models import CallStatus
from grants.core.db import db
from grants.evaluations.models import Assignment, EvaluationResult, PoolMember
from grants.evaluations.rubrics import default_rubric
from grants.evaluations.services import auto_assign
from grants.organisations.models import Membership
from tests.conftest import csrf_token_from
from tests.factories import (
    in_evaluation,
    login,
    make_evaluation_call,
    make_pool,
    make_user,
    review,
)

HASH_RE = re.compile(r'name="rubric_hash"[^>]*value="([0-9a-f]{64})"')


@pytest.fixture
def officer(app):
    return make_user("officer")


@pytest.fixture
def officer_client(app, officer):
    client = app.test_client()
    login(client, officer)
    return client


def _client_for(app, *roles):
    client = app.test_client()
    login(client, make_user(*roles))
    return client


def _assignments(application, *states):
    query = sa.select(Assignment).where(Assignment.application_id == application.id).order_by(Assignment.id)
    if states:
        query = query.where(Assignment.state.in_(states))
    return list(db.session.scalars(query).unique())


def _events(action: str, object_id) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action,
                                                               AuditEvent.object_id == str(object_id))))


# --- the rubric ---------------------------------------------------------------------------------------

def _rubric_post(page: str, rubric: dict, **settings) -> dict[str, str]:
    """The editor's form data for ``rubric`` (plus the empty extra row), as a browser would send it."""
    data = {"csrf_token": csrf_token_from(page), "rubric_hash": HASH_RE.search(page).group(1),
            "threshold": str(rubric["threshold"]), "evaluators_required": str(rubric["evaluators_required"]),
            "discrepancy_percent": str(rubric["discrepancy_percent"]), "review_days": str(rubric["review_days"]),
            "tie_break": rubric["tie_break"], "stages": ""}
    rows = list(rubric["criteria"]) + [{}]
    for index, criterion in enumerate(rows):
        for name in ("code", "title_lv", "title_en", "guidance_lv", "guidance_en", "max_points", "weight",
                     "min_points"):
            value = criterion.get(name)
            data[f"criteria-{index}-{name}"] = "" if value is None else str(value)
    data.update(settings)
    return data


def test_officer_edits_the_rubric_of_a_draft_call_and_it_is_audited(officer_client):
    call = make_evaluation_call(status=CallStatus.DRAFT)
    page = officer_client.get(f"/calls/{call.id}/rubric")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="criteria-5-code"' in html  # five criteria and an empty row to add one
    data = _rubric_post(html, default_rubric(), threshold="55", tie_break="lower_amount",
                        **{"criteria-4-remove": "y",  # drop "budget"
                           "criteria-5-code": "impact", "criteria-5-title_lv": "Ietekme",
                           "criteria-5-title_en": "Impact", "criteria-5-max_points": "20",
                           "criteria-5-weight": "1,5"})
    response = officer_client.post(f"/calls/{call.id}/rubric", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(call)
    assert [c["code"] for c in call.rubric["criteria"]] == ["need", "novelty", "change", "capacity", "impact"]
    assert call.rubric["criteria"][-1]["weight"] == 1.5
    assert call.rubric["threshold"] == 55 and call.rubric["tie_break"] == "lower_amount"
    [event] = _events("call.rubric_update", call.id)
    assert event.actor_id is not None
    assert event.payload["changes"]["threshold"] == [60, 55]
    assert set(event.payload["changes"]) == {"threshold", "tie_break", "criteria"}


def test_a_bad_rubric_is_refused_per_field_and_the_input_kept(officer_client):
    call = make_evaluation_call(status=CallStatus.DRAFT)
    html = officer_client.get(f"/calls/{call.id}/rubric").get_data(as_text=True)
    data = _rubric_post(html, default_rubric(), threshold="500", evaluators_required="zero",
                        **{"criteria-1-max_points": "abc", "criteria-2-code": "Bad Code"})
    response = officer_client.post(f"/calls/{call.id}/rubric", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field in ("criteria-1-max_points", "criteria-2-code", "threshold", "evaluators_required"):
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', page), field
    assert 'value="abc"' in page and 'value="Bad Code"' in page and 'value="zero"' in page
    db.session.refresh(call)
    assert call.rubric == default_rubric()
    assert _events("call.rubric_update", call.id) == []


def test_stage_rubrics_as_json_and_bad_json_is_refused(officer_client):
    call = make_evaluation_call(status=CallStatus.DRAFT)
    html = officer_client.get(f"/calls/{call.id}/rubric").get_data(as_text=True)
    bad = officer_client.post(f"/calls/{call.id}/rubric", data=_rubric_post(html, default_rubric(), stages="{oops"))
    assert bad.status_code == 422 and 'id="stages"' in bad.get_data(as_text=True)
    unknown = officer_client.post(f"/calls/{call.id}/rubric", data=_rubric_post(
        html, default_rubric(), stages='{"scaling": {"criteria": [], "threshold": 1}}'))
    assert unknown.status_code == 422  # the call does not fund "scaling"
    stage = {"idea_generation": {"criteria": [{"code": "idea", "title_lv": "Ideja", "title_en": "Idea",
                                               "max_points": 10}], "threshold": 5}}
    import json

    saved = officer_client.post(f"/calls/{call.id}/rubric",
                                data=_rubric_post(html, default_rubric(), stages=json.dumps(stage)))
    assert saved.status_code == 302
    db.session.refresh(call)
    assert call.rubric["stages"]["idea_generation"]["threshold"] == 5


def test_a_stale_rubric_edit_is_refused(officer_client):
    call = make_evaluation_call(status=CallStatus.DRAFT)
    html = officer_client.get(f"/calls/{call.id}/rubric").get_data(as_text=True)
    assert officer_client.post(f"/calls/{call.id}/rubric",
                               data=_rubric_post(html, default_rubric(), threshold="50")).status_code == 302
    stale = officer_client.post(f"/calls/{call.id}/rubric", data=_rubric_post(html, default_rubric(), threshold="40"))
    assert stale.status_code == 409
    db.session.refresh(call)
    assert call.rubric["threshold"] == 50


def test_a_published_rubric_is_read_only(officer_client, app):
    call = make_evaluation_call()  # published
    page = officer_client.get(f"/calls/{call.id}/rubric")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-rubric="frozen"' in html
    assert 'name="criteria-0-code"' not in html and 'data-criterion="need"' in html
    draft = make_evaluation_call(status=CallStatus.DRAFT)
    form_page = officer_client.get(f"/calls/{draft.id}/rubric").get_data(as_text=True)
    data = _rubric_post(form_page, default_rubric(), threshold="10")
    refused = officer_client.post(f"/calls/{call.id}/rubric", data=data)
    assert refused.status_code == 409
    db.session.refresh(call)
    assert call.rubric["threshold"] == 60
    # Any staff member reads the rubric; applicants and evaluators do not.
    assert _client_for(app, "committee").get(f"/calls/{call.id}/rubric").status_code == 200
    assert _client_for(app, "applicant").get(f"/calls/{call.id}/rubric").status_code == 403
    assert _client_for(app, "evaluator").get(f"/calls/{call.id}/rubric").status_code == 403
    auditor = _client_for(app, "auditor")
    assert auditor.get(f"/calls/{draft.id}/rubric").status_code == 200
    assert 'name="criteria-0-code"' not in auditor.get(f"/calls/{draft.id}/rubric").get_data(as_text=True)


# --- the pool -----------------------------------------------------------------------------------------

def test_pool_add_remove_and_refuse_a_non_evaluator(officer_client, officer):
    call = make_evaluation_call()
    evaluator = make_user("evaluator", name="Eva Vērtētāja")
    applicant = make_user("applicant", name="Ance")
    page = officer_client.get(f"/calls/{call.id}/evaluators").get_data(as_text=True)
    assert f'<option value="{evaluator.id}"' in page and f'<option value="{applicant.id}"' not in page
    added = officer_client.post(f"/calls/{call.id}/evaluators",
                                data={"csrf_token": csrf_token_from(page), "user_id": evaluator.id})
    assert added.status_code == 302
    members = db.session.scalars(sa.select(PoolMember.user_id).where(PoolMember.call_id == call.id)).all()
    assert members == [evaluator.id]
    refused = officer_client.post(f"/calls/{call.id}/evaluators",
                                  data={"csrf_token": csrf_token_from(page), "user_id": applicant.id})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    listed = officer_client.get(f"/calls/{call.id}/evaluators").get_data(as_text=True)
    assert f'data-evaluator="{evaluator.id}"' in listed
    removed = officer_client.post(f"/calls/{call.id}/evaluators/{evaluator.id}/remove",
                                  data={"csrf_token": csrf_token_from(listed)})
    assert removed.status_code == 302
    assert db.session.scalars(sa.select(PoolMember).where(PoolMember.call_id == call.id)).all() == []
    assert len(_events("call.evaluator_removed", call.id)) == 1


def test_pool_shows_open_workload(officer_client, officer):
    call = make_evaluation_call()
    [evaluator] = make_pool(call, 1, officer)
    in_evaluation(call, officer)
    in_evaluation(call, officer)
    auto_assign(call, officer)
    page = officer_client.get(f"/calls/{call.id}/evaluators").get_data(as_text=True)
    row = page[page.index(f'data-evaluator="{evaluator.id}"'):]
    assert 'data-open="2"' in row[:600] and 'data-open-in-call="2"' in row[:600]


# --- assignments ----------------------------------------------------------------------------------------

def test_auto_assign_from_the_page_reports_shortfalls_and_avoids_the_applicant(officer_client, officer):
    call = make_evaluation_call()
    evaluators = make_pool(call, 2, officer)
    first, second = in_evaluation(call, officer), in_evaluation(call, officer)
    db.session.add(Membership(user_id=evaluators[0].id, organisation_id=first.organisation_id))
    db.session.flush()
    page = officer_client.get(f"/calls/{call.id}/assignments").get_data(as_text=True)
    assert 'data-action="auto-assign"' in page
    response = officer_client.post(f"/calls/{call.id}/assignments/auto", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert {a.evaluator_id for a in _assignments(first)} == {evaluators[1].id}
    assert len(_assignments(second)) == 2
    after = officer_client.get(f"/calls/{call.id}/assignments").get_data(as_text=True)
    assert re.search(r'class="flash flash-success">[^<]*3', after)
    assert f'data-short-application="{first.id}"' in after
    assert f'data-short-application="{second.id}"' not in after
    for assignment in _assignments(first) + _assignments(second):
        assert f'data-assignment="{assignment.id}"' in after


def test_reassign_needs_a_comment_is_audited_and_makes_a_replacement(officer_client, officer):
    call = make_evaluation_call()
    make_pool(call, 3, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    first = _assignments(application)[0]
    page = officer_client.get(f"/calls/{call.id}/assignments").get_data(as_text=True)
    token = csrf_token_from(page)
    url = f"/calls/{call.id}/assignments/{first.id}/reassign"
    refused = officer_client.post(url, data={"csrf_token": token, f"r{first.id}-comment": "  "})
    assert refused.status_code == 422
    db.session.refresh(first)
    assert first.state == "assigned"
    done = officer_client.post(url, data={"csrf_token": token, f"r{first.id}-comment": "Slimības dēļ nevar.",
                                          f"r{first.id}-evaluator_id": ""})
    assert done.status_code == 302
    db.session.refresh(first)
    assert first.state == "withdrawn"
    [event] = _events("assignment.withdraw_assignment", first.id)
    assert event.comment == "Slimības dēļ nevar." and event.actor_id == officer.id
    replacement = [a for a in _assignments(application, "assigned") if a.replaces_id == first.id]
    assert len(replacement) == 1 and replacement[0].evaluator_id != first.evaluator_id


def test_reassign_to_a_chosen_evaluator_refuses_a_conflicted_one(officer_client, officer):
    call = make_evaluation_call()
    evaluators = make_pool(call, 4, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    first = _assignments(application)[0]
    free = [e for e in evaluators if e.id not in {a.evaluator_id for a in _assignments(application)}]
    db.session.add(Membership(user_id=free[0].id, organisation_id=application.organisation_id))
    db.session.flush()
    token = csrf_token_from(officer_client.get(f"/calls/{call.id}/assignments").get_data(as_text=True))
    url = f"/calls/{call.id}/assignments/{first.id}/reassign"
    refused = officer_client.post(url, data={"csrf_token": token, f"r{first.id}-comment": "Cits vērtētājs.",
                                             f"r{first.id}-evaluator_id": str(free[0].id)})
    assert refused.status_code == 422
    db.session.refresh(first)
    assert first.state == "assigned"
    done = officer_client.post(url, data={"csrf_token": token, f"r{first.id}-comment": "Cits vērtētājs.",
                                          f"r{first.id}-evaluator_id": str(free[1].id)})
    assert done.status_code == 302
    [replacement] = [a for a in _assignments(application) if a.replaces_id == first.id]
    assert replacement.evaluator_id == free[1].id and replacement.reason == "replacement"


def test_return_a_submitted_review_for_correction(officer_client, officer):
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    submitted = review(_assignments(application)[0], 80)
    page = officer_client.get(f"/calls/{call.id}/assignments").get_data(as_text=True)
    assert f'{submitted.id}/return' in page and 'data-total="80.00"' in page
    url = f"/calls/{call.id}/assignments/{submitted.id}/return"
    assert officer_client.post(url, data={"csrf_token": csrf_token_from(page),
                                          f"b{submitted.id}-comment": ""}).status_code == 422
    done = officer_client.post(url, data={"csrf_token": csrf_token_from(page),
                                          f"b{submitted.id}-comment": "Pamatojiet budžeta vērtējumu."})
    assert done.status_code == 302
    db.session.refresh(submitted)
    assert submitted.state == "accepted"
    assert len(_events("assignment.return_review", submitted.id)) == 1


# --- the dashboard ------------------------------------------------------------------------------------

def _scenario(officer):
    """One application waiting for a third evaluator (totals 100 and 69, the third assigned) and one
    in evaluation without evaluators."""
    call = make_evaluation_call()
    make_pool(call, 3, officer)
    disputed = in_evaluation(call, officer)
    auto_assign(call, officer)
    for assignment, total in zip(_assignments(disputed), (100, 69), strict=True):
        review(assignment, total)
    waiting = in_evaluation(call, officer)
    return call, disputed, waiting


def test_dashboard_numbers_for_a_small_scenario(officer_client, officer):
    call, disputed, waiting = _scenario(officer)
    result = db.session.scalar(sa.select(EvaluationResult).where(EvaluationResult.application_id == disputed.id))
    assert result.needs_third
    page = officer_client.get(f"/calls/{call.id}/evaluation")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-chart="funnel"' in html and 'data-key="in_evaluation" data-value="2"' in html
    assert 'data-reviews-submitted="2" data-reviews-required="5"' in html
    discrepancies = html[html.index('data-list="discrepancies"'):]
    assert f'data-application="{disputed.id}" data-third-assigned="1"' in discrepancies
    assert 'data-totals="100.00,69.00"' in discrepancies
    short = html[html.index('data-list="short"'):]
    assert f'data-application="{waiting.id}" data-missing="2"' in short
    assert f'data-application="{disputed.id}"' not in short[:short.index("</ul>")]
    assert 'data-chart="envelope-idea_generation"' in html
    assert f'href="/calls/{call.id}/ranking"' in html
    assert 'data-key="submitted" data-value="2"' in html and 'data-key="assigned" data-value="1"' in html


def test_dashboard_shows_overdue_assignments(officer_client, officer):
    from datetime import timedelta

    from grants.core.db import utcnow

    call, disputed, _waiting = _scenario(officer)
    [third] = _assignments(disputed, "assigned")
    third.due_at = utcnow() - timedelta(days=1)
    db.session.flush()
    html = officer_client.get(f"/calls/{call.id}/evaluation").get_data(as_text=True)
    overdue = html[html.index('data-list="overdue"'):]
    assert f'data-assignment="{third.id}"' in overdue
    assert 'data-overdue="1"' in officer_client.get(f"/calls/{call.id}/assignments").get_data(as_text=True)


def test_pages_queries_do_not_grow_with_the_data(officer_client, officer, count_queries):
    call, _disputed, _waiting = _scenario(officer)
    pages = [f"/calls/{call.id}/{page}" for page in ("evaluation", "assignments", "evaluators", "rubric")]
    for url in pages:
        officer_client.get(url)
    small = {}
    for url in pages:
        with count_queries() as counter:
            assert officer_client.get(url).status_code == 200
        small[url] = counter.count
    make_pool(call, 3, officer)
    for _ in range(4):
        in_evaluation(call, officer)
    auto_assign(call, officer)
    for assignment in db.session.scalars(sa.select(Assignment).where(Assignment.call_id == call.id,
                                                                     Assignment.state == "assigned")).unique():
        review(assignment, 80, submit=False)
    for url in pages:
        with count_queries() as counter:
            assert officer_client.get(url).status_code == 200
        assert counter.count == small[url], url
    assert small[pages[0]] <= 25


# --- permissions ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["applicant", "evaluator", "committee", "finance"])
def test_other_roles_may_not_see_the_officer_pages(app, role):
    call = make_evaluation_call()
    client = _client_for(app, role)
    for page in ("evaluation", "assignments", "evaluators"):
        assert client.get(f"/calls/{call.id}/{page}").status_code == 403, page


def test_auditor_reads_but_does_not_change(app, officer):
    call, disputed, _waiting = _scenario(officer)
    auditor = _client_for(app, "auditor")
    for page in ("evaluation", "assignments", "evaluators", "rubric"):
        response = auditor.get(f"/calls/{call.id}/{page}")
        assert response.status_code == 200, page
        assert 'data-action="auto-assign"' not in response.get_data(as_text=True)
    html = auditor.get(f"/calls/{call.id}/assignments").get_data(as_text=True)
    assert "/reassign" not in html and "/return" not in html
    token = csrf_token_from(auditor.get(f"/calls/{call.id}/evaluators").get_data(as_text=True))
    assert auditor.post(f"/calls/{call.id}/assignments/auto", data={"csrf_token": token}).status_code == 403
    [open_one] = _assignments(disputed, "assigned")
    assert auditor.post(f"/calls/{call.id}/assignments/{open_one.id}/reassign",
                        data={"csrf_token": token}).status_code == 403
    assert auditor.post(f"/calls/{call.id}/evaluators", data={"csrf_token": token}).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    call = make_evaluation_call()
    response = client.get(f"/calls/{call.id}/evaluation")
    assert response.status_code in (302, 401)


# --- paging and filters (issue 15: the assignments of a call of 50,000 applications) -------------------

def _ids(html: str, attribute: str) -> list[int]:
    return [int(found) for found in re.findall(rf'{attribute}="(\d+)"', html)]


def test_assignments_are_paged_by_application_and_filtered(officer_client, officer, monkeypatch, count_queries):
    from grants.evaluations import officer_views

    monkeypatch.setattr(officer_views, "PER_PAGE", 3)
    call = make_evaluation_call()
    make_pool(call, 2, officer)
    applications = [in_evaluation(call, officer) for _ in range(3)]
    auto_assign(call, officer)
    every = [a.id for application in applications for a in _assignments(application)]
    assert len(every) == 6
    first = officer_client.get(f"/calls/{call.id}/assignments").get_data(as_text=True)
    assert _ids(first, "data-assignment") == every[:3]
    assert 'data-total="6"' in first and 'rel="next"' in first
    second = officer_client.get(f"/calls/{call.id}/assignments?page=2").get_data(as_text=True)
    assert _ids(second, "data-assignment") == every[3:] and 'rel="prev"' in second
    # the second application is split over both pages: each page shows its own part under its heading
    assert f'data-application="{applications[1].id}"' in first and f'data-application="{applications[1].id}"' in second
    # the state filter and the application filter, kept by the pager
    submitted = review(_assignments(applications[2])[0], 80)
    only = officer_client.get(f"/calls/{call.id}/assignments?state=submitted").get_data(as_text=True)
    assert _ids(only, "data-assignment") == [submitted.id] and 'data-total="1"' in only
    one = officer_client.get(f"/calls/{call.id}/assignments?application_id={applications[0].id}").get_data(as_text=True)
    assert _ids(one, "data-assignment") == [a.id for a in _assignments(applications[0])]
    # an application in evaluation nobody is assigned to yet shows when asked for
    waiting = in_evaluation(call, officer)
    alone = officer_client.get(f"/calls/{call.id}/assignments?application_id={waiting.id}").get_data(as_text=True)
    assert f'id="app-{waiting.id}"' in alone and _ids(alone, "data-assignment") == []
    assert f'href="/calls/{call.id}/assignments?application_id={waiting.id}#app-{waiting.id}"' in alone
    # bad input never fails the page
    for query in ("page=abc", "page=-3", "page=99999999999", "state=nonsense", "application_id=x",
                  "application_id=-1", "application_id=99999999999999"):
        assert officer_client.get(f"/calls/{call.id}/assignments?{query}").status_code == 200, query
    # the statements do not depend on the number of assignments on the page
    with count_queries() as small:
        officer_client.get(f"/calls/{call.id}/assignments?page=2")
    monkeypatch.setattr(officer_views, "PER_PAGE", 50)
    make_pool(call, 2, officer)
    for _ in range(5):
        in_evaluation(call, officer)
    auto_assign(call, officer)
    with count_queries() as large:
        html = officer_client.get(f"/calls/{call.id}/assignments").get_data(as_text=True)
    assert len(_ids(html, "data-assignment")) > 12
    assert large.count == small.count


def test_reassign_names_the_evaluator_from_the_pool_list(officer_client, officer):
    call = make_evaluation_call()
    evaluators = make_pool(call, 3, officer)
    application = in_evaluation(call, officer)
    auto_assign(call, officer)
    first = _assignments(application)[0]
    [free] = [e for e in evaluators if e.id not in {a.evaluator_id for a in _assignments(application)}]
    page = officer_client.get(f"/calls/{call.id}/assignments").get_data(as_text=True)
    # the pool is listed once for all the page's forms
    assert page.count('<datalist id="pool-evaluators">') == 1 and 'list="pool-evaluators"' in page
    assert page.count(f"({free.email})") == 1
    url = f"/calls/{call.id}/assignments/{first.id}/reassign"
    token = csrf_token_from(page)
    unknown = officer_client.post(url, data={"csrf_token": token, f"r{first.id}-comment": "Cits.",
                                             f"r{first.id}-evaluator_id": "Nav Tāda (nav@example.lv)"})
    assert unknown.status_code == 422 and f'id="r{first.id}-evaluator_id-error"' in unknown.get_data(as_text=True)
    done = officer_client.post(url, data={"csrf_token": token, f"r{first.id}-comment": "Cits.",
                                          f"r{first.id}-evaluator_id": f"{free.name} ({free.email.upper()})"})
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"?application_id={application.id}#app-{application.id}")
    [replacement] = [a for a in _assignments(application) if a.replaces_id == first.id]
    assert replacement.evaluator_id == free.id


def test_the_pool_is_paged_with_each_members_workload(officer_client, officer, monkeypatch, count_queries):
    from grants.evaluations import officer_views

    monkeypatch.setattr(officer_views, "PER_PAGE", 2)
    call = make_evaluation_call()
    make_pool(call, 3, officer)
    for _ in range(2):
        in_evaluation(call, officer)
    auto_assign(call, officer)
    members = db.session.execute(sa.select(PoolMember.user_id).where(PoolMember.call_id == call.id)).scalars().all()
    first = officer_client.get(f"/calls/{call.id}/evaluators").get_data(as_text=True)
    second = officer_client.get(f"/calls/{call.id}/evaluators?page=2").get_data(as_text=True)
    listed = _ids(first, "data-evaluator") + _ids(second, "data-evaluator")
    assert sorted(listed) == sorted(members) and len(_ids(first, "data-evaluator")) == 2
    assert 'data-total="3"' in first and 'rel="next"' in first
    # workload: open assignments across calls and in this call, per member
    for user_id in members:
        open_here = db.session.scalar(sa.select(sa.func.count()).select_from(Assignment).where(
            Assignment.evaluator_id == user_id, Assignment.state.in_(("assigned", "accepted"))))
        html = first if user_id in _ids(first, "data-evaluator") else second
        row = html[html.index(f'data-evaluator="{user_id}"'):][:600]
        assert f'data-open="{open_here}"' in row and f'data-open-in-call="{open_here}"' in row
    with count_queries() as small:
        officer_client.get(f"/calls/{call.id}/evaluators")
    make_pool(call, 4, officer)
    make_user("evaluator")  # a candidate not in the pool
    with count_queries() as large:
        html = officer_client.get(f"/calls/{call.id}/evaluators").get_data(as_text=True)
    assert large.count == small.count
    assert officer_client.get(f"/calls/{call.id}/evaluators?page=zz").status_code == 200
