"""Attachments (issue 4): type checked by content, size limit, random storage names, authorised downloads."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from werkzeug.test import EnvironBuilder

from grants.applications.models import Attachment
from grants.audit.models import AuditEvent
from grants.core.db import db
from grants.core.uploads import UploadRefused, clean_filename
from grants.workflows.services import act
from tests.conftest import csrf_token_from
from tests.factories import bearer, login, make_application, make_organisation, make_user

MB = 1024 * 1024


# --- Files built here, small and valid --------------------------------------------------------

def pdf_bytes() -> bytes:
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


#: A 1×1 baseline JPEG.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f"
    "141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b08000100010101"
    "1100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504"
    "040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a2526"
    "2728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a83848586878889"
    "8a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4"
    "e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9")


def zip_bytes(entries: list[tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, data in entries:
            package.writestr(name, data, compress_type=zipfile.ZIP_STORED if name == "mimetype"
                             else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


DOCX_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
              'content-types"><Default Extension="xml" ContentType="application/xml"/><Override '
              'PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
              'wordprocessingml.document.main+xml"/></Types>')


def docx_bytes() -> bytes:
    return zip_bytes([("[Content_Types].xml", DOCX_TYPES), ("_rels/.rels", "<Relationships/>"),
                      ("word/document.xml", "<w:document/>")])


def xlsx_bytes() -> bytes:
    workbook = Workbook()
    workbook.active["A1"] = "Budžets"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def odf_bytes(mimetype: str) -> bytes:
    return zip_bytes([("mimetype", mimetype), ("META-INF/manifest.xml", "<manifest/>"), ("content.xml", "<x/>")])


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 240 + b"This program cannot be run"


# --- Fixtures ------------------------------------------------------------------------------------

@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(path))
    return path


@pytest.fixture
def draft(session, upload_dir):
    applicant = make_user("applicant", name="Anna Pieteicēja")
    application = make_application(organisation=make_organisation(applicant))
    return application, applicant


def post_multipart(client, path: str, data: dict, headers=None, **kwargs):
    """The test client spools a large multipart body to a temporary file it never closes: close it here."""
    builder = EnvironBuilder(path=path, method="POST", headers=headers, data=data, content_type="multipart/form-data")
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    try:
        return client.open(environ, **kwargs)
    finally:
        environ["wsgi.input"].close()


def upload(client, application, user, data: bytes, filename: str, **fields):
    return post_multipart(client, f"/api/v1/applications/{application.id}/attachments", headers=bearer(user),
                          data={"file": (io.BytesIO(data), filename), **fields})


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- Accepted types --------------------------------------------------------------------------------

@pytest.mark.parametrize(("builder", "filename", "content_type"), [
    (pdf_bytes, "pieteikums.pdf", "application/pdf"),
    (docx_bytes, "apraksts.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (xlsx_bytes, "budzets.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (lambda: odf_bytes("application/vnd.oasis.opendocument.text"), "apraksts.odt",
     "application/vnd.oasis.opendocument.text"),
    (lambda: odf_bytes("application/vnd.oasis.opendocument.spreadsheet"), "budzets.ods",
     "application/vnd.oasis.opendocument.spreadsheet"),
    (png_bytes, "logo.png", "image/png"),
    (lambda: JPEG, "foto.jpg", "image/jpeg"),
    (lambda: JPEG, "FOTO.JPEG", "image/jpeg"),
])
def test_allowed_types_are_accepted_and_recorded(client, draft, upload_dir, builder, filename, content_type):
    application, applicant = draft
    data = builder()
    response = upload(client, application, applicant, data, filename)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["filename"] == filename and body["content_type"] == content_type
    assert body["size"] == len(data) and body["sha256"] == hashlib.sha256(data).hexdigest()
    attachment = db.session.get(Attachment, body["id"])
    assert attachment.uploaded_by_id == applicant.id and attachment.application_id == application.id
    [stored] = stored_files(upload_dir)
    assert stored.read_bytes() == data
    assert stored.name == attachment.storage_key and filename not in str(stored)
    assert stored.parent.parent == upload_dir


def test_upload_is_audited_in_the_same_transaction(client, draft):
    application, applicant = draft
    data = pdf_bytes()
    body = upload(client, application, applicant, data, "pieteikums.pdf", question_code="budget_file").get_json()
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "attachment.upload")
                               .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.actor_id == applicant.id and event.object_id == str(application.id)
    assert event.payload == {"attachment_id": body["id"], "filename": "pieteikums.pdf", "size": len(data),
                             "sha256": hashlib.sha256(data).hexdigest(), "content_type": "application/pdf",
                             "question_code": "budget_file"}
    assert db.session.get(Attachment, body["id"]).question_code == "budget_file"


def test_storage_names_are_random(client, draft, upload_dir):
    application, applicant = draft
    first = upload(client, application, applicant, pdf_bytes(), "same.pdf").get_json()
    second = upload(client, application, applicant, pdf_bytes(), "same.pdf").get_json()
    keys = {db.session.get(Attachment, first["id"]).storage_key, db.session.get(Attachment, second["id"]).storage_key}
    assert len(keys) == 2 and all(len(key) >= 40 and "same" not in key for key in keys)
    assert sorted(path.name for path in stored_files(upload_dir)) == sorted(keys)


# --- Refused content ----------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "filename"), [
    (EXE, "programma.pdf"),  # an .exe renamed to .pdf
    (EXE, "programma.exe"),
    (zip_bytes([("a.txt", "sveiki")]), "arhivs.docx"),  # a plain zip renamed to .docx
    (zip_bytes([("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n"), ("A.class", "x")]), "lib.docx"),  # a jar
    (zip_bytes([("word/readme.txt", "not a document")]), "viltots.docx"),  # fools a signature-only check
    (zip_bytes([("[Content_Types].xml", DOCX_TYPES.replace("document.main", "document.macroEnabled.main")),
                ("word/document.xml", "<w/>")]), "makro.docx"),
    (zip_bytes([("mimetype", "application/vnd.oasis.opendocument.text")]), "tabula.ods"),
    (b"just some text\n", "teksts.pdf"),
    (b"", "tukss.pdf"),
    (b"<html><script>alert(1)</script></html>", "lapa.png"),
])
def test_disallowed_content_is_refused_and_nothing_is_kept(client, draft, upload_dir, data, filename):
    application, applicant = draft
    response = upload(client, application, applicant, data, filename)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] == "validation_error" and body["fields"]["file"]
    assert body["message"]
    assert stored_files(upload_dir) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)
                             .where(Attachment.application_id == application.id)) == 0


def test_an_exe_renamed_pdf_gets_a_clear_message(client, draft):
    application, applicant = draft
    response = upload(client, application, applicant, EXE, "rēķins.pdf", )
    assert response.status_code == 422
    assert "PDF, DOCX, XLSX, ODT, ODS, PNG" in response.get_json()["fields"]["file"][0]


def test_the_extension_must_agree_with_the_content(client, draft, upload_dir):
    application, applicant = draft
    response = upload(client, application, applicant, pdf_bytes(), "apraksts.docx")
    assert response.status_code == 422
    assert ".pdf" in response.get_json()["fields"]["file"][0]
    assert upload(client, application, applicant, png_bytes(), "logo.jpg").status_code == 422
    assert upload(client, application, applicant, pdf_bytes(), "bez-paplašinājuma").status_code == 422
    assert stored_files(upload_dir) == []


@pytest.mark.parametrize("filename", ["../../etc/passwd.pdf", "/etc/passwd.pdf", "a/../../b.pdf", "...", " . . ",
                                      "\x00\x01"])
def test_path_traversal_and_empty_names_are_refused(client, draft, upload_dir, filename):
    application, applicant = draft
    response = upload(client, application, applicant, pdf_bytes(), filename)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["fields"]["file"]
    assert stored_files(upload_dir) == []
    assert not (upload_dir.parent / "etc").exists()


@pytest.mark.parametrize("filename", ["..\\..\\windows\\system.pdf", "C:\\Users\\anna\\pieteikums.pdf"])
def test_backslash_names_are_refused_or_reduced_to_a_harmless_name(client, draft, upload_dir, filename):
    """Multipart parsers treat a backslash in a quoted file name as an escape, so it may never reach us;
    either way no folder part survives (the service refuses any that does: test_file_names_are_cleaned)."""
    application, applicant = draft
    response = upload(client, application, applicant, pdf_bytes(), filename)
    body = response.get_json()
    if response.status_code == 201:
        assert "/" not in body["filename"] and "\\" not in body["filename"] and not body["filename"].startswith(".")
        [stored] = stored_files(upload_dir)
        assert stored.parent.parent == upload_dir and stored.name == db.session.get(Attachment, body["id"]).storage_key
    else:
        assert response.status_code == 422 and body["fields"]["file"]


def test_missing_file_is_a_validation_error(client, draft):
    application, applicant = draft
    response = client.post(f"/api/v1/applications/{application.id}/attachments", headers=bearer(applicant),
                           data={"question_code": "x"}, content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.get_json()["fields"]
    response = client.post(f"/api/v1/applications/{application.id}/attachments", headers=bearer(applicant),
                           json={"file": "x"})
    assert response.status_code == 422 and "file" in response.get_json()["fields"]


def test_file_names_are_cleaned():
    assert clean_filename("  ..slēpts.pdf ") == "slēpts.pdf"
    assert clean_filename("a\x00b\x1f\x7fc.pdf") == "abc.pdf"
    assert clean_filename("Pieteikums\u0301.pdf") == "Pieteikums\u0301.pdf".replace("s\u0301", "ś")
    long_name = clean_filename("x" * 500 + ".pdf")
    assert len(long_name) <= 200 and long_name.endswith(".pdf")
    for bad in ("", "...", "../a.pdf", "a\\b.pdf", "\x00\x00"):
        with pytest.raises(UploadRefused):
            clean_filename(bad)


# --- Size limit ----------------------------------------------------------------------------------

def test_default_limit_is_20_mb(app):
    assert app.config["MAX_UPLOAD_MB"] == 20
    assert app.config["MAX_CONTENT_LENGTH"] > 20 * MB


def test_a_30_mb_upload_is_refused_with_json(client, draft, upload_dir):
    application, applicant = draft
    response = upload(client, application, applicant, b"%PDF-1.4\n" + b"0" * (30 * MB), "liels.pdf")
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "payload_too_large" and body["message"]
    assert stored_files(upload_dir) == []


def test_a_file_just_over_the_default_limit_is_refused(client, draft, upload_dir):
    application, applicant = draft
    response = upload(client, application, applicant, b"%PDF-1.4\n" + b"0" * (20 * MB), "liels.pdf")
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"] == "payload_too_large" and "20" in body["fields"]["file"][0]
    assert stored_files(upload_dir) == []


def test_the_limit_comes_from_config(app, client, draft, upload_dir, monkeypatch):
    application, applicant = draft
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)
    data = pdf_bytes()
    padded = data + b"%" + b"0" * (MB - len(data))
    response = upload(client, application, applicant, padded, "liels.pdf")
    assert response.status_code == 413 and response.get_json()["error"] == "payload_too_large"
    assert stored_files(upload_dir) == []
    assert upload(client, application, applicant, padded[:MB], "der.pdf").status_code == 201


# --- Who may do what -----------------------------------------------------------------------------

def test_owner_downloads_with_safe_headers(client, draft):
    application, applicant = draft
    data = pdf_bytes()
    body = upload(client, application, applicant, data, "Pieteikums ar garumzīmēm ā č ņ.pdf").get_json()
    response = client.get(f"/api/v1/applications/{application.id}/attachments/{body['id']}",
                          headers=bearer(applicant))
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Pieteikums%20ar%20garumz%C4%AB" in disposition
    response.close()


def test_listing_and_removing(client, draft, upload_dir):
    application, applicant = draft
    first = upload(client, application, applicant, pdf_bytes(), "a.pdf").get_json()
    second = upload(client, application, applicant, png_bytes(), "b.png").get_json()
    listed = client.get(f"/api/v1/applications/{application.id}/attachments", headers=bearer(applicant))
    assert [item["id"] for item in listed.get_json()] == [first["id"], second["id"]]
    response = client.delete(f"/api/v1/applications/{application.id}/attachments/{first['id']}",
                             headers=bearer(applicant))
    assert response.status_code == 204
    listed = client.get(f"/api/v1/applications/{application.id}/attachments", headers=bearer(applicant))
    assert [item["id"] for item in listed.get_json()] == [second["id"]]
    assert client.get(f"/api/v1/applications/{application.id}/attachments/{first['id']}",
                      headers=bearer(applicant)).status_code == 404
    assert db.session.get(Attachment, first["id"]).removed_at is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "attachment.remove")) >= 1
    assert client.delete(f"/api/v1/applications/{application.id}/attachments/{first['id']}",
                         headers=bearer(applicant)).status_code == 404


def test_another_organisation_gets_404_on_the_application_and_its_files(client, draft, upload_dir):
    application, applicant = draft
    body = upload(client, application, applicant, pdf_bytes(), "a.pdf").get_json()
    stranger = make_user("applicant")
    make_organisation(stranger)
    base = f"/api/v1/applications/{application.id}"
    assert client.get(f"{base}/attachments", headers=bearer(stranger)).status_code == 404
    response = client.get(f"{base}/attachments/{body['id']}", headers=bearer(stranger))
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert upload(client, application, stranger, pdf_bytes(), "b.pdf").status_code == 404
    assert client.delete(f"{base}/attachments/{body['id']}", headers=bearer(stranger)).status_code == 404
    assert len(stored_files(upload_dir)) == 1


def test_attachment_of_another_application_is_not_reachable_through_mine(client, draft):
    application, applicant = draft
    other = make_application()
    other_applicant = make_user("applicant")
    body = upload(client, application, applicant, pdf_bytes(), "a.pdf").get_json()
    assert other_applicant  # unused user: the point is the id pairing below
    response = client.get(f"/api/v1/applications/{other.id}/attachments/{body['id']}", headers=bearer(applicant))
    assert response.status_code == 404


def test_officer_downloads_but_does_not_upload(client, draft):
    application, applicant = draft
    data = png_bytes()
    body = upload(client, application, applicant, data, "logo.png").get_json()
    officer = make_user("officer")
    response = client.get(f"/api/v1/applications/{application.id}/attachments/{body['id']}",
                          headers=bearer(officer))
    assert response.status_code == 200 and response.data == data and response.mimetype == "image/png"
    response.close()
    assert upload(client, application, officer, data, "logo.png").status_code == 403


def test_anonymous_gets_401(client, draft):
    application, applicant = draft
    body = upload(client, application, applicant, pdf_bytes(), "a.pdf").get_json()
    base = f"/api/v1/applications/{application.id}/attachments"
    assert client.get(f"{base}/{body['id']}").status_code == 401
    assert client.get(base).status_code == 401
    response = client.post(base, data={"file": (io.BytesIO(pdf_bytes()), "a.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_not_editable_after_submit(client, session, upload_dir):
    applicant = make_user("applicant")
    draft = make_application(organisation=make_organisation(applicant))
    body = upload(client, draft, applicant, pdf_bytes(), "a.pdf").get_json()
    submitted = make_application(organisation=draft.organisation, state="eligibility_review")
    response = upload(client, submitted, applicant, pdf_bytes(), "a.pdf")
    assert response.status_code == 409 and response.get_json()["error"] == "conflict"
    act(draft, "submit", applicant)  # the real submit: after it the applicant can no longer change files
    db.session.flush()
    assert draft.state != "draft"
    base = f"/api/v1/applications/{draft.id}/attachments"
    assert client.delete(f"{base}/{body['id']}", headers=bearer(applicant)).status_code == 409
    response = client.get(f"{base}/{body['id']}", headers=bearer(applicant))
    assert response.status_code == 200  # still readable
    response.close()
    assert len(stored_files(upload_dir)) == 1


def test_upload_dir_is_created_when_missing(client, draft, upload_dir):
    application, applicant = draft
    assert not upload_dir.exists()
    assert upload(client, application, applicant, pdf_bytes(), "a.pdf").status_code == 201
    assert upload_dir.is_dir()
    assert not [name for name in os.listdir(upload_dir) if name.startswith(".upload-")]


# --- The page ------------------------------------------------------------------------------------

def _page_upload(client, application, data: bytes, filename: str):
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    return client.post(f"/applications/{application.id}/attachments", follow_redirects=True,
                       data={"csrf_token": csrf_token_from(page), "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_page_lists_uploads_and_removes(client, draft, upload_dir):
    application, applicant = draft
    login(client, applicant)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'id="attachments"' in page
    response = _page_upload(client, application, pdf_bytes(), "tāme.pdf")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    attachment = db.session.scalars(sa.select(Attachment).where(Attachment.application_id == application.id)).one()
    assert "tāme.pdf" in page and f"/attachments/{attachment.id}" in page and "flash-success" in page
    download = client.get(f"/applications/{application.id}/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == pdf_bytes()
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()
    response = client.post(f"/applications/{application.id}/attachments/{attachment.id}/remove",
                           data={"csrf_token": csrf_token_from(page)}, follow_redirects=True)
    assert response.status_code == 200
    assert f"/attachments/{attachment.id}\"" not in response.get_data(as_text=True)
    db.session.refresh(attachment)
    assert attachment.removed_at is not None


def test_page_refusal_says_why_and_keeps_the_application(client, draft, upload_dir):
    application, applicant = draft
    login(client, applicant)
    response = _page_upload(client, application, EXE, "programma.pdf")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "flash-error" in page
    assert "PDF, DOCX, XLSX, ODT, ODS, PNG" in page
    assert application.title in page and stored_files(upload_dir) == []
    response = _page_upload(client, application, pdf_bytes(), "../../etc/passwd.pdf")
    assert "flash-error" in response.get_data(as_text=True) and stored_files(upload_dir) == []


def test_page_upload_without_csrf_is_refused(client, draft, upload_dir):
    application, applicant = draft
    login(client, applicant)
    response = client.post(f"/applications/{application.id}/attachments",
                           data={"file": (io.BytesIO(pdf_bytes()), "a.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 400 and stored_files(upload_dir) == []


def test_page_of_another_organisation_hides_files(client, draft):
    application, applicant = draft
    body = upload(client, application, applicant, pdf_bytes(), "a.pdf").get_json()
    stranger = make_user("applicant")
    make_organisation(stranger)
    login(client, stranger)
    assert client.get(f"/applications/{application.id}").status_code == 404
    assert client.get(f"/applications/{application.id}/attachments/{body['id']}").status_code == 404


def test_officer_page_lists_files_without_upload_form(client, draft):
    application, applicant = draft
    upload(client, application, applicant, pdf_bytes(), "a.pdf")
    officer = make_user("officer")
    login(client, officer)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "a.pdf" in page and 'enctype="multipart/form-data"' not in page


def test_page_upload_over_the_body_limit_gets_a_page_not_a_crash(client, draft, upload_dir):
    application, applicant = draft
    login(client, applicant)
    page = client.get(f"/applications/{application.id}").get_data(as_text=True)
    response = post_multipart(client, f"/applications/{application.id}/attachments",
                              data={"csrf_token": csrf_token_from(page),
                                    "file": (io.BytesIO(b"0" * (22 * MB)), "liels.pdf")})
    assert response.status_code == 413 and "text/html" in response.content_type
    assert stored_files(upload_dir) == []
