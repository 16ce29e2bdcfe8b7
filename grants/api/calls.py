"""Calls for proposals: public reading; set-up, publication and corrigenda for officers."""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated, page_of, page_schema
from grants.calls.models import CALL_EDITORS, Call
from grants.calls.schemas import (
    CallCreateSchema,
    CallDetailSchema,
    CallListArgs,
    CallPatchSchema,
    CallSchema,
    CallVersionSchema,
    CorrigendumSchema,
)
from grants.calls.services import (
    call_versions,
    calls_query,
    create_call,
    form_hash,
    get_visible_call,
    issue_corrigendum,
    publish_call,
    update_draft_call,
)
from grants.core.db import db
from grants.core.errors import NotFound
from grants.forms.schemas import CallFormSchema

blp = Blueprint("api_calls", __name__, description="Calls for proposals")



def _staff() -> bool:
    return current_user.is_authenticated and current_user.is_staff


def _call(call_id: int) -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


@blp.route("/calls", methods=["GET"])
@blp.arguments(CallListArgs, location="query")
@blp.response(200, page_schema(CallSchema))
def list_calls(args):
    """Published calls (and drafts, for staff), filtered by public status: open, upcoming, closed."""
    status = args["status"].value if args["status"] else None
    return page_of(calls_query(status, include_drafts=_staff()), args["page"], args["per_page"])


@blp.route("/calls", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.arguments(CallCreateSchema)
@blp.response(201, CallDetailSchema)
def create(data):
    """Draft a call (officers): stages with envelopes and grant limits, dates in UTC, workflow, form."""
    call = create_call(current_user, data)
    db.session.commit()
    return call


@blp.route("/calls/<int:call_id>", methods=["GET"])
@blp.response(200, CallDetailSchema)
def read_call(call_id: int):
    call = get_visible_call(call_id, include_drafts=_staff())
    if call is None:
        raise NotFound()
    return call


@blp.route("/calls/<int:call_id>/form", methods=["GET"])
@blp.response(200, CallFormSchema)
def read_form(call_id: int):
    """The call's whole form definition (sections, questions, bilingual labels), with its hash."""
    call = get_visible_call(call_id, include_drafts=_staff())
    if call is None:
        raise NotFound()
    return {"call_id": call.id, "status": call.public_status().value, "form_hash": form_hash(call),
            "form": call.form or []}


@blp.route("/calls/<int:call_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.arguments(CallPatchSchema(partial=True))
@blp.response(200, CallDetailSchema)
def update(data, call_id: int):
    """Change a draft call; a published call answers 409 (change it by a corrigendum)."""
    call = update_draft_call(_call(call_id), current_user, data)
    db.session.commit()
    return call


@blp.route("/calls/<int:call_id>/publish", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.response(200, CallDetailSchema)
def publish(call_id: int):
    """Publish a draft: freezes version 1 (form, rules, rubric, budget) under `content_hash`."""
    call = _call(call_id)
    publish_call(call, current_user)
    db.session.commit()
    return call


@blp.route("/calls/<int:call_id>/corrigenda", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.arguments(CorrigendumSchema)
@blp.response(201, CallVersionSchema)
def corrigendum(data, call_id: int):
    """Correct a published call: a new version with its hash; applicants with drafts are told."""
    reason = data.pop("reason")
    version = issue_corrigendum(_call(call_id), current_user, data, reason)
    db.session.commit()
    return version


@blp.route("/calls/<int:call_id>/versions", methods=["GET"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.response(200, CallVersionSchema(many=True))
def versions(call_id: int):
    """The frozen versions of a call, oldest first."""
    return call_versions(_call(call_id))
