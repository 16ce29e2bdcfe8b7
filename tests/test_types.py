from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from grants.applications.models import Application
from grants.core.db import to_money
from tests.factories import make_call, make_organisation, make_user


def test_money_is_exact_and_utc_round_trips(app, session):
    user = make_user()
    organisation = make_organisation(user)
    call = make_call(opens_in_days=-1)
    from grants.initiatives.models import Initiative

    initiative = Initiative(organisation=organisation, title="Kopienas dārzs", current_stage="idea_generation")
    riga = timezone(timedelta(hours=2))
    application = Application(call=call, organisation=organisation, initiative=initiative, si_stage="idea_generation",
                              title="T", summary="S", requested_amount=Decimal("12500.10"), duration_months=12,
                              answers={}, workflow_name="application", workflow_version=1,
                              created_at=datetime(2026, 3, 1, 12, 0, tzinfo=riga))
    session.add(application)
    session.flush()
    session.expire_all()
    stored = session.get(Application, application.id)
    assert stored.requested_amount == Decimal("12500.10")
    assert stored.created_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert stored.created_at.tzinfo is not None
    assert stored.version == 1


@pytest.mark.parametrize("raw, expected", [("12500", "12500.00"), ("0.1", "0.10"), (7, "7.00")])
def test_to_money_accepts_whole_cents(raw, expected):
    assert to_money(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["12.345", "abc", "NaN", "Infinity", ""])
def test_to_money_refuses_fractions_of_cents_and_garbage(raw):
    with pytest.raises(ValueError):
        to_money(raw)
