"""The form that asks for an export."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import InputRequired, Optional

from grants.core.forms import BaseForm


class ExportForm(BaseForm):
    kind = SelectField(_l("What"), validators=[InputRequired()])
    format = SelectField(_l("Format"), choices={"xlsx": "XLSX", "csv": "CSV", "json": "JSON"},
                         validators=[InputRequired()])
    programme_id = SelectField(_l("Programme"), coerce=int, validators=[Optional()])
    call_id = SelectField(_l("Call"), coerce=int, validators=[Optional()])

    def filters(self) -> dict:
        return {key: value for key, value in (("programme_id", self.programme_id.data),
                                              ("call_id", self.call_id.data)) if value}
