"""Aggregates kept between requests (issue 15, pages at full scale): the audit chain's event count the funder
reports quote (grants.audit.head) and the public registry's answers (grants.registry.cache). Both must give
exactly what a fresh computation gives, after any change."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from grants.audit import head as audit_head_module
from grants.audit.head import head_and_count
from grants.audit.models import AuditEvent, AuditHead
from grants.audit.services import record_event
from grants.core.db import db
from grants.decisions.models import Outcome
from grants.reports.statistics import audit_head
from tests.factories import make_user
from tests.test_registry import add_award, api_items, decide, funded


def _counted() -> dict:
    return {"hash": db.session.scalar(sa.select(AuditHead.hash).where(AuditHead.id == 1)),
            "events": db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))}


def test_the_event_count_follows_the_chain_and_recounts_a_foreign_head(app, session, count_queries):
    record_event(action="test.one", object_type="test", object_id=1, payload={})
    db.session.flush()
    assert audit_head() == _counted()
    for n in range(3):
        record_event(action="test.more", object_type="test", object_id=n, payload={})
    db.session.flush()
    with count_queries() as counter:
        head = audit_head()
    assert head == _counted()
    assert counter.count == 1  # only the events after the head counted before
    # A remembered head that is not part of this chain (another database behind the same URL): counted again.
    key = audit_head_module._key()
    known_hash, known_id, known_count = audit_head_module._counted[key]
    audit_head_module._counted[key] = ("f" * 64, known_id, known_count + 1000)
    assert head_and_count() == _counted()
    audit_head_module._counted[key] = (known_hash, known_id + 10_000, known_count)  # an event not (yet) there
    assert head_and_count() == _counted()


def test_the_registry_answers_are_kept_until_something_changes(app, client, session, count_queries):
    committee_member = make_user("committee")
    record_event(action="test.start", object_type="test", object_id=1, payload={})  # a chain with a head
    first, application = funded(committee_member, title="Pirmā iniciatīva", amount="1000.00")
    db.session.flush()
    year = date.today().year
    fresh = api_items(client)
    assert fresh["total"] == 1
    with count_queries() as counter:
        kept = api_items(client)
    assert kept == fresh and counter.count == 1  # the fingerprint only
    overview = client.get(f"/api/v1/registry/overview/{year}").get_json()
    assert client.get(f"/api/v1/registry/overview/{year}").get_json() == overview

    # A decision written without an audit event (bulk data, factories) is seen all the same.
    decide(committee_member, application, Outcome.REJECTED)
    assert api_items(client)["total"] == 0
    # A new approval, and an audited change that touches no counted table, are seen too.
    second, _ = funded(committee_member, title="Otrā iniciatīva", amount="2000.00")
    assert [item["title"] for item in api_items(client)["items"]] == ["Otrā iniciatīva"]
    second.title = "Otrā iniciatīva, pārdēvēta"
    record_event(action="initiative.update", object_type="initiative", object_id=second.id, payload={})
    db.session.flush()
    assert [item["title"] for item in api_items(client)["items"]] == ["Otrā iniciatīva, pārdēvēta"]
    add_award(committee_member, second, amount="500.00")
    changed = client.get(f"/api/v1/registry/overview/{year}").get_json()
    assert changed != overview
    # What the callers receive is a copy: changing it changes nothing kept.
    api_items(client)["items"].clear()
    assert api_items(client)["total"] == 1

