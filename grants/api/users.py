"""A person's data: the export (the person or an administrator) and the erasure (an administrator)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.core.db import db
from grants.core.errors import NotFound, PermissionDenied, UserInputError
from grants.core.roles import RoleCode
from grants.privacy.schemas import ErasureArgs, ErasureSchema, PersonalDataSchema
from grants.privacy.services import erase_person, personal_data, record_personal_data_export
from grants.users.models import User

blp = Blueprint("api_users", __name__, description="A person's data: export and erasure (GDPR)")


def _load(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


@blp.route("/users/<int:user_id>/personal-data", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, PersonalDataSchema)
@authenticated()
def get_personal_data(user_id: int):
    """Everything the service holds about the person: account, roles, two-step sign-in (never its
    secrets), API tokens, memberships and organisations, applications they created or submitted,
    attachments, invitations, evaluation work, decisions, e-mail sent to them and the list of their
    audit events. The person themself or an administrator; audited."""
    is_admin = current_user.has_role(RoleCode.ADMIN)
    if user_id != current_user.id and not is_admin:
        raise PermissionDenied()  # before loading: whether an account exists is not told
    user = _load(user_id)
    record_personal_data_export(user, current_user, role=RoleCode.ADMIN if user.id != current_user.id else None)
    data = personal_data(user)
    db.session.commit()
    return data


@blp.route("/users/<int:user_id>/erasure", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.ADMIN)
@blp.arguments(ErasureArgs)
@blp.response(200, ErasureSchema)
def erase(data, user_id: int):
    """Erase the person's personal data (GDPR Art. 17): name, e-mail, password, tokens, two-step
    sign-in, roles, memberships, waiting invitations and unsent e-mail go; the account is
    deactivated under a pseudonym ("Erased user <id>", ``erased-<id>@invalid``); the records
    retention requires (applications, grants, reports, decisions, evaluations) and the audit
    trail stay (Art. 17(3)(b)). Administrators only, never their own account (403); an account
    erased already: 409. Audited with the reason."""
    user = _load(user_id)
    reason = data["reason"].strip()
    if not reason:
        raise UserInputError(fields={"reason": [_("Say why the data is erased (for example, the person's request "
                                                   "and its date).")]})
    result = erase_person(user, current_user, reason=reason)
    db.session.commit()
    return result.as_dict()
