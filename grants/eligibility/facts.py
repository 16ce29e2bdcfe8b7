"""What eligibility rules look at, loaded for many applications at once.

:func:`load_facts` reads everything every rule of a ruleset may need for a batch of
applications with a fixed number of queries (the de minimis register, the organisations' other
applications, their grants in implementation, the initiatives' proven stages), whatever the
number of applications or rules: nothing is queried per rule or per application.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.calls.models import Call, CallStage
from grants.core.db import db
from grants.core.values import add_months
from grants.eligibility.models import DeMinimisAid
from grants.forms.templates import BUDGET_CODE
from grants.forms.validation import budget_totals
from grants.initiatives.models import Initiative
from grants.initiatives.stages import STAGE_MODELS

#: How far back the register is read: the longest de minimis period a check may be given.
MAX_AID_YEARS = 10
#: States of another application that make it a candidate for double funding (it asks, or got, money).
_NOT_CANDIDATES = ("draft", "withdrawn", "ineligible", "rejected", "appeal_dismissed", "concept_declined")
#: States of every application workflow before an award (none leads back to an award without passing
#: ``approved``): an organisation whose applications are all in these has no agreement, report or
#: irregularity, so its grant record is not asked for (three statements a submit of a newcomer saves).
_BEFORE_AWARD = frozenset({"draft", "concept_submitted", "concept_review", "concept_declined", "invited", "submitted",
                           "eligibility_review", "clarification_requested", "ineligible", "in_evaluation",
                           "evaluated", "reserve", "rejected", "withdrawn", "appealed", "appeal_dismissed"})


@dataclass
class OtherApplication:
    id: int
    call_id: int
    call_code: str
    programme_id: int
    title: str
    summary: str
    state: str


@dataclass
class Facts:
    """One application and what its rules need, already loaded."""

    application: Application
    today: date
    stage: CallStage | None
    #: Aid to the same undertaking (registration number) from the register: (granted_on, amount).
    aid: list[tuple[date, Decimal]] = field(default_factory=list)
    #: The organisation's other applications that ask for or got money.
    others: list[OtherApplication] = field(default_factory=list)
    #: The organisation's grants in implementation: (application id, call code, planned end).
    running_grants: list[tuple[int, str, date | None]] = field(default_factory=list)
    #: SI stages proven by any application of the initiative.
    proven_stages: set[str] = field(default_factory=set)
    #: The organisation's reports past their due date, undelivered: (application id, call code, due date).
    overdue_reports: list[tuple[int, str, date]] = field(default_factory=list)
    #: The organisation's confirmed irregularities not yet recovered: (application id, call code, amount).
    irregularities: list[tuple[int, str, Decimal]] = field(default_factory=list)

    @property
    def call(self) -> Call:
        return self.application.call

    @property
    def budget(self) -> dict[str, Decimal | None]:
        return budget_totals((self.application.answers or {}).get(BUDGET_CODE))

    def context(self) -> dict[str, Any]:
        """The flat context of rule expressions (grants.eligibility.rules.CONTEXT)."""
        application, organisation = self.application, self.application.organisation
        initiative: Initiative = application.initiative
        budget = self.budget
        return {
            "application": {
                "title": application.title, "summary": application.summary or "",
                "requested_amount": Decimal(application.requested_amount),
                "duration_months": Decimal(application.duration_months), "si_stage": application.si_stage,
                "budget_total": budget["total"] or Decimal(0), "co_financing": budget["co_financing"] or Decimal(0),
                "co_financing_share": budget["co_financing_share"] or Decimal(0),
                "answers": dict(application.answers or {}),
            },
            "organisation": {
                "name": organisation.name, "registration_number": organisation.registration_number,
                "legal_form": getattr(organisation.legal_form, "value", organisation.legal_form),
                "country": organisation.country or "",
                "region": getattr(organisation.region, "value", organisation.region) or "",
            },
            "initiative": {
                "title": initiative.title, "current_stage": initiative.current_stage, "theme": initiative.theme or "",
                "region": getattr(initiative.region, "value", initiative.region) or "",
                "target_groups": tuple(initiative.target_groups or ()),
                "proven_stages": tuple(sorted(self.proven_stages)),
            },
            "call": {"code": self.call.code, "programme": self.call.programme.code,
                     "stages": tuple(self.call.stage_codes)},
            "stage": {
                "code": application.si_stage,
                "min_grant": Decimal(self.stage.min_grant) if self.stage else Decimal(0),
                "max_grant": Decimal(self.stage.max_grant) if self.stage else Decimal(0),
                "envelope": Decimal(self.stage.envelope) if self.stage else Decimal(0),
            },
        }

    def previous_stage(self) -> str | None:
        model = STAGE_MODELS[self.call.programme.stage_model]
        return model.previous(self.application.si_stage) if self.application.si_stage in model.codes else None


@dataclass
class GrantRecord:
    """An organisation's record on its grants, from the domain that keeps them."""

    overdue_reports: list[tuple[int, str, date]] = field(default_factory=list)
    irregularities: list[tuple[int, str, Decimal]] = field(default_factory=list)
    #: Grants whose reports an agreement schedules: the planned-end rule for older grants skips them.
    with_agreement: set[int] = field(default_factory=set)


#: Organisation ids and today → each organisation's :class:`GrantRecord`, in a fixed number of queries.
#: grants.grants_mgmt registers it (it sits above eligibility); without it, only the planned end of older
#: grants is looked at.
_grant_records: list[Callable[[set[int], date], dict[int, GrantRecord]]] = []


def register_grant_records(source: Callable[[set[int], date], dict[int, GrantRecord]]) -> None:
    if _grant_records:
        raise ValueError("the grant records are registered twice")
    _grant_records.append(source)


def load_facts(applications: list[Application], today: date) -> dict[int, Facts]:
    """Facts for every application, in a fixed number of queries."""
    if not applications:
        return {}
    facts = {a.id: Facts(application=a, today=today, stage=next(
        (s for s in a.call.stages if s.si_stage == a.si_stage), None)) for a in applications}
    organisation_ids = {a.organisation_id for a in applications}
    initiative_ids = {a.initiative_id for a in applications}
    numbers = {a.organisation.registration_number for a in applications}
    # Initiatives (the relationship is lazy: one query for all).
    initiatives = {i.id: i for i in db.session.scalars(sa.select(Initiative).where(Initiative.id.in_(initiative_ids)))}
    for fact in facts.values():  # populated as if loaded: no change is recorded
        set_committed_value(fact.application, "initiative", initiatives[fact.application.initiative_id])
    # The de minimis register, by registration number.
    earliest = date(today.year - MAX_AID_YEARS, 1, 1)
    aid: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for number, granted_on, amount in db.session.execute(
            sa.select(DeMinimisAid.registration_number, DeMinimisAid.granted_on, DeMinimisAid.amount)
            .where(DeMinimisAid.registration_number.in_(numbers), DeMinimisAid.granted_on >= earliest)):
        aid[number].append((granted_on, Decimal(amount)))
    # The organisations' applications: double-funding candidates, grants in implementation, proven stages.
    rows = db.session.execute(
        sa.select(Application.id, Application.organisation_id, Application.initiative_id, Application.call_id,
                  Call.code, Call.programme_id, Application.title, Application.summary, Application.state,
                  Application.proven_stages, Application.duration_months)
        .join(Call, Call.id == Application.call_id)
        .where(sa.or_(Application.organisation_id.in_(organisation_ids),
                      Application.initiative_id.in_(initiative_ids)))).all()
    running = [row.id for row in rows if row.state == "in_implementation"]
    started: dict[int, date] = {}
    if running:
        for object_id, occurred_at in db.session.execute(
                sa.select(AuditEvent.object_id, sa.func.max(AuditEvent.occurred_at))
                .where(AuditEvent.object_type == "application",
                       AuditEvent.object_id.in_([str(i) for i in running]),
                       AuditEvent.action == "application.start_implementation")
                .group_by(AuditEvent.object_id)):
            started[int(object_id)] = occurred_at.date()
    awarded = {row.organisation_id for row in rows if row.state not in _BEFORE_AWARD}
    records = _grant_records[0](awarded, today) if _grant_records and awarded else {}
    by_organisation: dict[int, list[Any]] = defaultdict(list)
    proven: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        by_organisation[row.organisation_id].append(row)
        proven[row.initiative_id].update(row.proven_stages or [])
    for fact in facts.values():
        application = fact.application
        fact.aid = aid.get(application.organisation.registration_number, [])
        fact.proven_stages = proven.get(application.initiative_id, set())
        record = records.get(application.organisation_id) or GrantRecord()
        fact.overdue_reports = [item for item in record.overdue_reports if item[0] != application.id]
        fact.irregularities = [item for item in record.irregularities if item[0] != application.id]
        for row in by_organisation.get(application.organisation_id, []):
            if row.id == application.id:
                continue
            if row.state not in _NOT_CANDIDATES:
                fact.others.append(OtherApplication(row.id, row.call_id, row.code, row.programme_id, row.title,
                                                    row.summary or "", row.state))
            if row.state == "in_implementation" and row.id not in record.with_agreement:
                begun = started.get(row.id)
                fact.running_grants.append(
                    (row.id, row.code, add_months(begun, row.duration_months) if begun else None))
    return facts


def facts_for(application: Application, today: date) -> Facts:
    return load_facts([application], today)[application.id]

