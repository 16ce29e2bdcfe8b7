from __future__ import annotations

import marshmallow as ma

_DICTS = ma.fields.List(ma.fields.Dict())


class PersonalDataSchema(ma.Schema):
    """Everything the service holds about a person (grants.privacy.services.personal_data)."""

    format = ma.fields.Integer()
    generated_at = ma.fields.String()
    account = ma.fields.Dict()
    roles = ma.fields.List(ma.fields.String())
    two_step_sign_in = ma.fields.Dict()
    api_tokens = _DICTS
    memberships = _DICTS
    organisations = _DICTS
    applications = _DICTS
    submissions = _DICTS
    attachments = _DICTS
    invitations = _DICTS
    evaluation = ma.fields.Dict()
    decisions = _DICTS
    emails = _DICTS
    notifications = _DICTS
    audit_events = _DICTS


class ErasureArgs(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000),
                              metadata={"description": "Why (the request and its date); kept in the audit trail."})


class ErasureSchema(ma.Schema):
    user_id = ma.fields.Integer()
    erased_at = ma.fields.String()
    removed = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    kept = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
