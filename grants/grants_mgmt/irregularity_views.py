"""The irregularities register pages (DESIGN §7): the register programme staff read, filtered by state,
with its totals; one irregularity with its recovery orders and history, where officers confirm,
dismiss, write off or close it, issue recovery orders, and officers or finance record the money that
comes back. The grantee reads what was confirmed on its grants; auditors read everything.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.core.db import db, today
from grants.core.errors import Conflict, NotFound, PermissionDenied, UserInputError
from grants.core.roles import RoleCode
from grants.core.security import roles_required
from grants.grants_mgmt import irregularities
from grants.grants_mgmt.awards import GRANT_STAFF
from grants.grants_mgmt.listings import irregularities_page, irregularity_totals
from grants.grants_mgmt.models import Irregularity
from grants.grants_mgmt.models.irregularities import IRREGULARITY_STATES
from grants.grants_mgmt.permissions import get_readable, reads_all
from grants.grants_mgmt.report_forms import (
    ReceiptForm,
    RecoveryOrderForm,
    place_errors,
    take_action_listing_reasons,
)
from grants.workflows.engine import available_triggers, state_label
from grants.workflows.forms import ActionForm
from grants.workflows.history import history

bp = Blueprint("irregularities", __name__, url_prefix="/grants/irregularities")

PER_PAGE = 50
#: Far beyond any register: a larger page number would only overflow the database's OFFSET.
MAX_PAGE = 100_000
#: States of the register's rows (the listing selects no workflow): labels come from irregularity_v1.
_WORKFLOW = SimpleNamespace(workflow_name="irregularity", workflow_version=1)
#: What the grantee does not see: what is still being examined, and what proved no irregularity.
PRIVATE_STATES = ("suspected", "dismissed")
#: Who records money that came back.
RECEIVERS = (RoleCode.OFFICER, RoleCode.FINANCE)


def _labels() -> dict[str, str]:
    return {state: state_label(_WORKFLOW, state) for state in IRREGULARITY_STATES}


@bp.get("/")
@login_required
@roles_required(*GRANT_STAFF)
def register():
    state = request.args.get("state", "")
    state = state if state in IRREGULARITY_STATES else ""
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    rows, total = irregularities_page(state=state or None, page=page, per_page=PER_PAGE)
    found = irregularity_totals()
    totals = [{"state": code, "count": found.get(code, {}).get("count", 0),
               "amount": found.get(code, {}).get("amount", Decimal("0.00"))} for code in IRREGULARITY_STATES]
    return render_template("grants_mgmt/irregularities.html", rows=rows, state=state, page=page, total=total,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), labels=_labels(), totals=totals,
                           all_count=sum(t["count"] for t in totals),
                           all_amount=sum((t["amount"] for t in totals), Decimal("0.00")))


def _readable(irregularity_id: int) -> Irregularity:
    """As the API reads it: the grant's readers, but the grantee only once it is confirmed."""
    irregularity = irregularities.get_irregularity(irregularity_id)
    get_readable(current_user, irregularity.application_id)
    if not reads_all(current_user) and irregularity.state in PRIVATE_STATES:
        raise NotFound()
    return irregularity


@bp.route("/<int:irregularity_id>", methods=["GET", "POST"])
@login_required
def detail(irregularity_id: int):
    irregularity = _readable(irregularity_id)
    form = ActionForm()
    order_form = RecoveryOrderForm(prefix="order", formdata=None)
    receipt_forms: dict[int, ReceiptForm] = {}
    status, error, general, reasons = 200, None, [], []
    posted, posted_order = "", None
    if request.method == "POST":
        posted = "action" if "trigger" in request.form else request.form.get("form", "")
    if posted == "action":
        done, status, error, reasons = take_action_listing_reasons(
            form, lambda trigger, **kwargs: irregularities.act_on_irregularity(irregularity, trigger, current_user,
                                                                               **kwargs))
        if done:
            return redirect(url_for("irregularities.detail", irregularity_id=irregularity_id))
    elif posted == "order":
        if not current_user.has_role(RoleCode.OFFICER):
            raise PermissionDenied()
        order_form = RecoveryOrderForm(prefix="order")
        status, general = _save(order_form, lambda: irregularities.issue_recovery_order(
            irregularity, current_user, order_form.data, today=today()), _("The recovery order has been issued."))
        if status == 302:
            return redirect(url_for("irregularities.detail", irregularity_id=irregularity_id, _anchor="orders"))
    elif posted == "receipt":
        if not current_user.has_any_role(*RECEIVERS):
            raise PermissionDenied()
        order = irregularities.get_order(request.form.get("order_id", type=int) or 0)
        if order.irregularity_id != irregularity.id:
            raise NotFound()
        posted_order = order.id
        receipt = receipt_forms[order.id] = ReceiptForm(prefix=f"receipt{order.id}")
        status, general = _save(receipt, lambda: irregularities.record_recovery(
            order, current_user, receipt.data, today=today()), _("The money received has been recorded."))
        if status == 302:
            return redirect(url_for("irregularities.detail", irregularity_id=irregularity_id, _anchor="orders"))
    elif request.method == "POST":
        status, error = 400, _("The form was not recognised. Reload the page and try again.")
    if request.method == "POST":
        irregularity = _readable(irregularity_id)  # as it is now, after the rollback
    form.version.data = irregularity.version
    orders = irregularity.recovery_orders
    for order in orders:
        receipt_forms.setdefault(order.id, ReceiptForm(prefix=f"receipt{order.id}", formdata=None))
    is_officer = current_user.has_role(RoleCode.OFFICER)
    return render_template(
        "grants_mgmt/irregularity.html", irregularity=irregularity, application=irregularity.application,
        form=form, error=error, reasons=reasons, general=general, posted=posted, posted_order=posted_order,
        actions=available_triggers(irregularity, current_user), order_form=order_form,
        receipt_forms=receipt_forms, orders=orders,
        may_order=is_officer and irregularity.state == "confirmed",
        may_receive=current_user.has_any_role(*RECEIVERS), history=history(irregularity, current_user),
        outstanding=irregularity.ordered - irregularity.recovered,
        left_to_order=irregularity.amount - irregularity.ordered, staff=reads_all(current_user)), status


def _save(form, call, done_message: str) -> tuple[int, list[str]]:
    """Validate ``form`` (CSRF), call the service, commit and flash; on refusal roll back and say why by
    field: ``(302, [])`` when done, else the status and what names no field."""
    if not form.validate_on_submit():
        return 422, [_("The form has expired. Please send it again.")] if "csrf_token" in form.errors else []
    try:
        call()
    except UserInputError as refused:
        db.session.rollback()
        return refused.status, place_errors(form, refused.fields)
    except (Conflict, PermissionDenied) as refused:
        db.session.rollback()
        return refused.status, [str(refused.message or refused.default_message)]
    db.session.commit()
    flash(done_message, "success")
    return 302, []
