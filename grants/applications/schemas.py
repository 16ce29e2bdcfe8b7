"""What the applications API reads and returns."""

from __future__ import annotations

import marshmallow as ma

from grants.workflows.engine import state_label, status_label


class ApplicationSchema(ma.Schema):
    id = ma.fields.Integer()
    call_id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    initiative_id = ma.fields.Integer()
    si_stage = ma.fields.String()
    award_stage = ma.fields.String(metadata={"description": "The stage the award funds now (stage-gated calls)."})
    title = ma.fields.String()
    summary = ma.fields.String()
    requested_amount = ma.fields.Decimal(as_string=True, places=2)
    duration_months = ma.fields.Integer()
    answers = ma.fields.Dict()
    state = ma.fields.String(metadata={"description": "Workflow state code."})
    state_label = ma.fields.Function(lambda application: state_label(application))
    status = ma.fields.Function(lambda application: status_label(application),
                                metadata={"description": "What the applicant sees, in the request language."})
    workflow = ma.fields.Function(lambda application: {"name": application.workflow_name,
                                                       "version": application.workflow_version})
    version = ma.fields.Integer(metadata={"description": "Optimistic-lock version; send it back to change."})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
