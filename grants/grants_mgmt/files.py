"""Files of a grant: reading them, and taking one back while it is not yet part of the record.

A draft or returned report's evidence may be removed by the grantee; a replaced agreement scan was
already set aside when its successor was uploaded. A file of a submitted report or of the signed
agreement is part of the grant's record: removing it is refused until the retention date
(grants.grants_mgmt.retention).
"""

from __future__ import annotations

from typing import BinaryIO

from flask_babel import gettext as _

from grants.applications.models import Application
from grants.audit.services import record_event
from grants.core.db import db, utcnow
from grants.core.errors import NotFound, PermissionDenied
from grants.grants_mgmt.awards import agreement_of
from grants.grants_mgmt.models import FilePurpose, GrantFile, GrantReport
from grants.grants_mgmt.permissions import may_manage
from grants.grants_mgmt.reports import ReportNotEditable, is_editable
from grants.grants_mgmt.retention import RetentionHold, refusal
from grants.storage import get_storage


def get_file(file_id: int) -> GrantFile:
    stored = db.session.get(GrantFile, file_id)
    if stored is None or stored.removed_at is not None:
        raise NotFound()
    return stored


def open_file(stored: GrantFile) -> BinaryIO:
    try:
        return get_storage().open(stored.storage_key)
    except (FileNotFoundError, ValueError):
        raise NotFound(_("The file is no longer available.")) from None


def remove_file(stored: GrantFile, application: Application, actor) -> None:
    """Take a file back (it stays stored, and listed by any earlier submission that named it): a draft or
    returned report's evidence, by its grantee. The signed agreement's scan or a file of a submitted or
    accepted report is part of the grant's record: refused while its records are kept. Who may is decided
    first: the agreement's scans are the officers', a report's files its grantee's."""
    report = db.session.get(GrantReport, stored.report_id) if stored.report_id is not None else None
    if report is None and not may_manage(actor):
        raise PermissionDenied()
    if report is not None and not actor.is_member_of(application.organisation_id):
        raise PermissionDenied(_("Only the grantee's members change its reports."))
    if stored.purpose == FilePurpose.AGREEMENT:
        agreement = agreement_of(application)
        if agreement is not None and agreement.signed_file_id == stored.id:
            why = refusal(application) if agreement.is_signed else None
            raise RetentionHold(why or _("This is the agreement's signed scan: upload another one to replace it."))
    if report is not None:
        if report.state == "accepted":  # part of the record for good
            why = refusal(application)
            if why is not None:
                raise RetentionHold(why)
        if not is_editable(report):  # submitted: it may be changed again if an officer returns it
            raise ReportNotEditable()
    stored.removed_at = utcnow()
    db.session.flush()
    record_event(action="grant_file.remove", object_type="application", object_id=application.id, actor=actor,
                 role="applicant" if report is not None else "officer",
                 payload={"file_id": stored.id, "filename": stored.filename, "sha256": stored.sha256,
                          "report_id": stored.report_id})
