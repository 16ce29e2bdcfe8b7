from __future__ import annotations

import marshmallow as ma

from grants.users.services import MIN_PASSWORD_LENGTH


class Credentials(ma.Schema):
    email = ma.fields.Email(required=True)
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(max=200))
    #: Accounts with two-step sign-in: the code the authenticator app shows now, or ``recovery_code``.
    totp = ma.fields.String(load_only=True, validate=ma.validate.Length(max=12),
                            metadata={"description": "Six-digit code from the authenticator app (accounts with "
                                                     "two-step sign-in)."})
    recovery_code = ma.fields.String(load_only=True, validate=ma.validate.Length(max=40),
                                     metadata={"description": "One of the account's unused recovery codes, "
                                                              "instead of totp."})


class TokenSchema(ma.Schema):
    token = ma.fields.String()
    expires_at = ma.fields.DateTime()


class RegistrationSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True,
                                validate=ma.validate.Length(min=MIN_PASSWORD_LENGTH, max=200))
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    locale = ma.fields.String(load_default="lv", validate=ma.validate.OneOf(["lv", "en"]))


class OrganisationRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class UserSchema(ma.Schema):
    id = ma.fields.Integer()
    email = ma.fields.String()
    name = ma.fields.String()
    roles = ma.fields.List(ma.fields.String(), attribute="role_codes")
    organisations = ma.fields.List(ma.fields.Nested(OrganisationRefSchema))
