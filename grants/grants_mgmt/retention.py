"""How long a grant's records and files are kept (DESIGN §7, §12 item 9).

EU funds: 5 years from 31 December of the year of the last payment (Regulation (EU) 2021/1060,
Art. 82); where the grant was de minimis aid, 10 years (Regulation (EU) 2023/2831, Art. 6(4)).
While a grant may still pay, the date is provisional: it moves with the last payment (before the
first one, it counts from the agreement's end). Nothing of a signed grant is deleted before its
date: the services refuse with a clear message, and so does the ORM, for any delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.applications.models import Application, Attachment, Submission
from grants.core.db import db, today
from grants.core.errors import Conflict
from grants.core.templating import format_day
from grants.eligibility.models import AidSource, DeMinimisAid
from grants.grants_mgmt.models import (
    GrantAgreement,
    GrantFile,
    GrantReport,
    Irregularity,
    Payment,
    RecoveryOrder,
    ReportDue,
)
from grants.grants_mgmt.models.payments import OPEN_PAYMENT_STATES

EU_FUNDS_YEARS = 5
DE_MINIMIS_YEARS = 10
#: States after which a grant pays nothing more.
CLOSED_STATES = frozenset({"completed", "terminated", "closed_at_gate"})


class RetentionHold(Conflict):
    code = "retention_period"


@dataclass(frozen=True)
class Retention:
    keep_until: date
    #: Kept 10 years as de minimis aid (else 5).
    de_minimis: bool
    #: The date the period counts from: the last payment's (or the agreement's end before any).
    basis: date
    #: The grant may still pay, so the date may still move.
    provisional: bool

    @property
    def years(self) -> int:
        return DE_MINIMIS_YEARS if self.de_minimis else EU_FUNDS_YEARS

    def as_dict(self) -> dict:
        return {"keep_until": self.keep_until, "years": self.years, "de_minimis": self.de_minimis,
                "basis": self.basis, "provisional": self.provisional}


def keep_until(basis: date, de_minimis: bool) -> date:
    return date(basis.year + (DE_MINIMIS_YEARS if de_minimis else EU_FUNDS_YEARS), 12, 31)


def _retention(execute, application_id: int) -> Retention | None:
    """The retention of one grant, read with ``execute`` (the session's, or a flush's connection)."""
    row = execute(sa.select(GrantAgreement.signed_at, GrantAgreement.end_date, Application.state)
                  .join(Application, Application.id == GrantAgreement.application_id)
                  .where(GrantAgreement.application_id == application_id)).one_or_none()
    if row is None or row.signed_at is None:
        return None
    last_paid, open_payments = execute(
        sa.select(sa.func.max(sa.case((Payment.state == "paid", Payment.paid_on))),
                  sa.func.count(sa.case((Payment.state.in_(OPEN_PAYMENT_STATES), 1))))
        .where(Payment.application_id == application_id)).one()
    de_minimis = execute(sa.select(sa.func.count()).select_from(DeMinimisAid).where(
        DeMinimisAid.application_id == application_id, DeMinimisAid.source == AidSource.AWARD)).scalar_one() > 0
    basis = last_paid or row.end_date
    provisional = row.state not in CLOSED_STATES or bool(open_payments) or last_paid is None
    return Retention(keep_until=keep_until(basis, de_minimis), de_minimis=de_minimis, basis=basis,
                     provisional=provisional)


def retention_of(application: Application) -> Retention | None:
    """The grant's retention (None before its agreement is signed: there is no grant yet)."""
    return _retention(db.session.execute, application.id)


def _refusal(retention: Retention | None, on: date) -> str | None:
    if retention is None:
        return None
    if retention.provisional:
        return _("This belongs to a grant that is still running: its records are kept until at least %(date)s "
                 "(five years after the year of the last payment; ten for de minimis aid) and cannot be deleted.",
                 date=format_day(retention.keep_until))
    if on <= retention.keep_until:
        return _("This belongs to a grant whose records must be kept until %(date)s; it cannot be deleted before "
                 "then.", date=format_day(retention.keep_until))
    return None


def refusal(application: Application, on: date | None = None) -> str | None:
    """Why the grant's records may not be deleted on ``on`` (today): None when they may."""
    return _refusal(retention_of(application), on or today())


# --- the ORM refuses too --------------------------------------------------------------------------------

def _application_id(connection, target) -> int | None:
    if isinstance(target, Application):
        return target.id
    if isinstance(target, RecoveryOrder):
        return connection.execute(sa.select(Irregularity.application_id)
                                  .where(Irregularity.id == target.irregularity_id)).scalar()
    return target.application_id


def _refuse_delete(mapper, connection, target) -> None:
    """Any delete of a signed grant's record, however it was asked for, before its date."""
    application_id = _application_id(connection, target)
    if application_id is None:
        return
    why = _refusal(_retention(connection.execute, application_id), today())
    if why is not None:
        raise RetentionHold(why)


for _model in (Application, Attachment, Submission, GrantAgreement, GrantFile, GrantReport, Payment, ReportDue,
               Irregularity, RecoveryOrder):
    sa.event.listen(_model, "before_delete", _refuse_delete)
