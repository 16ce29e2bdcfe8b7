"""The roles people hold: stable codes, their labels, and who counts as programme staff.

They sit in core because every layer names them: the workflow definitions (who may fire a
trigger), the permission decorators, the pages. The accounts that hold them are in grants.users.
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class RoleCode(enum.StrEnum):
    APPLICANT = "applicant"
    EVALUATOR = "evaluator"
    OFFICER = "officer"
    COMMITTEE = "committee"
    FINANCE = "finance"
    AUDITOR = "auditor"
    ADMIN = "admin"


ROLE_LABELS = {
    RoleCode.APPLICANT: _l("Applicant"),
    RoleCode.EVALUATOR: _l("Evaluator"),
    RoleCode.OFFICER: _l("Programme officer"),
    RoleCode.COMMITTEE: _l("Committee member"),
    RoleCode.FINANCE: _l("Finance"),
    RoleCode.AUDITOR: _l("Auditor"),
    RoleCode.ADMIN: _l("Administrator"),
}

#: Roles of programme staff, who see every application of the programme.
STAFF_ROLES = (RoleCode.OFFICER, RoleCode.COMMITTEE, RoleCode.FINANCE, RoleCode.AUDITOR, RoleCode.ADMIN)

