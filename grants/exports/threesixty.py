"""Awarded grants in the 360Giving Data Standard (DESIGN §9; ../shared/standards/360giving, schema 1.4).

One grant per award the committee approved in the programme: identifiers carry the publisher's
prefix (``GRANT_ID_PREFIX``), the recipient its org-id (``LV-RE-`` and the registration number for
organisations registered in Latvia, else the publisher-prefixed internal id), the funder is the
programme operator (``OPERATOR_NAME``, ``OPERATOR_ORG_ID``); the beneficiary location is the
planning region; the classification is the SI stage(s) funded. Streamed: one grant in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app

from grants.applications.models import Application
from grants.calls.models import Call, Programme
from grants.core.codes import LEGAL_FORM_LABELS, REGION_LABELS, label
from grants.core.db import Money, db
from grants.core.tabular import json_chunks
from grants.decisions.models import Decision, Outcome
from grants.exports.datasets import stream
from grants.grants_mgmt.models import GrantAgreement, Payment
from grants.initiatives.models import Initiative
from grants.initiatives.stages import STAGE_MODELS
from grants.organisations.models import Organisation

#: The schema version the packages follow (major.minor, as the package schema wants).
VERSION = "1.4"
STAGE_VOCABULARY = "SI stage (The Open Book of Social Innovation)"


def _approved() -> sa.Subquery:
    latest = sa.select(sa.func.max(Decision.id)).group_by(Decision.application_id)
    return (sa.select(Decision.application_id, Decision.amount.label("amount"), Decision.decided_on)
            .where(Decision.id.in_(latest), Decision.outcome == Outcome.APPROVED).subquery("approved"))


def awards_query(programme_id: int) -> sa.Select:
    approved = _approved()
    paid = (sa.select(Payment.application_id, sa.type_coerce(sa.func.sum(Payment.amount), Money).label("paid"))
            .where(Payment.state == "paid").group_by(Payment.application_id).subquery("paid"))
    return (sa.select(Application.id, Application.title, Application.summary, Application.requested_amount,
                      Application.si_stage, Application.updated_at, approved.c.amount, approved.c.decided_on,
                      GrantAgreement.awarded_amount, GrantAgreement.start_date, GrantAgreement.end_date,
                      GrantAgreement.tranches, paid.c.paid, Organisation.id, Organisation.name,
                      Organisation.registration_number, Organisation.country, Organisation.legal_form,
                      sa.func.coalesce(Initiative.region, Organisation.region), Programme.code,
                      Programme.title_en, Programme.title_lv, Programme.stage_model)
            .join(approved, approved.c.application_id == Application.id)
            .join(Organisation, Organisation.id == Application.organisation_id)
            .join(Initiative, Initiative.id == Application.initiative_id)
            .join(Call, Call.id == Application.call_id)
            .join(Programme, Programme.id == Call.programme_id)
            .outerjoin(GrantAgreement, GrantAgreement.application_id == Application.id)
            .outerjoin(paid, paid.c.application_id == Application.id)
            .where(Programme.id == programme_id)
            .order_by(Application.id))


def count_awards(programme_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(awards_query(programme_id).subquery()))


def organisation_id(prefix: str, internal_id: int, country: str | None, number: str | None) -> str:
    if (country or "LV") == "LV" and number:
        return f"LV-RE-{number}"
    return f"{prefix}-org-{internal_id}"


def grant_items(programme_id: int) -> Iterator[dict[str, Any]]:
    config = current_app.config
    prefix = config["GRANT_ID_PREFIX"]
    funder = {"id": config["OPERATOR_ORG_ID"], "name": config["OPERATOR_NAME"]}
    for (app_id, title, summary, requested, stage, updated_at, decided, decided_on, awarded, start, end, tranches,
         paid, org_id, org_name, number, country, legal_form, region, programme_code, programme_en,
         programme_lv, stage_model) in stream(awards_query(programme_id)):
        model = STAGE_MODELS[stage_model]
        stages = [t["si_stage"] for t in tranches or []] or [stage]
        item: dict[str, Any] = {
            "id": f"{prefix}-{app_id}",
            "title": title,
            "description": (summary or "").strip() or title,
            "currency": "EUR",
            "amountAppliedFor": float(requested),
            "amountAwarded": float(awarded if awarded is not None else decided),
            # A full date-time: a bare date would match both forms the schema's oneOf allows.
            "awardDate": f"{decided_on.isoformat()}T00:00:00+00:00",
            "recipientOrganization": [{
                "id": organisation_id(prefix, org_id, country, number), "name": org_name,
                "addressCountry": country or "LV", "organisationType": label(LEGAL_FORM_LABELS, legal_form),
                **({"companyNumber": number} if number else {})}],
            "fundingOrganization": [funder],
            "grantProgramme": [{"code": programme_code, "title": programme_en or programme_lv}],
            "fromOpenCall": "Yes",
            "classifications": [{"vocabulary": STAGE_VOCABULARY, "code": code,
                                 "title": str(model.get(code).label) if model.get(code) else code} for code in stages],
            "dateModified": updated_at.isoformat(),
        }
        if paid is not None:
            item["amountDisbursed"] = float(paid)
        if start is not None and end is not None:
            item["plannedDates"] = [{"startDate": start.isoformat(), "endDate": end.isoformat(),
                                     "duration": _months(start, end)}]
        if region:
            item["beneficiaryLocation"] = [{"name": label(REGION_LABELS, region), "countryCode": "LV"}]
        yield item


def _months(start: date, end: date) -> int:
    return max((end.year - start.year) * 12 + end.month - start.month + (1 if end.day >= start.day else 0), 1)


def package_chunks(programme: Programme, *, issued: date) -> Iterator[str]:
    """The 360Giving data package of the programme's awarded grants, as chunks of JSON text."""
    import json

    head = {"version": VERSION, "title": f"{programme.code}: {programme.title_en or programme.title_lv}",
            "issued": f"{issued.isoformat()}T00:00:00+00:00",
            "publisher": {"name": current_app.config["OPERATOR_NAME"],
                          "identifier": current_app.config["OPERATOR_ORG_ID"]}}
    opening = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"grants":['
    return json_chunks(grant_items(programme.id), head=opening, tail="]}")
