"""The form behind the action buttons of every workflow object's page."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from grants.core.db import db
from grants.core.errors import Conflict, PermissionDenied, TransitionNotAllowed, UserInputError
from grants.core.forms import TOO_LONG, BaseForm


class ActionForm(BaseForm):
    """One comment box and one button per action; the pressed button names the trigger."""

    trigger = HiddenField(validators=[InputRequired(), Length(max=60)])
    comment = TextAreaField(_l("Comment"),
                            description=_l("Some actions need one: a question, a reason or a justification. "
                                           "The applicant sees it in the history."),
                            validators=[Optional(), Length(max=5000, message=TOO_LONG)])
    #: The version the page showed: acting on a changed object is refused, not guessed at.
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


def take_action(form: ActionForm, fire: Callable[..., object]) -> tuple[bool, int, str | None]:
    """Validate the form and fire; ``(done, http status, error message)``.

    On success the transaction is committed and a message flashed. On refusal nothing is
    saved and the message says why, for the page to show next to the kept comment.
    """
    if not form.validate_on_submit():
        return False, 422, None
    try:
        fire(form.trigger.data, comment=form.comment.data, expected_version=form.version.data)
    except TransitionNotAllowed as refused:
        db.session.rollback()
        reasons = "; ".join(reason["message"] for reason in refused.reasons) or str(refused)
        return False, 409, reasons
    except UserInputError as refused:
        db.session.rollback()
        details = [message for messages in refused.fields.values() for message in messages]
        return False, refused.status, " ".join(details) or str(refused)
    except (Conflict, PermissionDenied) as refused:
        db.session.rollback()
        return False, refused.status, str(refused)
    db.session.commit()
    flash(_("Done."), "success")
    return True, 200, None
