"""The irregularities register (DESIGN §7): officers record a suspected irregularity on a grant
(amount, what was found, when), confirm or dismiss it (``irregularity_v1``), issue recovery orders
and record what comes back; a confirmed irregularity stops the grant's payments and counts against
the organisation's later applications until it is recovered or written off.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from grants.applications.models import Application
from grants.audit.services import record_event
from grants.core.db import db
from grants.core.errors import Conflict, NotFound, UserInputError
from grants.core.templating import format_money
from grants.core.values import as_date, as_money
from grants.grants_mgmt.awards import approved_decision
from grants.grants_mgmt.models import Irregularity, RecoveryOrder
from grants.workflows.services import act

DESCRIPTION_MAX = 10000


def irregularities_of(application: Application) -> list[Irregularity]:
    return list(db.session.scalars(sa.select(Irregularity).where(Irregularity.application_id == application.id)
                                   .order_by(Irregularity.detected_on, Irregularity.id)).unique())


def get_irregularity(irregularity_id: int) -> Irregularity:
    irregularity = db.session.get(Irregularity, irregularity_id)
    if irregularity is None:
        raise NotFound()
    return irregularity


def record_irregularity(application: Application, actor, data: dict[str, Any], *, today: date) -> Irregularity:
    """Enter a suspected irregularity on an awarded application (officers). Flushes; audited."""
    if approved_decision(application) is None:
        raise Conflict(_("Irregularities are recorded on awarded grants."))
    errors: dict[str, list[str]] = {}
    amount = as_money(data.get("amount"))
    if amount is None or amount <= 0:
        errors["amount"] = [_("Give the amount concerned in euros, with at most two decimals.")]
    description = str(data.get("description") or "").strip()
    if not description:
        errors["description"] = [_("Describe what was found.")]
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = [_("Use at most %(max)d characters.", max=DESCRIPTION_MAX)]
    detected_on = as_date(data.get("detected_on"))
    if detected_on is None:
        errors["detected_on"] = [_("Give the date it was detected (YYYY-MM-DD).")]
    elif detected_on > today:
        errors["detected_on"] = [_("The date cannot be in the future.")]
    if errors:
        raise UserInputError(fields=errors)
    irregularity = Irregularity(application_id=application.id, amount=amount, description=description,
                                detected_on=detected_on, reported_by_id=actor.id)
    db.session.add(irregularity)
    db.session.flush()
    record_event(action="irregularity.create", object_type="irregularity", object_id=irregularity.id, actor=actor,
                 role="officer", payload={"application_id": application.id, "amount": amount,
                                          "description": description, "detected_on": detected_on})
    return irregularity


def act_on_irregularity(irregularity: Irregularity, trigger: str, actor, *, comment: str | None = None,
                        expected_version: int | None = None) -> Irregularity:
    return act(irregularity, trigger, actor, comment=comment, expected_version=expected_version)


def issue_recovery_order(irregularity: Irregularity, actor, data: dict[str, Any], *, today: date) -> RecoveryOrder:
    """Demand (part of) a confirmed irregularity's amount back; the orders never exceed it."""
    if irregularity.state != "confirmed":
        raise Conflict(_("Recovery orders are issued for a confirmed irregularity."))
    errors: dict[str, list[str]] = {}
    amount = as_money(data.get("amount"))
    outstanding = irregularity.amount - irregularity.ordered
    if amount is None or amount <= 0:
        errors["amount"] = [_("Give the amount to recover in euros, with at most two decimals.")]
    elif amount > outstanding:
        errors["amount"] = [_("At most %(amount)s is left to order back.", amount=format_money(outstanding))]
    issued_on = as_date(data.get("issued_on")) if data.get("issued_on") not in (None, "") else today
    due_on = as_date(data.get("due_on"))
    if issued_on is None:
        errors["issued_on"] = [_("Give the date (YYYY-MM-DD).")]
    elif issued_on > today:
        errors["issued_on"] = [_("The date cannot be in the future.")]
    if due_on is None:
        errors["due_on"] = [_("Give the due date (YYYY-MM-DD).")]
    elif issued_on is not None and due_on < issued_on:
        errors["due_on"] = [_("The due date cannot be before the order is issued.")]
    reference = str(data.get("reference") or "").strip()
    if len(reference) > 120:
        errors["reference"] = [_("At most 120 characters.")]
    if errors:
        raise UserInputError(fields=errors)
    order = RecoveryOrder(irregularity=irregularity, amount=amount, issued_on=issued_on, due_on=due_on,
                          reference=reference, created_by_id=actor.id)
    db.session.add(order)
    db.session.flush()
    record_event(action="irregularity.recovery_order", object_type="irregularity", object_id=irregularity.id,
                 actor=actor, role=_role(actor), payload={"order_id": order.id, "amount": amount,
                                                          "issued_on": issued_on, "due_on": due_on,
                                                          "reference": reference})
    return order


def record_recovery(order: RecoveryOrder, actor, data: dict[str, Any], *, today: date) -> RecoveryOrder:
    """Money came back on a recovery order: at most what is still outstanding on it."""
    errors: dict[str, list[str]] = {}
    amount = as_money(data.get("amount"))
    if amount is None or amount <= 0:
        errors["amount"] = [_("Give the amount received in euros, with at most two decimals.")]
    elif amount > order.outstanding:
        errors["amount"] = [_("At most %(amount)s is outstanding on this order.",
                              amount=format_money(order.outstanding))]
    received_on = as_date(data.get("received_on")) if data.get("received_on") not in (None, "") else today
    if received_on is None:
        errors["received_on"] = [_("Give the date (YYYY-MM-DD).")]
    elif received_on > today:
        errors["received_on"] = [_("The date cannot be in the future.")]
    if errors:
        raise UserInputError(fields=errors)
    order.recovered_amount = order.recovered_amount + amount
    order.recovered_on = received_on
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict() from None
    record_event(action="irregularity.recovery", object_type="irregularity", object_id=order.irregularity_id,
                 actor=actor, role=_role(actor), payload={"order_id": order.id, "amount": amount,
                                                          "received_on": received_on,
                                                          "recovered": order.recovered_amount})
    return order


def get_order(order_id: int) -> RecoveryOrder:
    order = db.session.get(RecoveryOrder, order_id)
    if order is None:
        raise NotFound()
    return order


def _role(actor) -> str:
    return "officer" if actor.has_role("officer") else "finance"
