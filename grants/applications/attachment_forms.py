"""The forms of the attachments panel on an application's page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from grants.core.forms import BaseForm


class AttachmentForm(BaseForm):
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Choose a file to upload."))])


class RemoveAttachmentForm(BaseForm):
    """Only the CSRF token: the file is named by the URL."""
