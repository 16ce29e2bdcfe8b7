from __future__ import annotations

import marshmallow as ma

from grants.core.codes import LegalForm, Region


class OrganisationCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=300))
    registration_number = ma.fields.String(
        required=True, validate=[ma.validate.Length(min=1, max=50),
                                 ma.validate.Regexp(r"^[A-Za-z0-9\-/ ]+$")])
    legal_form = ma.fields.Enum(LegalForm, by_value=True, required=True)
    region = ma.fields.Enum(Region, by_value=True, allow_none=True, load_default=None)
    country = ma.fields.String(load_default="LV", validate=ma.validate.Regexp(r"^[A-Za-z]{2}$"))
    address = ma.fields.String(validate=ma.validate.Length(max=500))
    contact_email = ma.fields.Email(validate=ma.validate.Length(max=254))
    contact_phone = ma.fields.String(validate=ma.validate.Length(max=50))
    website = ma.fields.String(validate=ma.validate.Length(max=300))


class OrganisationSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    registration_number = ma.fields.String()
    legal_form = ma.fields.Enum(LegalForm, by_value=True)
    region = ma.fields.Enum(Region, by_value=True, allow_none=True)
    country = ma.fields.String()
    address = ma.fields.String()
    contact_email = ma.fields.String()
    contact_phone = ma.fields.String()
    website = ma.fields.String()
    created_at = ma.fields.DateTime()


class OrganisationPatchSchema(OrganisationCreateSchema):
    """PATCH: any subset of the profile fields (use with ``partial=True``)."""
