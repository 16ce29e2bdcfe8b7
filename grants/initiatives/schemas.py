"""What the initiatives API returns."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from grants.core.codes import Region
from grants.core.paging import PageArgs, valid_id
from grants.initiatives.services import proven_stages


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


class ProvenStageSchema(ma.Schema):
    si_stage = ma.fields.String()
    application_id = ma.fields.Integer()
    accepted_at = ma.fields.DateTime()


class InitiativeDetailSchema(InitiativeSchema):
    proven_stages = ma.fields.Function(
        lambda initiative: ProvenStageSchema(many=True).dump(proven_stages(initiative)),
        metadata={"description": "The SI stages its grants proved (an accepted final report, a passed stage gate): "
                                 "[{si_stage, application_id, accepted_at}], oldest first."})


class _InitiativeProfileSchema(ma.Schema):
    """The profile fields a member sends; the service checks them again and reports by field."""

    title = ma.fields.String(validate=ma.validate.Length(min=1, max=300))
    description = ma.fields.String(validate=ma.validate.Length(max=5000))
    theme = ma.fields.String(validate=ma.validate.Length(max=120))
    target_groups = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=80)),
                                   validate=ma.validate.Length(max=20),
                                   metadata={"description": "Short names of the target groups (at most 20)."})
    region = ma.fields.Enum(Region, by_value=True, allow_none=True)


class InitiativeCreateSchema(_InitiativeProfileSchema):
    organisation_id = ma.fields.Integer(required=True, validate=valid_id,
                                        metadata={"description": "An organisation of the caller."})
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    si_stage = ma.fields.String(validate=ma.validate.Length(max=40),
                                metadata={"description": "The SI stage reached so far; the first stage when absent. "
                                                         "Afterwards it moves only through the initiative workflow."})


class InitiativePatchSchema(_InitiativeProfileSchema):
    """PATCH: any subset of the profile, with the `version` read. The SI stage is not among the
    fields (an unknown field is refused): it moves only through `/transitions`."""

    version = ma.fields.Integer(required=True, metadata={"description": "The version you last read."})

    @ma.pre_load
    def refuse_stage(self, data, **kwargs):
        stage_keys = sorted({"si_stage", "current_stage"} & set(data)) if isinstance(data, dict) else []
        if stage_keys:
            raise ma.ValidationError({key: [str(_l("Unknown field: the SI stage moves only through the "
                                                   "initiative's transitions."))] for key in stage_keys})
        return data


class InitiativeListArgs(PageArgs):
    organisation_id = ma.fields.Integer(load_default=None, validate=valid_id)
    si_stage = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))
