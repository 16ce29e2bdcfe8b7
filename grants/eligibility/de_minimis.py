"""The de minimis register: aid granted to undertakings, for the rolling-period ceiling check.

Officers, finance and administrators add entries one by one or import a CSV export of the
national register; awards of this programme are added by the workflow (``register_award``).
Auditors read it. Every write is audited in the same transaction: one event per entry added by
hand, one per import (with its row count and the file's SHA-256).

The CSV has a header row with the columns ``registration_number, undertaking, amount,
granted_on, granting_authority, reference`` (``,`` or ``;`` between fields, UTF-8 with or
without a BOM, decimal comma or point, dates as YYYY-MM-DD or DD.MM.YYYY). Every row is checked
before anything is written: one bad row and nothing is imported, every error named by its line
and column (``line 3.amount``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from grants.audit.services import acting_role, record_event
from grants.core.db import db, today
from grants.core.errors import UserInputError
from grants.core.roles import RoleCode
from grants.eligibility.checks import _years_before
from grants.eligibility.models import AidSource, DeMinimisAid
from grants.organisations.models import Organisation

#: Who adds to the register (by hand or by import).
WRITERS = (RoleCode.OFFICER, RoleCode.FINANCE, RoleCode.ADMIN)
#: Who reads it.
READERS = (*WRITERS, RoleCode.AUDITOR)

COLUMNS = ("registration_number", "undertaking", "amount", "granted_on", "granting_authority", "reference")
REQUIRED = ("registration_number", "amount", "granted_on", "granting_authority")
LIMITS = {"registration_number": 50, "undertaking": 300, "granting_authority": 300, "reference": 120}
MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024
#: More than any single aid could be (and well inside the BIGINT of cents).
MAX_AMOUNT = Decimal("1000000000.00")
DEFAULT_CEILING = Decimal("300000.00")
DEFAULT_YEARS = 3
MAX_YEARS = 10

_REGISTRATION_RE = re.compile(r"^[A-Za-z0-9\-/ ]+$")
_DMY_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPACES = re.compile(r"[\s\u00a0\u202f]")


# --- Reading -----------------------------------------------------------------------------------

def normalise_registration(value: str | None) -> str:
    return " ".join((value or "").split())


def aid_query(registration_number: str | None = None) -> sa.Select:
    """The register, newest first (by grant date, then by entry), optionally of one undertaking."""
    query = sa.select(DeMinimisAid).order_by(DeMinimisAid.granted_on.desc(), DeMinimisAid.id.desc())
    number = normalise_registration(registration_number)
    if number:
        query = query.where(DeMinimisAid.registration_number == number)
    return query


def headroom(registration_number: str, ceiling: Decimal | str | int = DEFAULT_CEILING, years: int = DEFAULT_YEARS,
             on: date | None = None) -> dict[str, Any]:
    """Aid the undertaking received in the rolling period ending ``on`` (inclusive; it starts on
    the same calendar day ``years`` earlier, as the de minimis check counts it), and what is left
    of the ceiling (never below zero)."""
    on = on or today()
    ceiling = Decimal(ceiling).quantize(Decimal("0.01"))
    since = _years_before(on, years)
    number = normalise_registration(registration_number)
    received = _received(number, since, on)
    return {"registration_number": number, "ceiling": ceiling, "years": years, "since": since, "on": on,
            "received": received, "remaining": max(ceiling - received, Decimal("0.00"))}


def _received(number: str, since: date, on: date, excluding_application: int | None = None) -> Decimal:
    """Aid the undertaking ``number`` was granted from ``since`` to ``on`` (both inclusive), without the entries
    of the application ``excluding_application``: summed in cents by the database."""
    query = sa.select(sa.func.sum(DeMinimisAid.amount)).where(
        DeMinimisAid.registration_number == number, DeMinimisAid.granted_on >= since, DeMinimisAid.granted_on <= on)
    if excluding_application is not None:
        query = query.where(sa.or_(DeMinimisAid.application_id.is_(None),
                                   DeMinimisAid.application_id != excluding_application))
    return Decimal(db.session.execute(query).scalar_one() or 0).quantize(Decimal("0.01"))


def rule_of(call) -> tuple[Decimal, int] | None:
    """The ceiling and the rolling period (years) of the call's de minimis rule, or None when the call
    does not check de minimis (its aid is then not de minimis aid: nothing is registered for it)."""
    for rule in call.eligibility_rules or []:
        if rule.get("check") == "de_minimis":
            params = rule.get("params") or {}
            return (Decimal(str(params.get("ceiling", DEFAULT_CEILING))).quantize(Decimal("0.01")),
                    int(params.get("years", DEFAULT_YEARS)))
    return None


def over_ceiling(application, aid: Decimal, on: date | None = None) -> dict[str, Any] | None:
    """Would the undertaking's de minimis aid go over the call's ceiling if ``application`` brought it
    ``aid`` in all (what is decided, awarded or paid for it, whichever is being granted now)?

    Read with the register as it is at this moment: aid granted in the rolling period ending ``on``
    (today), without the application's own entries, plus ``aid``. None when within the ceiling
    (exactly at it is within) or when the call does not check de minimis; otherwise the figures.
    The organisation's row is locked first, so two grants to one undertaking are checked one after the
    other (on PostgreSQL; SQLite serialises writers anyway)."""
    rule = rule_of(application.call)
    if rule is None:
        return None
    ceiling, years = rule
    on = on or today()
    since = _years_before(on, years)
    organisation = application.organisation
    db.session.execute(sa.select(Organisation.id).where(Organisation.id == organisation.id).with_for_update())
    number = normalise_registration(organisation.registration_number)
    received = _received(number, since, on, excluding_application=application.id)
    aid = Decimal(aid).quantize(Decimal("0.01"))
    if received + aid <= ceiling:
        return None
    return {"registration_number": number, "undertaking": organisation.name, "ceiling": ceiling, "years": years,
            "since": since, "on": on, "received": received, "aid": aid, "total": received + aid,
            "remaining": max(ceiling - received, Decimal("0.00"))}


# --- Checking values ---------------------------------------------------------------------------

def parse_amount(value: Any) -> Decimal:
    """Euros with at most two decimals, a decimal comma or point; ``ValueError`` with the message."""
    if isinstance(value, Decimal | int):
        amount = Decimal(value)
    else:
        text = _SPACES.sub("", str(value or ""))
        if not text:
            raise ValueError(_("Enter the amount."))
        if "," in text and "." in text:
            raise ValueError(_("Use one decimal separator (a comma or a point), no thousands separators."))
        try:
            amount = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("Enter an amount in euros, e.g. 1500.00.")) from None
    if not amount.is_finite():
        raise ValueError(_("Enter an amount in euros, e.g. 1500.00."))
    if amount < 0:
        raise ValueError(_("The amount cannot be negative."))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_("Use at most two decimals (whole cents)."))
    if amount > MAX_AMOUNT:
        raise ValueError(_("The amount is too large."))
    return amount.quantize(Decimal("0.01"))


def parse_date(value: Any, on: date | None = None) -> date:
    """YYYY-MM-DD or DD.MM.YYYY, not after ``on`` (today in Riga)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        parsed = value
    else:
        text = str(value or "").strip()
        if not text:
            raise ValueError(_("Enter the date the aid was granted."))
        try:
            if _ISO_RE.match(text):
                parsed = date.fromisoformat(text)
            elif match := _DMY_RE.match(text):
                parsed = date(int(match[3]), int(match[2]), int(match[1]))
            else:
                raise ValueError
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD or DD.MM.YYYY.")) from None
    if parsed > (on or today()):
        raise ValueError(_("The date cannot be in the future."))
    return parsed


def check_entry(data: dict[str, Any], on: date | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``(values, errors)`` of one entry: errors by field, values only of the fields that are right."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in ("registration_number", "undertaking", "granting_authority", "reference"):
        text = " ".join(str(data.get(name) or "").split())
        if name in REQUIRED and not text:
            errors[name] = [_("Enter the registration number.") if name == "registration_number"
                            else _("Enter who granted the aid.")]
        elif len(text) > LIMITS[name]:
            errors[name] = [_("Use at most %(max)d characters.", max=LIMITS[name])]
        elif name == "registration_number" and not _REGISTRATION_RE.match(text):
            errors[name] = [_("Use letters, digits, spaces, - and / only.")]
        else:
            values[name] = text
    for name, parse in (("amount", parse_amount), ("granted_on", lambda v: parse_date(v, on))):
        try:
            values[name] = parse(data.get(name))
        except ValueError as error:
            errors[name] = [str(error)]
    return values, errors


# --- Writing -----------------------------------------------------------------------------------

def add_aid(actor, data: dict[str, Any]) -> DeMinimisAid:
    """One entry typed in by hand (source ``manual``), audited; 422 with the fields that are wrong."""
    values, errors = check_entry(data)
    if errors:
        raise UserInputError(fields=errors)
    aid = DeMinimisAid(**values, source=AidSource.MANUAL)
    db.session.add(aid)
    db.session.flush()
    record_event(action="de_minimis.add", object_type="de_minimis_aid", object_id=aid.id, actor=actor,
                 role=acting_role(actor, WRITERS),
                 payload={"registration_number": aid.registration_number, "amount": f"{aid.amount:.2f}",
                          "granted_on": aid.granted_on.isoformat(), "granting_authority": aid.granting_authority,
                          "reference": aid.reference})
    return aid


def _file_error(message: str) -> UserInputError:
    return UserInputError(message, fields={"file": [message]})


def read_csv(content: bytes, on: date | None = None) -> list[dict[str, Any]]:
    """The rows of an import file, all checked; ``UserInputError`` with every problem otherwise
    (``file`` for the file as a whole, ``line N`` and ``line N.column`` for rows)."""
    if len(content) > MAX_BYTES:
        raise _file_error(_("The file is larger than %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024)))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error(_("The file is not UTF-8 text: save it as CSV UTF-8.")) from None
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise _file_error(_("The file is empty or has no header row."))
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip().lower() for name in next(reader)]
        missing = [name for name in COLUMNS if name not in header]
        unknown = [name for name in header if name not in COLUMNS]
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if missing or unknown or duplicated:
            problems = []
            if missing:
                problems.append(_("missing columns: %(columns)s", columns=", ".join(missing)))
            if unknown:
                problems.append(_("unknown columns: %(columns)s", columns=", ".join(unknown)))
            if duplicated:
                problems.append(_("repeated columns: %(columns)s", columns=", ".join(duplicated)))
            raise _file_error(_("The header row must name the columns %(columns)s (%(problems)s).",
                                columns=", ".join(COLUMNS), problems="; ".join(problems)))
        rows: list[dict[str, Any]] = []
        errors: dict[str, list[str]] = {}
        line, count = reader.line_num, 0
        for record in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank lines (often the last one) are not rows
            count += 1
            if count > MAX_ROWS:
                raise _file_error(_("The file has more than %(max)d rows: split it.", max=MAX_ROWS))
            if len(record) != len(header):
                errors[f"line {start}"] = [_("The row has %(found)d fields; the header has %(expected)d.",
                                             found=len(record), expected=len(header))]
                continue
            values, row_errors = check_entry(dict(zip(header, record, strict=True)), on)
            for name, messages in row_errors.items():
                errors[f"line {start}.{name}"] = messages
            if not row_errors:
                rows.append(values)
    except csv.Error as error:
        raise _file_error(_("The file is not a valid CSV file (line %(line)d: %(reason)s).",
                            line=reader.line_num, reason=str(error))) from None
    if errors:
        lines = len({key.split(".", 1)[0] for key in errors})
        raise UserInputError(ngettext("Nothing was imported: %(num)d line needs correcting.",
                                      "Nothing was imported: %(num)d lines need correcting.", lines), fields=errors)
    if not rows:
        raise _file_error(_("The file has no rows under the header."))
    return rows


def import_csv(actor, content: bytes, filename: str = "") -> int:
    """Add every row of the file (source ``import``) or none; one audit event with the row count
    and the file's SHA-256. Returns the number of rows imported."""
    rows = read_csv(content)
    db.session.execute(sa.insert(DeMinimisAid), [{**row, "source": AidSource.IMPORT} for row in rows])
    record_event(action="de_minimis.import", object_type="de_minimis_aid", object_id="", actor=actor,
                 role=acting_role(actor, WRITERS),
                 payload={"rows": len(rows), "sha256": hashlib.sha256(content).hexdigest(),
                          "filename": filename or "", "bytes": len(content)})
    return len(rows)
