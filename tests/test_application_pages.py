"""Application and initiative pages: status, action buttons that fire the workflow, history."""

import re

import pytest

from grants.core.db import db
from grants.workflows.engine import fire
from tests.conftest import csrf_token_from
from tests.factories import login, make_application, make_initiative, make_organisation, make_user


@pytest.fixture
def draft(session):
    applicant = make_user("applicant", name="Anna Pieteicēja")
    application = make_application(organisation=make_organisation(applicant), title="Kopienas darbnīca")
    return application, applicant


def _act(client, path, trigger, comment="", version=None):
    page = client.get(path).get_data(as_text=True)
    version = version if version is not None else re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    return client.post(path, data={"csrf_token": csrf_token_from(page), "trigger": trigger,
                                   "comment": comment, "version": version})


def test_applicant_sees_status_and_submits_with_a_button(client, session, draft):
    application, applicant = draft
    login(client, applicant)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Kopienas darbnīca" in page and "Melnraksts – vēl nav iesniegts" in page
    assert 'value="submit"' in page and 'value="withdraw"' in page and 'value="declare_eligible"' not in page
    response = _act(client, f"/applications/{application.id}", "submit")
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == "eligibility_review"
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Tiek pārbaudīta atbilstība" in page  # the applicant-facing status
    timeline = page[page.index('class="timeline"'):]
    timeline = timeline[:timeline.index("</ol>")]
    assert timeline.count("<li>") == 2 and "Anna Pieteicēja" in timeline and "Sistēma" in timeline
    assert 'value="submit"' not in page


def test_refused_action_keeps_the_comment_and_says_why(client, session, draft):
    application, applicant = draft
    fire(application, "submit", applicant)
    officer = make_user("officer", name="Oskars Referents")
    login(client, officer)
    version = application.version
    response = _act(client, f"/applications/{application.id}", "request_clarification", comment="   ")
    assert response.status_code == 409
    assert "Komentārā ierakstiet pamatojumu vai jautājumu." in response.get_data(as_text=True)
    db.session.refresh(application)
    assert (application.state, application.version) == ("eligibility_review", version)
    long_comment = "Lūdzu precizējiet budžetu. " * 300  # longer than 5000 characters
    response = _act(client, f"/applications/{application.id}", "request_clarification", comment=long_comment)
    assert response.status_code == 422 and "Lūdzu precizējiet budžetu." in response.get_data(as_text=True)
    response = _act(client, f"/applications/{application.id}", "request_clarification",
                    comment="Lūdzu precizējiet budžeta 2. pozīciju.")
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.state == "clarification_requested"


def test_the_applicant_sees_the_question_but_not_the_officers_name(client, session, draft):
    application, applicant = draft
    fire(application, "submit", applicant)
    fire(application, "request_clarification", make_user("officer", name="Oskars Referents"),
         comment="Kāds ir pilota dalībnieku skaits?")
    login(client, applicant)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Kāds ir pilota dalībnieku skaits?" in page and "Oskars Referents" not in page
    assert "Programmas speciālists" in page and 'value="resubmit"' in page


def test_acting_on_a_changed_application_is_a_conflict(client, session, draft):
    application, applicant = draft
    login(client, applicant)
    response = _act(client, f"/applications/{application.id}", "submit", version=application.version - 1)
    assert response.status_code == 409 and "mainījis kāds cits" in response.get_data(as_text=True)
    assert application.state == "draft"


def test_applications_of_other_organisations_do_not_exist_for_you(client, session, draft):
    application, _ = draft
    login(client, make_user("applicant"))
    assert client.get(f"/applications/{application.id}").status_code == 404
    assert "Kopienas darbnīca" not in client.get("/applications/").get_data(as_text=True)
    assert client.get(f"/initiatives/{application.initiative_id}").status_code == 404


def test_application_list_is_role_scoped_and_its_queries_do_not_grow(client, session, count_queries):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    make_application(organisation=organisation, title="Pirmais")
    officer = make_user("officer")
    login(client, officer)
    with count_queries() as few:
        assert "Pirmais" in client.get("/applications/").get_data(as_text=True)
    for n in range(5):
        make_application(organisation=make_organisation(make_user("applicant")), title=f"Vēl {n}")
    with count_queries() as many:
        assert "Vēl 4" in client.get("/applications/").get_data(as_text=True)
    assert many.count == few.count


def test_detail_page_queries_do_not_grow_with_history(client, session, count_queries):
    applicant = make_user("applicant")
    application = make_application(organisation=make_organisation(applicant))
    login(client, applicant)
    fire(application, "submit", applicant)
    with count_queries() as short:
        client.get(f"/applications/{application.id}")
    officer = make_user("officer")
    for _ in range(3):
        fire(application, "request_clarification", officer, comment="Jautājums")
        fire(application, "resubmit", applicant)
    with count_queries() as long:
        page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert page.count("Jautājums") == 3
    assert long.count == short.count


def test_officer_moves_an_initiative_on_with_a_written_justification(app, client, session):
    applicant = make_user("applicant")
    initiative = make_initiative(make_organisation(applicant), stage="prototyping", title="Senioru darbnīcas")
    officer = make_user("officer")
    login(client, officer)
    page = client.get(f"/initiatives/{initiative.id}").get_data(as_text=True)
    assert 'aria-current="step">Prototipēšana un pilotēšana' in page and 'value="advance"' in page
    refused = _act(client, f"/initiatives/{initiative.id}", "advance", comment="Labi")
    assert refused.status_code == 409 and "20" in refused.get_data(as_text=True)
    done = _act(client, f"/initiatives/{initiative.id}", "advance",
                comment="Pilots pabeigts ar pašvaldības finansējumu, izvērtējums pievienots lietai.")
    assert done.status_code == 302
    db.session.refresh(initiative)
    assert initiative.current_stage == "sustaining"
    other = app.test_client()
    login(other, applicant)
    page = other.get(f"/initiatives/{initiative.id}").get_data(as_text=True)
    assert 'aria-current="step">Ilgtspējas nodrošināšana' in page and 'value="advance"' not in page


def test_the_page_says_what_to_do_next_and_by_when(client, session, draft):
    application, applicant = draft
    login(client, applicant)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Nākamais solis" in page and "līdz" in page
    fire(application, "submit", applicant)
    fire(application, "request_clarification", make_user("officer"), comment="Kāds ir budžets?")
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "nosūtiet precizējumu" in page
