"""Initiatives for applicants: create one, keep its profile, see its applications and grants."""

import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.initiatives.models import Initiative
from tests.conftest import csrf_token_from
from tests.factories import (
    bearer,
    login,
    make_application,
    make_call,
    make_initiative,
    make_organisation,
    make_user,
)


def _events(session, action):
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)).all()


def _count(session):
    return session.execute(sa.select(sa.func.count()).select_from(Initiative)).scalar_one()


# --- Creating -------------------------------------------------------------------------------


def test_applicant_creates_an_initiative_on_the_page(client, session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    login(client, applicant)
    page = client.get("/initiatives/new?lang=en").get_data(as_text=True)
    assert "Current SI stage" in page and organisation.name in page
    response = client.post("/initiatives/new", data={
        "csrf_token": csrf_token_from(page), "organisation_id": organisation.id, "title": "Senioru darbnīcas",
        "description": "Kopā ar kaimiņiem", "si_stage": "prototyping", "theme": "Sociālā iekļaušana",
        "target_groups": "Seniori\n\n  Jaunieši  \nSeniori\n", "region": "latgale"})
    assert response.status_code == 302
    initiative = session.execute(sa.select(Initiative)).scalar_one()
    assert response.headers["Location"].endswith(f"/initiatives/{initiative.id}")
    assert (initiative.organisation_id, initiative.current_stage, initiative.region) == (
        organisation.id, "prototyping", "latgale")
    assert initiative.target_groups == ["Seniori", "Jaunieši"]  # blanks and repeats dropped
    [event] = _events(session, "initiative.create")
    assert event.object_id == str(initiative.id) and event.actor_id == applicant.id
    assert event.payload["after"]["current_stage"] == "prototyping"
    assert event.payload["after"]["target_groups"] == ["Seniori", "Jaunieši"]
    detail = client.get(f"/initiatives/{initiative.id}?lang=en").get_data(as_text=True)
    assert "Sociālā iekļaušana" in detail and "Seniori, Jaunieši" in detail and "Latgale" in detail
    assert f"/initiatives/{initiative.id}/edit" in detail


def test_the_starting_stage_defaults_to_the_first_stage(client, session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    response = client.post("/api/v1/initiatives", headers=bearer(applicant),
                           json={"organisation_id": organisation.id, "title": "Ideja"})
    assert response.status_code == 201
    assert response.json["si_stage"] == "problem_identification"
    assert response.json["target_groups"] == [] and response.json["region"] is None


def test_page_errors_are_shown_next_to_the_fields_and_nothing_is_saved(client, session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    login(client, applicant)
    page = client.get("/initiatives/new").get_data(as_text=True)
    response = client.post("/initiatives/new", data={
        "csrf_token": csrf_token_from(page), "organisation_id": organisation.id, "title": "",
        "si_stage": "prototyping", "theme": "T" * 121, "target_groups": "x" * 81, "region": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="title-error"' in html and 'id="theme-error"' in html
    assert _count(session) == 0
    # The form is valid but the service refuses the target groups: the message sits next to them.
    response = client.post("/initiatives/new", data={
        "csrf_token": csrf_token_from(page), "organisation_id": organisation.id, "title": "Ideja",
        "si_stage": "prototyping", "target_groups": "x" * 81})
    assert response.status_code == 422
    assert 'id="target_groups-error"' in response.get_data(as_text=True) and _count(session) == 0
    assert _events(session, "initiative.create") == []


def test_create_by_api_with_validation_errors_by_field(client, session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    stranger_organisation = make_organisation(make_user("applicant"))
    response = client.post("/api/v1/initiatives", headers=bearer(applicant), json={
        "organisation_id": stranger_organisation.id, "title": "Svešā", "si_stage": "flying"})
    assert response.status_code == 422
    assert response.json["error"] == "validation_error"
    assert set(response.json["fields"]) == {"organisation_id", "si_stage"}
    too_many = client.post("/api/v1/initiatives", headers=bearer(applicant), json={
        "organisation_id": organisation.id, "title": "Ideja", "target_groups": [f"g{n}" for n in range(21)],
        "region": "atlantis"})
    assert too_many.status_code == 422 and {"target_groups", "region"} <= set(too_many.json["fields"])
    assert _count(session) == 0
    created = client.post("/api/v1/initiatives", headers=bearer(applicant), json={
        "organisation_id": organisation.id, "title": "  Ideja  ", "si_stage": "scaling", "theme": "Vide",
        "target_groups": ["Skolēni"], "region": "kurzeme"})
    assert created.status_code == 201
    body = created.json
    assert (body["title"], body["si_stage"], body["theme"], body["target_groups"], body["region"]) == (
        "Ideja", "scaling", "Vide", ["Skolēni"], "kurzeme")
    assert body["version"] == 1 and body["organisation_id"] == organisation.id
    assert len(_events(session, "initiative.create")) == 1


def test_people_without_an_organisation_are_sent_to_create_one(client, session):
    login(client, make_user("applicant"))
    response = client.get("/initiatives/new")
    assert response.status_code == 302 and "/organisations/new" in response.headers["Location"]
    assert "/initiatives/new" not in client.get("/initiatives/").get_data(as_text=True)


# --- Editing --------------------------------------------------------------------------------


def test_member_edits_the_profile_on_the_page_and_the_change_is_audited(client, session):
    applicant = make_user("applicant")
    initiative = make_initiative(make_organisation(applicant), title="Vecais", theme="Vecā tēma",
                                 target_groups=["Seniori"])
    login(client, applicant)
    page = client.get(f"/initiatives/{initiative.id}/edit").get_data(as_text=True)
    assert 'name="version"' in page and "Seniori" in page and 'name="si_stage"' not in page
    response = client.post(f"/initiatives/{initiative.id}/edit", data={
        "csrf_token": csrf_token_from(page), "version": initiative.version, "title": "Jaunais",
        "description": "", "theme": "Vecā tēma", "target_groups": "Seniori\nĢimenes", "region": "vidzeme"})
    assert response.status_code == 302
    session.refresh(initiative)
    assert (initiative.title, initiative.target_groups, initiative.region) == ("Jaunais", ["Seniori", "Ģimenes"],
                                                                              "vidzeme")
    assert initiative.current_stage == "idea_generation"
    [event] = _events(session, "initiative.update")
    assert event.payload["changes"]["title"] == ["Vecais", "Jaunais"]
    assert "theme" not in event.payload["changes"]  # only what changed


def test_a_stale_version_is_a_conflict_on_the_page_and_in_the_api(client, session):
    applicant = make_user("applicant")
    initiative = make_initiative(make_organisation(applicant), title="Sākums")
    login(client, applicant)
    page = client.get(f"/initiatives/{initiative.id}/edit").get_data(as_text=True)
    stale = initiative.version
    assert client.patch(f"/api/v1/initiatives/{initiative.id}", headers=bearer(applicant),
                        json={"title": "Pirmais", "version": stale}).status_code == 200
    response = client.post(f"/initiatives/{initiative.id}/edit", data={
        "csrf_token": csrf_token_from(page), "version": stale, "title": "Otrais", "target_groups": ""})
    assert response.status_code == 409
    assert 'value="Otrais"' in response.get_data(as_text=True)  # what was typed is kept
    api = client.patch(f"/api/v1/initiatives/{initiative.id}", headers=bearer(applicant),
                       json={"title": "Trešais", "version": stale})
    assert api.status_code == 409 and api.json["error"] == "conflict"
    session.refresh(initiative)
    assert initiative.title == "Pirmais" and len(_events(session, "initiative.update")) == 1


def test_patch_changes_the_profile_and_refuses_the_stage(client, session):
    applicant = make_user("applicant")
    initiative = make_initiative(make_organisation(applicant), stage="prototyping")
    url = f"/api/v1/initiatives/{initiative.id}"
    refused = client.patch(url, headers=bearer(applicant), json={"si_stage": "scaling", "version": 1})
    assert refused.status_code == 422
    assert refused.json["fields"]["si_stage"] and list(refused.json["fields"]) == ["si_stage"]
    assert client.patch(url, headers=bearer(applicant),
                        json={"current_stage": "scaling", "version": 1}).status_code == 422
    bad = client.patch(url, headers=bearer(applicant), json={"title": "", "theme": "x" * 121, "version": 1})
    assert bad.status_code == 422 and {"title", "theme"} <= set(bad.json["fields"])
    ok = client.patch(url, headers=bearer(applicant), json={"theme": "Vide", "region": None, "version": 1})
    assert ok.status_code == 200
    assert (ok.json["theme"], ok.json["si_stage"], ok.json["version"]) == ("Vide", "prototyping", 2)
    session.refresh(initiative)
    assert initiative.current_stage == "prototyping"


def test_members_of_other_organisations_do_not_see_or_edit_it(client, session):
    owner = make_user("applicant")
    initiative = make_initiative(make_organisation(owner), title="Slepenā")
    stranger = make_user("applicant")
    make_organisation(stranger)
    headers = bearer(stranger)
    assert client.get(f"/api/v1/initiatives/{initiative.id}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/initiatives/{initiative.id}", headers=headers,
                        json={"title": "Pārņemta", "version": 1}).status_code == 404
    assert "Slepenā" not in str(client.get("/api/v1/initiatives", headers=headers).json)
    login(client, stranger)
    assert client.get(f"/initiatives/{initiative.id}").status_code == 404
    assert client.get(f"/initiatives/{initiative.id}/edit").status_code == 404
    assert "Slepenā" not in client.get("/initiatives/").get_data(as_text=True)
    session.refresh(initiative)
    assert initiative.title == "Slepenā"


def test_staff_read_every_initiative_but_do_not_edit_them(client, session):
    initiative = make_initiative(make_organisation(make_user("applicant")), title="Redzamā")
    officer = make_user("officer")
    listed = client.get("/api/v1/initiatives", headers=bearer(officer)).json
    assert [item["title"] for item in listed["items"]] == ["Redzamā"]
    assert client.patch(f"/api/v1/initiatives/{initiative.id}", headers=bearer(officer),
                        json={"title": "X", "version": 1}).status_code == 403  # not an applicant
    both = make_user("applicant", "officer")
    make_organisation(both)
    assert client.patch(f"/api/v1/initiatives/{initiative.id}", headers=bearer(both),
                        json={"title": "X", "version": 1}).status_code == 403  # reads, does not edit
    login(client, officer)
    page = client.get(f"/initiatives/{initiative.id}").get_data(as_text=True)
    assert "Redzamā" in page and f"/initiatives/{initiative.id}/edit" not in page
    assert client.get(f"/initiatives/{initiative.id}/edit").status_code == 404


# --- Lists ----------------------------------------------------------------------------------


def test_list_shows_only_readable_initiatives_with_filters(client, session):
    applicant = make_user("applicant")
    first = make_organisation(applicant)
    second = make_organisation(applicant)
    make_initiative(first, title="B otrā", stage="scaling", theme="Vide")
    make_initiative(first, title="A pirmā", stage="prototyping")
    make_initiative(second, title="C trešā", stage="prototyping")
    make_initiative(make_organisation(make_user("applicant")), title="Svešā")
    headers = bearer(applicant)
    listed = client.get("/api/v1/initiatives", headers=headers).json
    assert [item["title"] for item in listed["items"]] == ["A pirmā", "B otrā", "C trešā"]
    assert listed["total"] == 3
    by_org = client.get(f"/api/v1/initiatives?organisation_id={first.id}", headers=headers).json
    assert [item["title"] for item in by_org["items"]] == ["A pirmā", "B otrā"]
    by_stage = client.get("/api/v1/initiatives?si_stage=prototyping", headers=headers).json
    assert [item["title"] for item in by_stage["items"]] == ["A pirmā", "C trešā"]
    login(client, applicant)
    page = client.get("/initiatives/?lang=en").get_data(as_text=True)
    assert page.index("A pirmā") < page.index("B otrā") < page.index("C trešā")
    assert "Svešā" not in page and "Scaling and diffusion" in page and "Vide" in page
    assert "/initiatives/new" in page
    filtered = client.get(f"/initiatives/?si_stage=scaling&organisation_id={first.id}").get_data(as_text=True)
    assert "B otrā" in filtered and "A pirmā" not in filtered


def test_list_counts_applications_and_its_queries_do_not_grow(client, session, count_queries):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    call = make_call()
    first = make_initiative(organisation, title="Iniciatīva 0")
    make_application(call, organisation, initiative=first)
    make_application(call, organisation, initiative=first)
    login(client, applicant)
    client.get("/initiatives/")
    with count_queries() as few:
        page = client.get("/initiatives/").get_data(as_text=True)
    assert '<td class="num">2</td>' in page
    for n in range(1, 5):
        other = make_organisation(applicant)
        initiative = make_initiative(other, title=f"Iniciatīva {n}")
        make_application(make_call(), other, initiative=initiative)
    with count_queries() as many:
        page = client.get("/initiatives/").get_data(as_text=True)
    assert page.count("/initiatives/") >= 5 and "Iniciatīva 4" in page
    assert many.count == few.count


# --- The initiative's page ------------------------------------------------------------------


def test_detail_page_splits_applications_and_grants(client, session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    initiative = make_initiative(organisation, title="Kopienas darbnīca")
    call = make_call()
    make_application(call, organisation, initiative=initiative, title="Melnraksts")
    make_application(call, organisation, initiative=initiative, title="Līgums noslēgts", state="contracted")
    make_application(call, organisation, initiative=initiative, title="Pabeigts", state="completed")
    make_application(call, organisation, initiative=initiative, title="Noraidīts", state="rejected")
    login(client, applicant)
    page = client.get(f"/initiatives/{initiative.id}?lang=en").get_data(as_text=True)
    applications_part, grants_part = page.split('id="grants-heading"')
    applications_part = applications_part.split('id="applications-heading"')[1]
    for title in ("Melnraksts", "Noraidīts"):
        assert title in applications_part and title not in grants_part
    for title in ("Līgums noslēgts", "Pabeigts"):
        assert title in grants_part and title not in applications_part
    assert "Grant agreement signed" in grants_part and call.code in grants_part
    assert "5 000" in grants_part or "5000" in grants_part or "5,000" in grants_part


def test_detail_page_without_grants_says_so(client, session):
    applicant = make_user("applicant")
    initiative = make_initiative(make_organisation(applicant))
    login(client, applicant)
    page = client.get(f"/initiatives/{initiative.id}?lang=en").get_data(as_text=True)
    assert "No applications yet." in page and "No grants yet." in page


def test_navigation_links_to_initiatives(client, session):
    login(client, make_user("applicant"))
    page = client.get("/initiatives/?lang=en").get_data(as_text=True)
    assert 'href="/initiatives/"' in page and "My initiatives" in page
