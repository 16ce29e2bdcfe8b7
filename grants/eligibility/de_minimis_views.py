"""The de minimis register page: list and filter, headroom of one undertaking, add an entry, import a CSV."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.widgets import DateInput

from grants.core.db import db
from grants.core.errors import UserInputError
from grants.core.forms import BaseForm
from grants.core.paging import page_of
from grants.core.security import roles_required
from grants.eligibility.de_minimis import (
    DEFAULT_CEILING,
    DEFAULT_YEARS,
    MAX_BYTES,
    READERS,
    WRITERS,
    add_aid,
    aid_query,
    headroom,
    import_csv,
    normalise_registration,
)
from grants.eligibility.models import AidSource

bp = Blueprint("de_minimis", __name__, url_prefix="/eligibility/de-minimis")

PER_PAGE = 50
SOURCE_LABELS = {AidSource.IMPORT: _l("Imported"), AidSource.MANUAL: _l("Added by hand"),
                 AidSource.AWARD: _l("Award in this programme")}


class AidForm(BaseForm):
    registration_number = StringField(_l("Registration number"),
                                      description=_l("Of the undertaking that received the aid."))
    undertaking = StringField(_l("Undertaking"))
    amount = StringField(_l("Amount, EUR"), description=_l("E.g. 1500.00 or 1500,00."))
    granted_on = StringField(_l("Granted on"), widget=DateInput())
    granting_authority = StringField(_l("Granting authority"))
    reference = StringField(_l("Reference"), description=_l("E.g. the decision or contract number."))


class ImportForm(BaseForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))],
                     description=_l("Columns registration_number, undertaking, amount, granted_on (YYYY-MM-DD or "
                                    "DD.MM.YYYY), granting_authority, reference; a header row; separated by , or ;; "
                                    "UTF-8; at most 10,000 rows and 5 MB."))


def _render(aid_form: AidForm | None = None, import_form: ImportForm | None = None,
            import_errors: dict[str, list[str]] | None = None, status: int = 200):
    number = normalise_registration(request.args.get("registration_number"))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    result = page_of(aid_query(number), page, PER_PAGE)
    can_write = current_user.has_any_role(*WRITERS)
    return render_template(
        "eligibility/de_minimis.html", result=result, per_page=PER_PAGE, registration_number=number,
        headroom=headroom(number, DEFAULT_CEILING, DEFAULT_YEARS) if number else None, can_write=can_write,
        aid_form=aid_form or AidForm(formdata=None), import_form=import_form or ImportForm(formdata=None),
        import_errors=import_errors or {}, source_labels=SOURCE_LABELS), status


@bp.get("/")
@login_required
@roles_required(*READERS)
def index():
    return _render()


@bp.post("/")
@login_required
@roles_required(*WRITERS)
def add():
    form = AidForm()
    if form.validate_on_submit():
        try:
            aid = add_aid(current_user, {name: field.data for name, field in form._fields.items()
                                         if name != "csrf_token"})
        except UserInputError as error:
            db.session.rollback()
            for name, messages in error.fields.items():
                form[name].errors = [*form[name].errors, *messages]
        else:
            db.session.commit()
            flash(_("The aid was added to the register."), "success")
            return redirect(url_for("de_minimis.index", registration_number=aid.registration_number))
    return _render(aid_form=form, status=422)


@bp.post("/import")
@login_required
@roles_required(*WRITERS)
def import_():
    form = ImportForm()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        upload = form.file.data
        content = upload.stream.read(MAX_BYTES + 1)
        try:
            count = import_csv(current_user, content, upload.filename or "")
        except UserInputError as error:
            db.session.rollback()
            form.file.errors = [*form.file.errors, *error.fields.pop("file", [])]
            errors = error.fields
            if errors and error.message:
                form.file.errors = [*form.file.errors, error.message]
        else:
            db.session.commit()
            flash(ngettext("%(num)d entry was imported.", "%(num)d entries were imported.", count), "success")
            return redirect(url_for("de_minimis.index"))
    return _render(import_form=form, import_errors=errors, status=422)
