"""Sign in, sign out, register."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from grants.core.db import db
from grants.core.errors import UserInputError
from grants.core.extensions import limiter, login_rate_limit, only_post
from grants.core.i18n import current_language
from grants.core.templating import safe_next
from grants.users.forms import LoginForm, RegistrationForm
from grants.users.services import authenticate, register_user

bp = Blueprint("users", __name__)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, exempt_when=only_post)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        db.session.commit()  # failed-login counters are kept even when the login fails
        if user is not None:
            session.clear()
            login_user(user, remember=form.remember.data)
            session["lang"] = session.get("lang") or user.locale
            return redirect(safe_next(request.args.get("next"), url_for("dashboard.index")))
        form.password.errors.append(
            _("Wrong e-mail or password, or the account is temporarily locked after too many attempts."))
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("users/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("home.index"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = RegistrationForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = register_user(email=form.email.data, password=form.password.data, name=form.name.data,
                                 locale=current_language())
        except UserInputError as error:
            for field, messages in error.fields.items():
                getattr(form, field).errors.extend(messages)
            status = 422
        else:
            db.session.commit()
            login_user(user)
            flash(_("Welcome! Your account is ready. Start by adding your organisation."), "success")
            return redirect(url_for("organisations.new"))
    elif form.is_submitted():
        status = 422
    return render_template("users/register.html", form=form), status
