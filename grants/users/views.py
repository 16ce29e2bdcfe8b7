"""Sign in (password, then the second step when it is on), sign out, register, the account page and
setting up two-step sign-in.

Between the password and the second step the session holds only a note of whose password was
right (for a few minutes): nobody is signed in, so every other page treats the browser as
anonymous. Staff who must use two-step sign-in (``REQUIRE_STAFF_2FA``) and have not set it up
are signed in but sent to set it up from every page except that one, signing out and the
language switch; under /api their requests get 403 ``two_factor_enrolment_required``.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from grants.core.auth import is_api_request
from grants.core.db import db
from grants.core.errors import UserInputError
from grants.core.extensions import limiter, login_rate_limit, only_post
from grants.core.i18n import current_language
from grants.core.templating import safe_next
from grants.users import two_factor
from grants.users.forms import (
    ConfirmTwoFactorForm,
    LoginForm,
    ReauthenticateForm,
    RegistrationForm,
    SecondFactorForm,
)
from grants.users.models import User
from grants.users.services import (
    check_password,
    check_second_factor,
    complete_login,
    reauthenticate,
    register_user,
)

bp = Blueprint("users", __name__)

#: Session key of a sign-in waiting for its second step: ``{user_id, remember, next, since}``.
PENDING = "two_factor_pending"
#: Seconds the second step may wait after the password.
PENDING_SECONDS = 300
#: What someone who must still set up two-step sign-in may open.
ENROLMENT_ENDPOINTS = frozenset({"users.two_factor_setup", "users.logout", "core.set_language", "core.health",
                                 "static"})


@bp.before_app_request
def _send_to_enrolment():
    """Staff without two-step sign-in, where it is required, can do nothing else until it is on."""
    if not current_app.config["REQUIRE_STAFF_2FA"] or request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    if not current_user.is_authenticated or not two_factor.must_enrol(current_user):
        return None
    if is_api_request():
        raise two_factor.EnrolmentRequired()
    flash(_("Your role requires two-step sign-in. Set it up to continue."), "info")
    return redirect(url_for("users.two_factor_setup"))


def _sign_in(user: User, remember: bool):
    """A fresh session for the signed-in user (nothing of the anonymous one carries over but the language)."""
    lang = session.get("lang")
    session.clear()
    login_user(user, remember=remember)
    session["lang"] = lang or user.locale


def _after_sign_in(user: User, target: str | None):
    if two_factor.must_enrol(user):
        flash(_("Your role requires two-step sign-in. Set it up to continue."), "info")
        return redirect(url_for("users.two_factor_setup"))
    return redirect(safe_next(target, url_for("dashboard.index")))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, exempt_when=only_post)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if PENDING in session:  # starting again: a waiting second step is dropped
        session.pop(PENDING)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = check_password(form.email.data, form.password.data)
        db.session.commit()  # failed-login counters are kept even when the login fails
        if user is not None and user.has_two_factor:
            session[PENDING] = {"user_id": user.id, "remember": bool(form.remember.data),
                                "next": request.args.get("next"), "since": int(time.time())}
            return redirect(url_for("users.login_second_step"))
        if user is not None:
            complete_login(user)
            db.session.commit()
            _sign_in(user, form.remember.data)
            return _after_sign_in(user, request.args.get("next"))
        form.password.errors.append(
            _("Wrong e-mail or password, or the account is temporarily locked after too many attempts."))
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("users/login.html", form=form), status


def _pending_user() -> tuple[User, dict] | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > PENDING_SECONDS:
        return None
    user = db.session.get(User, pending.get("user_id"))
    if user is None or not user.is_active or not user.has_two_factor:
        return None
    return user, pending


@bp.route("/login/second-step", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, exempt_when=only_post)
def login_second_step():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    found = _pending_user()
    if found is None:
        session.pop(PENDING, None)
        flash(_("Please sign in again: the second step waits for at most five minutes."), "info")
        return redirect(url_for("users.login"))
    user, pending = found
    form = SecondFactorForm()
    status = 200
    if form.validate_on_submit():
        code = form.code.data.strip()
        if two_factor.looks_like_totp(code):
            good = check_second_factor(user, totp=code)
        else:
            good = check_second_factor(user, recovery_code=code)
        db.session.commit()
        if good:
            _sign_in(user, pending.get("remember", False))
            left = two_factor.recovery_codes_left(user)
            if left <= 3:
                flash(_("You have %(n)d recovery codes left. Make new ones on your account page.", n=left),
                      "info")
            return _after_sign_in(user, pending.get("next"))
        if user.is_locked():
            session.pop(PENDING, None)
            flash(_("Too many wrong codes: the account is locked for a while. Try again later."), "error")
            return redirect(url_for("users.login"))
        form.code.errors.append(_("This code is not right, or it was used already. Enter the code the app shows "
                                  "now, or an unused recovery code."))
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("users/second_step.html", form=form), status


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


# --- the account and its second factor ------------------------------------------------------------------------

def _account_page(codes_form=None, disable_form=None, status: int = 200):
    return render_template(
        "users/account.html", codes_form=codes_form or ReauthenticateForm(prefix="codes"),
        disable_form=disable_form or ReauthenticateForm(prefix="disable"),
        codes_left=two_factor.recovery_codes_left(current_user) if current_user.has_two_factor else 0,
        required=two_factor.must_enrol(current_user) or (
            current_app.config["REQUIRE_STAFF_2FA"] and current_user.is_staff)), status


@bp.get("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/two-step/setup", methods=["GET", "POST"])
@login_required
@limiter.limit(login_rate_limit, exempt_when=only_post)
def two_factor_setup():
    """The QR code and the seed for the app, and the first code that turns it on."""
    if current_user.has_two_factor:
        flash(_("Two-step sign-in is already on."), "info")
        return redirect(url_for("users.account"))
    form = ConfirmTwoFactorForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(current_user, form.code.data)
        except UserInputError as error:
            form.code.errors.extend(error.fields["code"])
            status = 422
        else:
            db.session.commit()
            return render_template("users/recovery_codes.html", codes=codes, first_time=True)
    elif form.is_submitted():
        status = 422
    seed = two_factor.start_enrolment(current_user)
    db.session.commit()
    uri = two_factor.provisioning_uri(current_user, seed)
    return render_template("users/two_factor_setup.html", form=form, seed=two_factor.grouped(seed),
                           qr=two_factor.qr_svg(uri, _("QR code for your authenticator app")),
                           required=two_factor.must_enrol(current_user)), status


def _after_reauthentication(prefix: str, then):
    """A two-step change asked for on the account page (the form ``prefix``): with the password and a current
    code, ``then()`` makes it and answers; otherwise the account page again with the form's errors (422 for
    what is missing, 401 for a wrong password or code, the failed attempt recorded)."""
    form = ReauthenticateForm(prefix=prefix)
    if not current_user.has_two_factor:
        return redirect(url_for("users.account"))
    if not form.validate_on_submit():
        return _account_page(**{f"{prefix}_form": form}, status=422)
    if not reauthenticate(current_user, form.password.data, form.code.data):
        db.session.commit()
        form.code.errors.append(_("The password or the code is not right."))
        return _account_page(**{f"{prefix}_form": form}, status=401)
    return then()


@bp.post("/account/two-step/recovery-codes")
@login_required
@limiter.limit(login_rate_limit)
def two_factor_recovery_codes():
    """New recovery codes, after the password and a code."""

    def regenerate():
        codes = two_factor.regenerate_recovery_codes(current_user)
        db.session.commit()
        return render_template("users/recovery_codes.html", codes=codes, first_time=False)

    return _after_reauthentication("codes", regenerate)


@bp.post("/account/two-step/disable")
@login_required
@limiter.limit(login_rate_limit)
def two_factor_disable():
    """Turn two-step sign-in off, after the password and a code."""
    return _after_reauthentication("disable", _disable_two_factor)


def _disable_two_factor():
    two_factor.remove_two_factor(current_user, current_user)
    db.session.commit()
    if two_factor.must_enrol(current_user):
        flash(_("Two-step sign-in is off. Your role requires it: set it up again with your new device."), "info")
        return redirect(url_for("users.two_factor_setup"))
    flash(_("Two-step sign-in is off. Signing in now needs only your password."), "success")
    return redirect(url_for("users.account"))
