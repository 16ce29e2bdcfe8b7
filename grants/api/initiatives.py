"""Initiatives: where they stand in the SI stages, and moving them on."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.core.db import db
from grants.initiatives.schemas import InitiativeSchema
from grants.initiatives.services import get_readable
from grants.workflows.engine import available_triggers
from grants.workflows.history import history
from grants.workflows.schemas import FireSchema, HistoryEntrySchema, TransitionSchema
from grants.workflows.services import act

blp = Blueprint("api_initiatives", __name__, description="Initiatives and their SI stages")


@blp.route("/initiatives/<int:initiative_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, InitiativeSchema)
@authenticated()
def read(initiative_id: int):
    return get_readable(current_user, initiative_id)


@blp.route("/initiatives/<int:initiative_id>/transitions", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, TransitionSchema(many=True))
@authenticated()
def transitions(initiative_id: int):
    """The actions the caller may take on the initiative now (officers: advance, step back)."""
    return available_triggers(get_readable(current_user, initiative_id), current_user)


@blp.route("/initiatives/<int:initiative_id>/transitions", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(FireSchema)
@blp.response(200, InitiativeSchema)
@blp.alt_response(403, description="The caller's role may not take this action.")
@blp.alt_response(409, description="A guard refused (`reasons`) or the initiative changed meanwhile.")
def fire_(data, initiative_id: int):
    initiative = get_readable(current_user, initiative_id)
    act(initiative, data["trigger"], current_user, comment=data["comment"], expected_version=data["version"])
    db.session.commit()
    return initiative


@blp.route("/initiatives/<int:initiative_id>/history", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, HistoryEntrySchema(many=True))
@authenticated()
def history_(initiative_id: int):
    return history(get_readable(current_user, initiative_id), current_user)
