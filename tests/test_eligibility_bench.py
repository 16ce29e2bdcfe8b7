"""The eligibility benchmark's promise, kept small enough for the suite: ``evaluate`` sends the same
number of SQL statements for 2 applications as for 20 under the whole demo ruleset (plus the
micro-project preset), with register rows, other applications and grants in implementation around."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from bench.eligibility import QUERY_BUDGET
from grants.applications.models import Application
from grants.audit.services import record_event
from grants.eligibility.models import DeMinimisAid, Outcome
from grants.eligibility.presets import demo_ruleset, micro_project_rule
from grants.eligibility.rules import validate_ruleset
from grants.eligibility.services import evaluate, today
from tests.factories import make_application, make_call, make_organisation, make_programme, make_user


def _world(session, n: int) -> list[int]:
    """``n`` applications of ``n // 2`` organisations in one call, each organisation with a near-identical
    application in another call of the programme, register rows and a grant in implementation."""
    rules = validate_ruleset([*demo_ruleset(), micro_project_rule()])
    programme = make_programme()
    call = make_call(programme, eligibility_rules=rules)
    other_call = make_call(programme, eligibility_rules=rules)
    ids = []
    for k in range(n // 2):
        organisation = make_organisation(make_user("applicant"))
        session.add(DeMinimisAid(registration_number=organisation.registration_number, undertaking=organisation.name,
                                 amount=Decimal("1000.00") * (k + 1), granted_on=today() - timedelta(days=30 * k),
                                 granting_authority="LIAA"))
        make_application(other_call, organisation, title=f"Kopienas dārzs nr. {k}", state="submitted")
        running = make_application(other_call, organisation, title=f"Cits projekts {k}", state="in_implementation")
        record_event(action="application.start_implementation", object_type="application", object_id=running.id)
        for j in range(2):
            ids.append(make_application(call, organisation, title=f"Kopienas dārzs nr. {k}{'!' * j}").id)
    session.flush()
    return ids


def _statements(session, count_queries, ids: list[int]) -> tuple[int, dict]:
    session.expunge_all()
    applications = session.scalars(sa.select(Application).where(Application.id.in_(ids))).unique().all()
    with count_queries() as counter:
        outcomes = evaluate(applications)
    assert sorted(outcomes) == sorted(ids)
    return counter.count, outcomes


def test_evaluate_sends_as_many_statements_for_20_applications_as_for_2(session, count_queries):
    few_ids = _world(session, 2)
    many_ids = _world(session, 20)
    few, _ = _statements(session, count_queries, few_ids)
    many, outcomes = _statements(session, count_queries, many_ids)
    assert many == few <= QUERY_BUDGET
    # the checks had something to look at: the near-identical title in the other call is flagged
    flagged = [o for results in outcomes.values() for o in results if o.code == "double_funding"]
    assert len(flagged) == 20 and all(o.outcome == Outcome.MANUAL for o in flagged)
