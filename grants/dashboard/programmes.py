"""Programme pages: the list, a programme's dashboard (its money from the budget to what was paid, the funnel of
its applications, each call's figures, with charts), and the forms that create and change a programme.

The figures come from the funder report of the programme (grants.reports.statistics, kept per process while
nothing it counts changes) and from three grouped statements over the programme's calls; none grows with the
number of applications in statements.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from grants.applications.models import Application, Submission
from grants.calls import programmes
from grants.calls.models import Call, Programme
from grants.core.codes import FUND_SOURCE_LABELS, FundSource, label
from grants.core.db import db, money_sum
from grants.core.errors import UserInputError
from grants.core.forms import TOO_LONG, BaseForm
from grants.core.kept import Kept
from grants.core.security import roles_required
from grants.grants_mgmt.models import GrantAgreement, Payment
from grants.initiatives.stages import STAGE_MODELS
from grants.reports import statistics
from grants.reports.charts import COLOURS, Series, bar_chart, funnel

bp = Blueprint("programmes", __name__, url_prefix="/programmes")

ZERO = Decimal("0.00")


class ProgrammeForm(BaseForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the programme's code.")),
                                               Length(max=40, message=TOO_LONG)])
    title_lv = StringField(_l("Title in Latvian"), validators=[DataRequired(_l("Enter the title in Latvian.")),
                                                              Length(max=300, message=TOO_LONG)])
    title_en = StringField(_l("Title in English"), validators=[DataRequired(_l("Enter the title in English.")),
                                                              Length(max=300, message=TOO_LONG)])
    fund_source = SelectField(_l("Fund source"), validators=[DataRequired(_l("Choose the fund source."))])
    budget = StringField(_l("Budget (EUR)"), validators=[DataRequired(_l("Enter the budget."))])
    starts_on = StringField(_l("Starts on (YYYY-MM-DD)"), validators=[DataRequired(_l("Enter the first day."))])
    ends_on = StringField(_l("Ends on (YYYY-MM-DD)"), validators=[DataRequired(_l("Enter the last day."))])
    stage_model = SelectField(_l("SI stage model"), validators=[DataRequired(_l("Choose the stage model."))])

    def prepare(self) -> None:
        self.fund_source.choices = [(source.value, label(FUND_SOURCE_LABELS, source)) for source in FundSource]
        self.stage_model.choices = [(code, str(model.title)) for code, model in STAGE_MODELS.items()]

    def fill(self, programme: Programme) -> None:
        self.code.data, self.title_lv.data, self.title_en.data = programme.code, programme.title_lv, programme.title_en
        self.fund_source.data, self.stage_model.data = programme.fund_source.value, programme.stage_model
        self.budget.data = f"{programme.budget:.2f}"
        self.starts_on.data, self.ends_on.data = programme.starts_on.isoformat(), programme.ends_on.isoformat()

    def values(self) -> dict[str, Any]:
        """What was typed, read by the API's schema (the same rules for both); a wrong field raises
        :class:`UserInputError` naming it."""
        typed = {name: (getattr(self, name).data or "").strip() for name in
                 ("code", "title_lv", "title_en", "fund_source", "budget", "starts_on", "ends_on", "stage_model")}
        typed["budget"] = typed["budget"].replace(" ", "").replace("\u00a0", "").replace(",", ".")
        try:
            return programmes.ProgrammeInputSchema().load(typed)
        except ma.ValidationError as refused:
            fields = {key: [str(message) for message in (value if isinstance(value, list) else [value])]
                      for key, value in refused.messages.items()}
            raise UserInputError(_("The programme was not saved: see the fields marked."), fields=fields) from None


def _attach(form: ProgrammeForm, error: UserInputError) -> list[str]:
    general = []
    for key, messages in error.fields.items():
        target = getattr(form, key, None)
        if target is None:
            general.extend(messages)
        else:
            target.errors = [*target.errors, *messages]
    return general


@bp.get("/")
@login_required
@roles_required(*programmes.READERS)
def index():
    items = list(db.session.scalars(programmes.programmes_query()))
    held = programmes.allocated([programme.id for programme in items])
    return render_template("programmes/index.html", items=items, held=held,
                           may_edit=current_user.has_any_role(*programmes.EDITORS))


@bp.route("/new", methods=["GET", "POST"])
@login_required
@roles_required(*programmes.EDITORS)
def new():
    form = ProgrammeForm()
    form.prepare()
    general: list[str] = []
    if request.method == "GET":
        form.fund_source.data, form.stage_model.data = FundSource.ESF_PLUS.value, next(iter(STAGE_MODELS))
    elif form.validate_on_submit():
        try:
            programme = programmes.create_programme(current_user, form.values())
        except UserInputError as error:
            db.session.rollback()
            general = _attach(form, error)
        else:
            db.session.commit()
            flash(_("The programme was saved."), "success")
            return redirect(url_for("programmes.detail", programme_id=programme.id))
    return render_template("programmes/edit.html", form=form, programme=None, general=general), \
        (422 if request.method == "POST" else 200)


@bp.route("/<int:programme_id>/edit", methods=["GET", "POST"])
@login_required
@roles_required(*programmes.EDITORS)
def edit(programme_id: int):
    programme = programmes.get_programme(programme_id)
    form = ProgrammeForm()
    form.prepare()
    general: list[str] = []
    if request.method == "GET":
        form.fill(programme)
    elif form.validate_on_submit():
        try:
            programmes.update_programme(programme, current_user, form.values())
        except UserInputError as error:
            db.session.rollback()
            general = _attach(form, error)
        else:
            db.session.commit()
            flash(_("The programme was saved."), "success")
            return redirect(url_for("programmes.detail", programme_id=programme_id))
    return render_template("programmes/edit.html", form=form, programme=programme, general=general), \
        (422 if request.method == "POST" else 200)



#: Each programme's call figures, kept per process while nothing the funder reports count has changed (the same
#: fingerprint): the three grouped statements read every application of the programme.
_kept_figures = Kept(32)


def _figures(ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per call: applications received (submitted at least once), grants signed, awarded and paid."""
    figures = {call_id: {"received": 0, "grants": 0, "awarded": ZERO, "paid": ZERO} for call_id in ids}
    if not ids:
        return figures
    for call_id, count in db.session.execute(
            sa.select(Application.call_id, sa.func.count(Application.id))
            .join(Submission, sa.and_(Submission.application_id == Application.id, Submission.round == 1))
            .where(Application.call_id.in_(ids)).group_by(Application.call_id)):
        figures[call_id]["received"] = int(count)
    for call_id, count, total in db.session.execute(
            sa.select(Application.call_id, sa.func.count(GrantAgreement.id), money_sum(GrantAgreement.awarded_amount))
            .join(Application, Application.id == GrantAgreement.application_id)
            .where(Application.call_id.in_(ids)).group_by(Application.call_id)):
        figures[call_id].update(grants=int(count), awarded=total or ZERO)
    for call_id, total in db.session.execute(
            sa.select(Application.call_id, money_sum(Payment.amount))
            .join(Application, Application.id == Payment.application_id)
            .where(Application.call_id.in_(ids), Payment.state == "paid").group_by(Application.call_id)):
        figures[call_id]["paid"] = total or ZERO
    return figures


def call_figures(programme: Programme) -> list[dict[str, Any]]:
    """Each call of the programme with its budget, applications received (submitted at least once), grants
    signed, awarded and paid: the calls, then the figures as kept (one statement) or counted (three)."""
    calls = list(db.session.scalars(sa.select(Call).where(Call.programme_id == programme.id)
                                    .order_by(Call.opens_at, Call.code)))
    ids = [call.id for call in calls]
    figures = _kept_figures.get((programme.id, tuple(ids)), statistics.fingerprint(), lambda: _figures(ids))
    return [{"call": call, **figures[call.id]} for call in calls]


@bp.get("/<int:programme_id>")
@login_required
@roles_required(*programmes.READERS)
def detail(programme_id: int):
    """The programme's dashboard."""
    programme = programmes.get_programme(programme_id)
    report = statistics.programme_report(programme)
    calls = call_figures(programme)
    held = sum((row["call"].budget for row in calls), ZERO)
    money = {"budget": programme.budget, "allocated": held, "awarded": report.money["awarded"],
             "paid": report.money["paid"]}
    names = {"budget": _("Budget"), "allocated": _("Held by calls"), "awarded": _("Awarded"), "paid": _("Paid")}
    colours = {"budget": "#4a4a4a", "allocated": COLOURS["requested"], "awarded": COLOURS["awarded"],
               "paid": COLOURS["paid"]}
    money_chart = bar_chart("programme-money", _("The programme's money (EUR)"),
                            [Series(key, names[key], colours[key]) for key in money],
                            [("programme", programme.code, money)], money=True)
    steps = [(key, str(statistics.FUNNEL_LABELS[key]), report.funnel[key]) for key in statistics.FUNNEL_STEPS]
    funnel_chart = funnel("programme-funnel", _("Applications from received to funded"), steps)
    calls_chart = bar_chart("programme-calls", _("Each call: budget, awarded and paid (EUR)"),
                            [Series("budget", _("Budget"), colours["budget"]),
                             Series("awarded", names["awarded"], colours["awarded"]),
                             Series("paid", names["paid"], colours["paid"])],
                            [(str(row["call"].id), row["call"].code,
                              {"budget": row["call"].budget, "awarded": row["awarded"], "paid": row["paid"]})
                             for row in calls], money=True)
    return render_template("programmes/detail.html", programme=programme, report=report, calls=calls, money=money,
                           names=names, unallocated=programme.budget - held, charts={
                               "money": money_chart, "funnel": funnel_chart, "calls": calls_chart},
                           may_edit=current_user.has_any_role(*programmes.EDITORS))
