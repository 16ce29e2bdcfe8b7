"""Calls for proposals: public reading; set-up, publication and corrigenda for officers."""

from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from grants.api.common import BEARER, authenticated
from grants.calls import schemas as call_schemas
from grants.calls.models import CALL_EDITORS, Call
from grants.calls.schemas import (
    CallCreateSchema,
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
from grants.core.paging import page_of, page_schema
from grants.evaluations.rubrics import evaluation_for_api, rubric_for_api
from grants.forms.schemas import CallFormSchema


class CallDetailSchema(call_schemas.CallDetailSchema):
    """The call as API.md gives it, with the rubric (evaluation sits above calls)."""

    #: The call's scoring criteria in the request's language (API.md); stage rubrics and the
    #: evaluation settings are under ``evaluation``, the whole rubric at /calls/{id}/rubric.
    rubric = ma.fields.Function(lambda call: rubric_for_api(call.rubric))
    evaluation = ma.fields.Function(lambda call: evaluation_for_api(call.rubric), metadata={
        "description": "Pass threshold, evaluators per application, discrepancy percentage, days to review, "
                       "tie-break rule, and the criteria of SI stages that have their own rubric."})


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
    """Draft a call (officers): stages with envelopes and grant limits, dates in UTC, workflow, form. Its budget
    (the stages' envelopes) must fit in what the programme's other calls leave: 422 naming `budget` with the
    figures (the same on a change, on publication and in a corrigendum)."""
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
@blp.alt_response(409, description="The call is published: it changes only by a corrigendum.")
def update(data, call_id: int):
    """Change a draft call; a published call answers 409 (change it by a corrigendum)."""
    call = update_draft_call(_call(call_id), current_user, data)
    db.session.commit()
    return call


@blp.route("/calls/<int:call_id>/publish", methods=["POST"])
@blp.doc(security=BEARER)
@authenticated(*CALL_EDITORS)
@blp.response(200, CallDetailSchema)
@blp.alt_response(409, description="Already published.")
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
@blp.alt_response(409, description="Only a published call is corrected (a draft is simply edited).")
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
