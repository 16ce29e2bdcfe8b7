"""Output schemas of form definitions for the API."""

from __future__ import annotations

import marshmallow as ma


class SectionTemplateSchema(ma.Schema):
    code = ma.fields.String()
    #: The template's name in the request's language.
    title = ma.fields.Function(lambda template: str(template.title))
    #: The section definition (grants.forms.definitions), ready to put in a call's ``form``.
    section = ma.fields.Function(lambda template: template.build())


class CallFormSchema(ma.Schema):
    call_id = ma.fields.Integer()
    status = ma.fields.String()
    #: SHA-256 of the form as stored now (the form editor sends it back to notice stale edits).
    form_hash = ma.fields.String()
    #: The whole definition: sections with their questions, bilingual labels (grants.forms.definitions).
    form = ma.fields.List(ma.fields.Dict())
