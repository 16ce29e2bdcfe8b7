"""The base of every HTML form: CSRF from Flask-WTF, messages from our catalogue."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from grants.core.validation_messages import WTFormsTranslations

_TRANSLATIONS = WTFormsTranslations()

#: Message for Length(max=...) validators.
TOO_LONG = _l("Use at most %(max)d characters.")


class BaseForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _TRANSLATIONS
