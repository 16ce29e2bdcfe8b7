"""Initiatives: listing, creating and keeping the profile, and their SI stages (which move
only through the transitions)."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.core.db import db
from grants.core.paging import page_of, page_schema
from grants.core.roles import RoleCode
from grants.initiatives.schemas import (
    InitiativeCreateSchema,
    InitiativeDetailSchema,
    InitiativeListArgs,
    InitiativePatchSchema,
    InitiativeSchema,
)
from grants.initiatives.services import create_initiative, get_readable, list_query, update_initiative
from grants.workflows.engine import available_triggers
from grants.workflows.history import history
from grants.workflows.schemas import FireSchema, HistoryEntrySchema, TransitionSchema
from grants.workflows.services import act

blp = Blueprint("api_initiatives", __name__, description="Initiatives and their SI stages")


@blp.route("/initiatives", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated()
@blp.arguments(InitiativeListArgs, location="query")
@blp.response(200, page_schema(InitiativeSchema))
def list_(args):
    """The initiatives the caller may see, by title; filters `organisation_id`, `si_stage`."""
    query = list_query(current_user, organisation_id=args["organisation_id"], si_stage=args["si_stage"])
    return page_of(query, args["page"], args["per_page"])


@blp.route("/initiatives", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(InitiativeCreateSchema)
@blp.response(201, InitiativeSchema)
def create(data):
    """Create an initiative of one of the caller's organisations, at the SI stage reached so far."""
    initiative = create_initiative(current_user, data)
    db.session.commit()
    return initiative


@blp.route("/initiatives/<int:initiative_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, InitiativeDetailSchema)
@authenticated()
def read(initiative_id: int):
    """The initiative, with the SI stages its grants proved."""
    return get_readable(current_user, initiative_id)


@blp.route("/initiatives/<int:initiative_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@authenticated(RoleCode.APPLICANT)
@blp.arguments(InitiativePatchSchema)
@blp.response(200, InitiativeSchema)
@blp.alt_response(409, description="A stale `version`: someone changed the initiative meanwhile.")
def update(data, initiative_id: int):
    """Change the profile (not the SI stage); send the `version` you read."""
    initiative = get_readable(current_user, initiative_id)
    version = data.pop("version")
    update_initiative(initiative, current_user, data, version)
    db.session.commit()
    return initiative


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
