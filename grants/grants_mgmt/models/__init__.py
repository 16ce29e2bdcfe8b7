"""Grants after award (DESIGN §7): agreements, payments, reports, indicators, irregularities."""

from grants.grants_mgmt.models.agreements import FilePurpose, GrantAgreement, GrantFile, ReportDue, ReportKind
from grants.grants_mgmt.models.indicators import CallIndicatorTarget, Indicator
from grants.grants_mgmt.models.irregularities import Irregularity, RecoveryOrder
from grants.grants_mgmt.models.payments import Payment, PaymentKind
from grants.grants_mgmt.models.reports import GrantReport

__all__ = ["CallIndicatorTarget", "FilePurpose", "GrantAgreement", "GrantFile", "GrantReport", "Indicator",
           "Irregularity", "Payment", "PaymentKind", "RecoveryOrder", "ReportDue", "ReportKind"]
