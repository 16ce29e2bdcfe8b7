"""A clarification request reopens only what the officer names (issue 4 item 8); file answers
name files of their own application; files of a transaction that did not commit are deleted."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from grants.applications.attachments import add_attachment
from grants.applications.models import Attachment, Submission
from grants.audit.models import AuditEvent
from grants.core.db import db
from grants.workflows.services import act
from tests.conftest import csrf_token_from
from tests.factories import bearer, login, make_application, make_call, make_organisation, make_user
from tests.test_attachments import EXE, pdf_bytes, post_multipart, stored_files

FORM = [{"code": "about", "title_lv": "Par projektu", "title_en": "About", "questions": [
    {"code": "project_name", "type": "short_text", "required": True, "label_lv": "Nosaukums", "label_en": "Name"},
    {"code": "description", "type": "long_text", "required": False, "max_length": 500,
     "label_lv": "Apraksts", "label_en": "Description"},
    {"code": "budget_file", "type": "file", "required": False, "label_lv": "Budžets", "label_en": "Budget file"},
]}]


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(path))
    return path


@pytest.fixture
def asked(session, upload_dir):
    """A submitted application in eligibility review, and the people around it."""
    applicant = make_user("applicant")
    officer = make_user("officer")
    application = make_application(make_call(form=FORM), make_organisation(applicant),
                                   answers={"project_name": "Kaimiņi", "description": "Sākotnējais apraksts"})
    act(application, "submit", applicant)
    assert application.state == "eligibility_review"
    return application, applicant, officer


def _fire(client, application, user, trigger, **body):
    return client.post(f"/api/v1/applications/{application.id}/transitions", headers=bearer(user),
                       json={"trigger": trigger, **body})


def _patch(client, application, user, **body):
    current = client.get(f"/api/v1/applications/{application.id}", headers=bearer(user)).get_json()
    return client.patch(f"/api/v1/applications/{application.id}", headers=bearer(user),
                        json={"version": current["version"], **body})


# --- The API --------------------------------------------------------------------------------------

def test_only_the_reopened_parts_change_and_the_rest_is_refused(client, asked):
    application, applicant, officer = asked
    asked_for = _fire(client, application, officer, "request_clarification",
                      comment="Precizējiet aprakstu.", reopen=["description"])
    assert asked_for.status_code == 200, asked_for.get_json()
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "application.request_clarification")).one()
    assert event.payload["reopen"] == ["description"]  # in the tamper-evident trail

    refused = _patch(client, application, applicant, title="Cits nosaukums",
                     answers={"project_name": "Cits", "description": "Precizēts apraksts"})
    assert refused.status_code == 422
    body = refused.get_json()
    assert set(body["fields"]) == {"title", "answers.project_name"}
    db.session.refresh(application)
    assert application.title == "Pieteikums" and application.answers["description"] == "Sākotnējais apraksts"

    allowed = _patch(client, application, applicant,
                     answers={"project_name": "Kaimiņi", "description": "Precizēts apraksts"})
    assert allowed.status_code == 200, allowed.get_json()
    resubmitted = _fire(client, application, applicant, "resubmit")
    assert resubmitted.status_code == 200 and resubmitted.get_json()["state"] == "eligibility_review"
    rounds = db.session.scalars(sa.select(Submission).where(Submission.application_id == application.id)
                                .order_by(Submission.round)).all()
    assert [r.snapshot["application"]["answers"]["description"] for r in rounds] == [
        "Sākotnējais apraksts", "Precizēts apraksts"]


def test_a_request_naming_nothing_reopens_everything(client, asked):
    application, applicant, officer = asked
    assert _fire(client, application, officer, "request_clarification", comment="Lūdzu precizējiet.").status_code == 200
    changed = _patch(client, application, applicant, title="Jauns nosaukums", requested_amount="4000.00")
    assert changed.status_code == 200 and changed.get_json()["title"] == "Jauns nosaukums"


def test_reopen_lists_are_checked(client, asked):
    application, _applicant, officer = asked
    unknown = _fire(client, application, officer, "request_clarification", comment="?", reopen=["no_such_question"])
    assert unknown.status_code == 422 and "no_such_question" in unknown.get_json()["fields"]["reopen"][0]
    elsewhere = _fire(client, application, officer, "declare_eligible", reopen=["title"])
    assert elsewhere.status_code == 422 and "reopen" in elsewhere.get_json()["fields"]
    db.session.refresh(application)
    assert application.state == "eligibility_review"  # nothing happened


def test_files_follow_the_reopened_scope(client, asked):
    application, applicant, officer = asked
    _fire(client, application, officer, "request_clarification", comment="Budžets?", reopen=["budget_file"])
    path = f"/api/v1/applications/{application.id}/attachments"
    loose = post_multipart(client, path, headers=bearer(applicant), data={"file": (io.BytesIO(pdf_bytes()), "a.pdf")})
    assert loose.status_code == 409
    for_question = post_multipart(client, path, headers=bearer(applicant), data={
        "file": (io.BytesIO(pdf_bytes()), "budzets.pdf"), "question_code": "budget_file"})
    assert for_question.status_code == 201, for_question.get_json()


# --- File answers ----------------------------------------------------------------------------------

def test_a_file_answer_must_name_a_file_of_this_application(client, session, upload_dir):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant)
    call = make_call(form=FORM)
    mine = make_application(call, organisation, answers={"project_name": "A"})
    other = make_application(call, organisation, answers={"project_name": "B"})
    foreign = add_attachment(other, applicant, _file(pdf_bytes(), "cits.pdf"), question_code="budget_file")
    own = add_attachment(mine, applicant, _file(pdf_bytes(), "budzets.pdf"), question_code="budget_file")
    session.flush()
    refused = _patch(client, mine, applicant, answers={"project_name": "A", "budget_file": foreign.id})
    assert refused.status_code == 422 and "answers.budget_file" in refused.get_json()["fields"]
    accepted = _patch(client, mine, applicant, answers={"project_name": "A", "budget_file": own.id})
    assert accepted.status_code == 200, accepted.get_json()
    # Removing the file afterwards leaves an answer pointing at nothing: submitting is refused.
    assert client.delete(f"/api/v1/applications/{mine.id}/attachments/{own.id}",
                         headers=bearer(applicant)).status_code == 204
    submit = _fire(client, mine, applicant, "submit")
    assert submit.status_code == 409 and submit.get_json()["reasons"][0]["code"] == "answers_incomplete"


def _file(data: bytes, name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(data), filename=name)


# --- Files of a transaction that did not commit ------------------------------------------------------

def test_files_of_a_rolled_back_transaction_are_deleted(session, upload_dir):
    applicant = make_user("applicant")
    application = make_application(make_call(form=FORM), make_organisation(applicant))
    session.commit()
    add_attachment(application, applicant, _file(pdf_bytes(), "paliek.pdf"))
    session.commit()
    assert len(stored_files(upload_dir)) == 1
    add_attachment(application, applicant, _file(pdf_bytes(), "pazudis.pdf"))
    assert len(stored_files(upload_dir)) == 2
    session.rollback()
    assert len(stored_files(upload_dir)) == 1  # the uncommitted file went with its row


# --- The pages -------------------------------------------------------------------------------------

def test_the_officer_chooses_on_the_page_and_the_applicant_sees_only_that_open(client, asked):
    application, applicant, officer = asked
    login(client, officer)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'name="reopen" value="description"' in page and 'name="reopen" value="attachments"' in page
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    posted = client.post(f"/applications/{application.id}", data={
        "csrf_token": csrf_token_from(page), "trigger": "request_clarification", "comment": "Precizējiet aprakstu.",
        "version": version, "reopen": ["description"]})
    assert posted.status_code == 302
    client = client.application.test_client()  # the applicant's browser
    login(client, applicant)
    detail = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Apraksts" in detail.split('class="reopened"')[1].split("</ul>")[0]
    edit = client.get(f"/applications/{application.id}/edit").get_data(as_text=True)
    assert re.search(r'<input(?=[^>]* disabled)[^>]*name="title"', edit)
    assert re.search(r'<input(?=[^>]* disabled)[^>]*name="answers-project_name"', edit)
    assert re.search(r'<textarea[^>]*name="answers-description"', edit)
    assert not re.search(r'<textarea(?=[^>]* disabled)[^>]*name="answers-description"', edit)
    assert '="None"' not in edit
    db.session.refresh(application)
    # A browser does not send disabled fields; a tampered form that does is not believed.
    saved = client.post(f"/applications/{application.id}/edit", data={
        "csrf_token": csrf_token_from(edit), "version": str(application.version), "title": "Viltots",
        "answers-project_name": "Viltots", "answers-description": "Precizēts apraksts",
        "requested_amount": "1", "duration_months": "1"})
    assert saved.status_code == 302
    db.session.refresh(application)
    assert application.title == "Pieteikums" and application.answers["project_name"] == "Kaimiņi"
    assert application.answers["description"] == "Precizēts apraksts"


def test_a_file_question_takes_its_file_on_the_edit_page(client, session, upload_dir):
    applicant = make_user("applicant")
    application = make_application(make_call(form=FORM), make_organisation(applicant),
                                   answers={"project_name": "Kaimiņi"})
    login(client, applicant)
    path = f"/applications/{application.id}/edit"
    page = client.get(path).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'data-counter-text=' in page
    fields = {"csrf_token": csrf_token_from(page), "version": str(application.version), "title": "Pieteikums",
              "summary": "", "requested_amount": "5000", "duration_months": "6", "answers-project_name": "Kaimiņi",
              "answers-description": "Jauns teksts"}
    refused = post_multipart(client, path, data={**fields, "answers-budget_file-upload": (io.BytesIO(EXE), "b.pdf")})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Jauns teksts" in text and 'id="q-budget_file-error"' in text
    assert stored_files(upload_dir) == [] and db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    db.session.refresh(application)
    assert application.answers == {"project_name": "Kaimiņi"}  # nothing half-saved

    accepted = post_multipart(client, path, data={
        **fields, "answers-budget_file-upload": (io.BytesIO(pdf_bytes()), "budzets.pdf")})
    assert accepted.status_code == 302
    db.session.refresh(application)
    attachment = db.session.scalars(sa.select(Attachment)).one()
    assert attachment.question_code == "budget_file" and application.answers["budget_file"] == attachment.id
    assert "budzets.pdf" in client.get(path).get_data(as_text=True)
