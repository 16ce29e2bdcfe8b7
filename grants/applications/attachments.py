"""Files attached to an application: upload, remove, list and open.

Only members of the applying organisation upload or remove, and only while the application is
editable; whoever may read the application may download its files. The bytes go to the storage
backend under a random key, the row and its audit event to the request's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from grants.applications.clarification import may_change_file, reopened_scope
from grants.applications.models import Application, Attachment
from grants.applications.permissions import can_edit, can_read
from grants.audit.services import record_event
from grants.core.db import db, utcnow
from grants.core.errors import Conflict, GrantsError, NotFound, PermissionDenied, UserInputError
from grants.core.uploads import UploadRefused, clean_filename, detect_type
from grants.storage import FileTooLarge, get_storage


class UploadTooLarge(GrantsError):
    status = 413
    code = "payload_too_large"
    default_message = _l("The upload is too large.")


class NotEditable(Conflict):
    default_message = _l("Files can be added or removed only while the application is being prepared "
                         "or a clarification is requested.")


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


class NotReopened(Conflict):
    default_message = _l("The clarification request did not reopen this file; the application's files stay "
                         "as submitted.")


def _authorise_edit(actor, application: Application, question_code: str | None = None) -> None:
    if not can_read(actor, application):
        raise NotFound()
    if not actor.is_member_of(application.organisation_id):
        raise PermissionDenied(_("Only the applying organisation's members may add or remove its files."))
    if not can_edit(actor, application):
        raise NotEditable()
    if not may_change_file(reopened_scope(application), question_code):
        raise NotReopened()


# --- Files of a transaction that did not commit are deleted ------------------------------------
#
# The bytes are written before the row is committed. Should the request's transaction end in
# anything but a commit (a later step refused, a rollback, an error), the file is deleted again,
# so storage never keeps bytes no row points to.

_UNCOMMITTED = "grants.uncommitted_files"


def _discard_unless_committed(storage, key: str) -> None:
    db.session().info.setdefault(_UNCOMMITTED, []).append((storage, key))


@sa.event.listens_for(Session, "after_commit")
def _files_committed(session: Session) -> None:
    session.info.pop(_UNCOMMITTED, None)


@sa.event.listens_for(Session, "after_transaction_end")
def _files_abandoned(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    for storage, key in session.info.pop(_UNCOMMITTED, None) or []:
        storage.delete(key)


def list_attachments(application: Application) -> list[Attachment]:
    """The files still offered (not removed), oldest first."""
    return list(db.session.scalars(
        sa.select(Attachment).where(Attachment.application_id == application.id, Attachment.removed_at.is_(None))
        .order_by(Attachment.created_at, Attachment.id)))


def get_attachment(application: Application, attachment_id: int) -> Attachment:
    """An attachment of ``application`` that has not been removed, or :class:`NotFound`."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.application_id != application.id or attachment.removed_at is not None:
        raise NotFound()
    return attachment


@dataclass(frozen=True)
class ReceivedFile:
    """An upload accepted and stored: what a row describing it records."""

    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str


def receive_upload(file_storage: FileStorage | None) -> ReceivedFile:
    """Check and store an uploaded file, for any row that keeps one (an application's attachment, a
    grant's signed agreement or report file).

    Refused with :class:`UserInputError` under ``file`` (no file, a bad name, a type not allowed,
    content and name disagree) or :class:`UploadTooLarge` over ``MAX_UPLOAD_MB``; a refused file
    leaves nothing in storage. The caller writes its row in the request's transaction and calls
    :func:`keep_if_committed`, so the bytes go again if that transaction does not commit.
    """
    if file_storage is None or not file_storage.filename:
        raise UserInputError(fields={"file": [_("Choose a file to upload.")]})
    try:
        filename = clean_filename(file_storage.filename)
    except UploadRefused as refused:
        raise UserInputError(str(refused.message), fields={"file": [str(refused.message)]}) from None
    storage = get_storage()
    limit_mb = int(current_app.config["MAX_UPLOAD_MB"])
    try:
        stored = storage.save(file_storage.stream, max_size=max_upload_bytes())
    except FileTooLarge:
        message = _("The file is larger than the limit of %(limit)d MB.", limit=limit_mb)
        raise UploadTooLarge(message, fields={"file": [message]}) from None
    try:
        with storage.open(stored.key) as saved:
            content_type = detect_type(saved, filename)
    except UploadRefused as refused:
        storage.delete(stored.key)
        raise UserInputError(str(refused.message), fields={"file": [str(refused.message)]}) from None
    return ReceivedFile(filename=filename, content_type=content_type, size=stored.size, sha256=stored.sha256,
                        storage_key=stored.key)


def forget_upload(received: ReceivedFile) -> None:
    """Delete the bytes of an upload whose row could not be written."""
    get_storage().delete(received.storage_key)


def keep_if_committed(received: ReceivedFile) -> None:
    """The bytes stay only if the request's transaction commits (see above)."""
    _discard_unless_committed(get_storage(), received.storage_key)


def add_attachment(application: Application, actor, file_storage: FileStorage | None,
                   question_code: str | None = None) -> Attachment:
    """Store the uploaded file and record it (flushes, never commits).

    Refused with :class:`UserInputError` (not an allowed type, content and name disagree, a bad
    name), :class:`UploadTooLarge` over ``MAX_UPLOAD_MB``, a 409 when not editable, 404 when
    the actor may not read the application. A refused file leaves nothing in storage.
    """
    _authorise_edit(actor, application, question_code or None)
    received = receive_upload(file_storage)
    attachment = Attachment(application=application, question_code=question_code or None,
                            filename=received.filename, content_type=received.content_type, size=received.size,
                            sha256=received.sha256, storage_key=received.storage_key, uploaded_by_id=actor.id)
    try:
        db.session.add(attachment)
        db.session.flush()
        record_event(action="attachment.upload", object_type="application", object_id=application.id,
                     actor=actor, role="applicant",
                     payload={"attachment_id": attachment.id, "filename": received.filename, "size": received.size,
                              "sha256": received.sha256, "content_type": received.content_type,
                              "question_code": question_code or None})
    except BaseException:
        forget_upload(received)
        raise
    keep_if_committed(received)
    return attachment


def remove_attachment(application: Application, actor, attachment: Attachment) -> None:
    """Stop offering the file (flushes, never commits). The bytes stay: submitted snapshots may list it."""
    _authorise_edit(actor, application, attachment.question_code)
    if attachment.application_id != application.id or attachment.removed_at is not None:
        raise NotFound()
    attachment.removed_at = utcnow()
    db.session.flush()
    record_event(action="attachment.remove", object_type="application", object_id=application.id, actor=actor,
                 role="applicant", payload={"attachment_id": attachment.id, "filename": attachment.filename,
                          "sha256": attachment.sha256})


def open_attachment(user, application: Application, attachment: Attachment) -> BinaryIO:
    """The stored bytes, for those who may read the application; the caller closes the file."""
    if not can_read(user, application) or attachment.application_id != application.id:
        raise NotFound()
    try:
        return get_storage().open(attachment.storage_key)
    except (FileNotFoundError, ValueError):
        raise NotFound(_("The file is no longer available.")) from None

