from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from grants.core.forms import TOO_LONG, BaseForm
from grants.users.services import MIN_PASSWORD_LENGTH, find_user_by_email


class LoginForm(BaseForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(_l("Enter your e-mail address.")),
                                                 Email(_l("Enter a valid e-mail address."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    remember = BooleanField(_l("Keep me signed in on this device"))


class RegistrationForm(BaseForm):
    name = StringField(_l("Full name"),
                       validators=[DataRequired(_l("Enter your name.")), Length(max=200, message=TOO_LONG)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(_l("Enter your e-mail address.")),
                                                 Email(_l("Enter a valid e-mail address.")),
                                                 Length(max=254, message=TOO_LONG)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Choose a password.")),
                    Length(min=MIN_PASSWORD_LENGTH, max=200,
                           message=_l("Use between %(min)d and %(max)d characters."))],
        description=_l("At least %(n)d characters. A few unrelated words make a good password.",
                       n=MIN_PASSWORD_LENGTH),
    )
    password_again = PasswordField(
        _l("Password again"),
        validators=[DataRequired(_l("Repeat the password.")),
                    EqualTo("password", _l("The passwords do not match."))])

    def validate_email(self, field):
        if find_user_by_email(field.data) is not None:
            raise ValidationError(_l("An account with this e-mail address already exists."))


class SecondFactorForm(BaseForm):
    """The second step of signing in: a code from the app or a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("Enter the code.")), Length(max=40, message=TOO_LONG)],
        description=_l("The six digits your authenticator app shows now, or one of your recovery codes."))


class ConfirmTwoFactorForm(BaseForm):
    """Setting up: the first code the app shows confirms it reads the seed right."""

    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(_l("Enter the six-digit code the app shows.")), Length(max=12, message=TOO_LONG)],
        description=_l("After adding the account, the app shows a new six-digit code every 30 seconds."))


class ReauthenticateForm(BaseForm):
    """Proving again who one is before changing the second factor."""

    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=200, message=TOO_LONG)])
    code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("Enter the code.")), Length(max=40, message=TOO_LONG)],
        description=_l("The six digits your authenticator app shows now, or one of your recovery codes."))
