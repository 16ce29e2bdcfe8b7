"""Application forms: per-call form definitions, built-in section templates and answer validation.

A form definition is plain JSON data stored in ``Call.form`` (a list of sections, each with its
questions), so it is frozen and hashed with the call at publication (DESIGN §12 item 1). It is
checked once, when an officer saves it (:func:`grants.forms.definitions.validate_form_definition`);
answers are checked against it on every save and submit (:mod:`grants.forms.validation`).
"""
