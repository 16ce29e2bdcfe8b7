"""Issue 4's done-when, end to end through the public API, on the demo call:
a newcomer registers, creates an organisation, starts an application, uploads a PDF, submits
before the deadline and gets a receipt with the hash; a late submit is refused with the draft
intact; a 30 MB file, an .exe renamed .pdf and a path-traversal name are refused clearly; an
applicant of another organisation gets 404 on the application and its files."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from grants.applications.models import Submission
from grants.calls.models import Call
from grants.core.db import db, utcnow
from grants.demo import OPEN_CALL_CODE, load_demo, sample_answers
from tests.test_attachments import pdf_bytes


@pytest.fixture
def demo_call(session, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    load_demo()
    return session.scalars(sa.select(Call).where(Call.code == OPEN_CALL_CODE)).one()


def _newcomer(client, email: str, registration_number: str) -> tuple[dict, int]:
    assert client.post("/api/v1/users", json={"email": email, "password": "ļoti-drošs-parole-1",
                                              "name": "Jauna Pieteicēja"}).status_code == 201
    token = client.post("/api/v1/auth/tokens", json={"email": email, "password": "ļoti-drošs-parole-1"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    organisation = client.post("/api/v1/organisations", headers=headers, json={
        "name": "Biedrība Jaunie kaimiņi", "registration_number": registration_number, "legal_form": "association",
        "region": "zemgale", "country": "LV"})
    assert organisation.status_code == 201, organisation.json
    return headers, organisation.json["id"]


def _start(client, headers, organisation_id, call) -> dict:
    form = client.get(f"/api/v1/calls/{call.id}").json["form"]
    assert any(question["required"] for question in form)  # the client learns what to fill in
    created = client.post("/api/v1/applications", headers=headers, json={
        "call_id": call.id, "organisation_id": organisation_id, "si_stage": "prototyping",
        "title": "Kaimiņu atbalsta punkts", "summary": "Pilotējam kaimiņu atbalsta punktu Jelgavā.",
        "requested_amount": "25000.00", "duration_months": 12,
        "answers": sample_answers(call.form, "Kaimiņu atbalsts", amount="25000.00")})
    assert created.status_code == 201, created.json
    return created.json


def _upload(client, headers, application_id, data: bytes, filename: str):
    # Encoded in memory: the test client would spool a large body to a temporary file that stays
    # open when the application (rightly) refuses to read it.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=filename)})
    return client.post(f"/api/v1/applications/{application_id}/attachments", headers=headers, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_a_newcomer_applies_uploads_submits_and_gets_a_receipt(client, session, demo_call):
    headers, organisation_id = _newcomer(client, "jauna@example.lv", "40008123456")
    application = _start(client, headers, organisation_id, demo_call)
    uploaded = _upload(client, headers, application["id"], pdf_bytes(), "Budžeta pamatojums.pdf")
    assert uploaded.status_code == 201 and uploaded.json["content_type"] == "application/pdf"
    submitted = client.post(f"/api/v1/applications/{application['id']}/transitions", headers=headers,
                            json={"trigger": "submit", "version": application["version"]})
    assert submitted.status_code == 200, submitted.json
    snapshot = session.scalars(sa.select(Submission).where(Submission.application_id == application["id"])).one()
    assert submitted.json["content_hash"] == snapshot.content_hash
    assert [a["sha256"] for a in snapshot.snapshot["attachments"]] == [uploaded.json["sha256"]]
    again = client.post(f"/api/v1/applications/{application['id']}/transitions", headers=headers,
                        json={"trigger": "submit", "version": application["version"]})
    assert again.status_code == 409  # a double submit creates nothing twice
    assert session.scalar(sa.select(sa.func.count()).select_from(Submission)
                          .where(Submission.application_id == application["id"])) == 1


def test_late_submits_bad_files_and_strangers_are_refused(client, session, demo_call, app, monkeypatch):
    headers, organisation_id = _newcomer(client, "velu@example.lv", "40008123457")
    application = _start(client, headers, organisation_id, demo_call)
    big = _upload(client, headers, application["id"], b"%PDF-1.4\n" + b"0" * (30 * 1024 * 1024), "liels.pdf")
    assert big.status_code == 413 and big.json["error"] == "payload_too_large"
    exe = _upload(client, headers, application["id"], b"MZ\x90\x00" + b"\x00" * 200, "rēķins.pdf")
    assert exe.status_code == 422 and exe.json["fields"]["file"]
    traversal = _upload(client, headers, application["id"], pdf_bytes(), "../../etc/passwd.pdf")
    assert traversal.status_code == 422 and traversal.json["fields"]["file"]
    good = _upload(client, headers, application["id"], pdf_bytes(), "plāns.pdf").json

    stranger, _ = _newcomer(client, "sveshs@example.lv", "40008123458")
    assert client.get(f"/api/v1/applications/{application['id']}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/applications/{application['id']}/attachments/{good['id']}",
                      headers=stranger).status_code == 404

    demo_call.closes_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    late = client.post(f"/api/v1/applications/{application['id']}/transitions", headers=headers,
                       json={"trigger": "submit"})
    assert late.status_code == 409 and late.json["reasons"][0]["code"] == "deadline_passed"
    kept = client.get(f"/api/v1/applications/{application['id']}", headers=headers).json
    assert (kept["state"], kept["title"], kept["content_hash"]) == ("draft", "Kaimiņu atbalsta punkts", None)
    files = client.get(f"/api/v1/applications/{application['id']}/attachments", headers=headers).json
    assert [f["filename"] for f in (files["items"] if isinstance(files, dict) else files)] == ["plāns.pdf"]
