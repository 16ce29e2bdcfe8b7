"""Translations for the messages that marshmallow and WTForms write themselves.

Both libraries produce English text. Their templates are listed here (so the catalogue has
them) and messages are matched back to a template and translated when shown.
"""

from __future__ import annotations

import re

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

#: marshmallow's templates, with its {placeholders}.
MARSHMALLOW_TEMPLATES = [
    _l("Missing data for required field."),
    _l("Field may not be null."),
    _l("Invalid value."),
    _l("Invalid type."),
    _l("Invalid input type."),
    _l("Unknown field."),
    _l("Not a valid list."),
    _l("Not a valid string."),
    _l("Not a valid number."),
    _l("Number too large."),
    _l("Not a valid integer."),
    _l("Not a valid id."),
    _l("Special numeric values (nan or infinity) are not permitted."),
    _l("Not a valid boolean."),
    _l("Not a valid datetime."),
    _l("Not a valid date."),
    _l("Not a valid mapping type."),
    _l("Not a valid URL."),
    _l("Not a valid email address."),
    _l("Must be one of: {choices}."),
    _l("Must be greater than or equal to {min}."),
    _l("Must be less than or equal to {max}."),
    _l("Must be greater than or equal to {min} and less than or equal to {max}."),
    _l("Shorter than minimum length {min}."),
    _l("Longer than maximum length {max}."),
    _l("Length must be between {min} and {max}."),
    _l("Length must be {equal}."),
    _l("String does not match expected pattern."),
    _l("Invalid input."),
]

#: WTForms' own messages (the forms give their own for most validators).
WTFORMS_MESSAGES = [
    _l("This field is required."),
    _l("Not a valid choice."),
    _l("Invalid email address."),
    _l("Invalid input."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid date value."),
    _l("Invalid CSRF token."),
    _l("The CSRF token is missing."),
    _l("The CSRF token has expired."),
    _l("The CSRF tokens do not match."),
]


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"(\{\w+\})", template)
    regex = "".join(f"(?P<{p[1:-1]}>.+?)" if p.startswith("{") and p.endswith("}") else re.escape(p)
                    for p in parts)
    return re.compile(f"^{regex}$")


#: The most specific template first: "Must be greater than or equal to {min}." would otherwise also take
#: "Must be greater than or equal to 1 and less than or equal to 120." (min: "1 and less than…"), and the
#: range's second half would stay English inside a translated message.
_MATCHERS = sorted(((_pattern(t._args[0]), t._args[0]) for t in MARSHMALLOW_TEMPLATES),  # type: ignore[attr-defined]
                   key=lambda matcher: len(re.sub(r"\{\w+\}", "", matcher[1])), reverse=True)


def translate_validation_message(message: str) -> str:
    """marshmallow's English message in the request's language (unchanged when unknown)."""
    for pattern, template in _MATCHERS:
        match = pattern.match(message)
        if match:
            translated = gettext(template)
            try:
                return translated.format(**match.groupdict())
            except (KeyError, IndexError, ValueError):
                return message
    return message


class WTFormsTranslations:
    """WTForms' translations object, backed by our catalogue through Flask-Babel."""

    def gettext(self, string: str) -> str:
        return gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n)
