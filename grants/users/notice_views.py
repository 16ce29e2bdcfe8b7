"""A person's notifications page: the in-app copies of the messages e-mailed to them (grants.users.notices),
newest first, unread ones marked; opening one marks it read and leads to the page it is about."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.core.db import db
from grants.core.forms import BaseForm
from grants.core.paging import page_of
from grants.users import notices

bp = Blueprint("notices", __name__, url_prefix="/notifications")

PER_PAGE = 25


class MarkReadForm(BaseForm):
    """The CSRF-protected button that marks every notification read."""


@bp.get("/")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    result = page_of(notices.notices_query(current_user, unread_only=unread_only), page, PER_PAGE)
    return render_template("users/notifications.html", result=result, per_page=PER_PAGE, unread_only=unread_only,
                           form=MarkReadForm(), link_of=notices.link_of)


@bp.get("/<int:notice_id>")
@login_required
def open_notice(notice_id: int):
    """The notice, marked read; it leads on to the page it is about when there is one."""
    notice = notices.get_notice(current_user, notice_id)
    if notice.read_at is None:
        notices.mark_read(current_user, [notice.id])
        db.session.commit()
    return render_template("users/notification.html", notice=notice, link=notices.link_of(notice))


@bp.post("/read")
@login_required
def mark_all_read():
    form = MarkReadForm()
    if form.validate_on_submit():
        notices.mark_read(current_user)
        db.session.commit()
        flash(_("Every notification is marked read."), "success")
    return redirect(url_for("notices.index"))
