"""Applications: their workflow actions and history."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.applications.schemas import ApplicationSchema
from grants.applications.services import get_readable
from grants.core.db import db
from grants.workflows.engine import available_triggers
from grants.workflows.history import history
from grants.workflows.schemas import FireSchema, HistoryEntrySchema, TransitionSchema
from grants.workflows.services import act

blp = Blueprint("api_applications", __name__, description="Applications and their workflow")


@blp.route("/applications/<int:application_id>/transitions", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, TransitionSchema(many=True))
@authenticated()
def transitions(application_id: int):
    """The actions the caller may take on the application now."""
    return available_triggers(get_readable(current_user, application_id), current_user)


@blp.route("/applications/<int:application_id>/transitions", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(FireSchema)
@blp.response(200, ApplicationSchema)
@blp.alt_response(403, description="The caller's role may not take this action.")
@blp.alt_response(409, description="Not possible from the current state, a guard refused (`reasons`), "
                                   "or the application changed meanwhile (`conflict`).")
def fire_(data, application_id: int):
    """Take an action (fire a workflow trigger); the answer is the application afterwards."""
    application = get_readable(current_user, application_id)
    act(application, data["trigger"], current_user, comment=data["comment"], expected_version=data["version"])
    db.session.commit()
    return application


@blp.route("/applications/<int:application_id>/history", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, HistoryEntrySchema(many=True))
@authenticated()
def history_(application_id: int):
    """What happened to the application, oldest first, as the caller may see it."""
    application = get_readable(current_user, application_id)
    return history(application, current_user)
