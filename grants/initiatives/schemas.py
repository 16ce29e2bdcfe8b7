"""What the initiatives API returns."""

from __future__ import annotations

import marshmallow as ma


class InitiativeSchema(ma.Schema):
    id = ma.fields.Integer()
    organisation_id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    stage_model = ma.fields.String()
    si_stage = ma.fields.String(attribute="current_stage", metadata={"description": "Current SI stage code."})
    si_stage_label = ma.fields.String(attribute="stage_label")
    theme = ma.fields.String()
    target_groups = ma.fields.List(ma.fields.String())
    region = ma.fields.String(allow_none=True)
    workflow = ma.fields.Function(lambda initiative: {"name": initiative.workflow_name,
                                                      "version": initiative.workflow_version})
    version = ma.fields.Integer()
