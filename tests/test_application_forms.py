"""A newcomer's path through the pages: register, organisation, new draft, edit, submit, receipt."""

import re
from datetime import timedelta

import sqlalchemy as sa

from grants.applications.models import Application, Submission
from grants.core.db import db, utcnow
from tests.conftest import csrf_token_from
from tests.factories import login, make_call, make_organisation, make_user


def _post(client, path, data):
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_newcomer_starts_edits_submits_and_gets_a_receipt(client, session):
    call = make_call()
    applicant = make_user("applicant")
    organisation = make_organisation(applicant, name="Biedrība Jaunā")
    login(client, applicant)
    assert f"/applications/new?call_id={call.id}" in client.get(f"/calls/{call.id}").get_data(as_text=True)
    bad = _post(client, f"/applications/new?call_id={call.id}", {
        "organisation_id": organisation.id, "si_stage": "idea_generation", "initiative_id": 0,
        "title": "", "summary": "Ideja", "requested_amount": "abc", "duration_months": "6"})
    assert bad.status_code == 422 and 'value="Ideja"' not in bad.get_data(as_text=True).replace("\n", "")
    assert "Ideja" in bad.get_data(as_text=True)  # what was typed is kept
    created = _post(client, f"/applications/new?call_id={call.id}", {
        "organisation_id": organisation.id, "si_stage": "idea_generation", "initiative_id": 0,
        "title": "Kaimiņu palīdzības tīkls", "summary": "Ideja", "requested_amount": "4000", "duration_months": "6"})
    assert created.status_code == 302
    application = session.scalars(sa.select(Application).where(Application.title == "Kaimiņu palīdzības tīkls")).one()
    page = client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert 'name="answers-project_name"' in page and "Projekta nosaukums" in page
    too_long = _post(client, f"/applications/{application.id}/edit", {
        "title": "Kaimiņu palīdzības tīkls Cēsīs", "summary": "Ideja", "requested_amount": "4500.00",
        "duration_months": "8", "version": str(application.version), "answers-project_name": "Kaimiņi",
        "answers-description": "ā" * 501})
    assert too_long.status_code == 422 and "ā" * 501 in too_long.get_data(as_text=True)  # kept, not lost
    edited = _post(client, f"/applications/{application.id}/edit", {
        "title": "Kaimiņu palīdzības tīkls Cēsīs", "summary": "Ideja", "requested_amount": "4500.00",
        "duration_months": "8", "version": str(application.version), "answers-project_name": "Kaimiņi",
        "answers-description": "ā" * 500})
    assert edited.status_code == 302
    db.session.refresh(application)
    assert application.answers == {"project_name": "Kaimiņi", "description": "ā" * 500}
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    submitted = client.post(f"/applications/{application.id}", data={
        "csrf_token": csrf_token_from(page), "trigger": "submit", "comment": "", "version": version})
    assert submitted.status_code == 302
    submission = session.scalars(sa.select(Submission).where(Submission.application_id == application.id)).one()
    receipt = client.get(f"/applications/{application.id}/receipt/1").get_data(as_text=True)
    assert submission.content_hash in receipt and "Kaimiņu palīdzības tīkls Cēsīs" in receipt
    assert client.get(f"/applications/{application.id}/edit").status_code == 302  # no longer editable


def test_a_late_submit_on_the_page_keeps_the_draft(client, session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    call = make_call()
    login(client, applicant)
    _post(client, f"/applications/new?call_id={call.id}", {
        "organisation_id": organisation.id, "si_stage": "idea_generation", "initiative_id": 0,
        "title": "Vēlais", "summary": "", "requested_amount": "1000", "duration_months": "3"})
    application = session.scalars(sa.select(Application).where(Application.title == "Vēlais")).one()
    call.closes_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    refused = client.post(f"/applications/{application.id}", data={
        "csrf_token": csrf_token_from(page), "trigger": "submit", "comment": "", "version": version})
    assert refused.status_code == 409 and "melnraksts ir saglabāts" in refused.get_data(as_text=True).lower()
    db.session.refresh(application)
    assert application.state == "draft" and application.title == "Vēlais"
