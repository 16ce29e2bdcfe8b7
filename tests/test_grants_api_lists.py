"""The grants API's lists: what each role sees, and a number of queries that does not grow with the data."""

from __future__ import annotations

import pytest

from grants.core.db import today
from grants.grants_mgmt import irregularities, payments
from tests.factories import bearer, make_evaluation_call, make_user, member_of, signed_grant


@pytest.fixture
def people(app):
    return {"officer": make_user("officer"), "committee": make_user("committee"),
            "finance1": make_user("finance"), "finance2": make_user("finance"), "auditor": make_user("auditor")}


def _grant_with_history(people, call):
    application = signed_grant(people, call=call)
    advance = next(p for p in payments.payments_of(application) if p.kind.value == "advance")
    payments.act_on_payment(advance, "request", people["officer"], today=today())
    irregularity = irregularities.record_irregularity(application, people["officer"], {
        "amount": "10.00", "description": "Pārbaudām.", "detected_on": today().isoformat()}, today=today())
    irregularities.act_on_irregularity(irregularity, "confirm", people["officer"], comment="Jā.")
    return application


LISTS = ["/api/v1/grants", "/api/v1/grants?overdue=true", "/api/v1/payments", "/api/v1/payments?state=requested",
         "/api/v1/irregularities"]


def _counts(client, headers, count_queries, paths):
    counts = {}
    for path in paths:
        with count_queries() as counter:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_json())
        counts[path] = counter.count
    return counts


def test_staff_lists_run_a_fixed_number_of_queries(app, client, session, people, count_queries):
    call = make_evaluation_call(workflow_version=4)
    first = _grant_with_history(people, call)
    headers = bearer(people["auditor"])
    client.get("/api/v1/me", headers=headers)  # the token's first use is written once, not by the lists
    one = _counts(client, headers, count_queries, LISTS)
    for _ in range(2):
        _grant_with_history(people, call)
    three = _counts(client, headers, count_queries, LISTS)
    assert one == three
    assert client.get("/api/v1/grants", headers=headers).get_json()["total"] == 3
    assert client.get("/api/v1/payments?state=requested", headers=headers).get_json()["total"] == 3
    assert client.get("/api/v1/irregularities", headers=headers).get_json()["total"] == 3
    per_grant = [f"/api/v1/applications/{first.id}/payments", f"/api/v1/applications/{first.id}/grant-reports",
                 f"/api/v1/applications/{first.id}/irregularities", f"/api/v1/applications/{first.id}/agreement",
                 f"/api/v1/applications/{first.id}/indicators"]
    for path, count in _counts(client, headers, count_queries, per_grant).items():
        assert count <= 12, (path, count)


def test_grantees_see_their_own_grants_and_the_registers_are_for_staff(app, client, session, people):
    call = make_evaluation_call(workflow_version=4)
    application = _grant_with_history(people, call)
    other = _grant_with_history(people, call)
    grantee = bearer(member_of(application))
    assert [g["application_id"] for g in client.get("/api/v1/grants", headers=grantee).get_json()["items"]] == [
        application.id]
    assert client.get(f"/api/v1/applications/{other.id}/payments", headers=grantee).status_code == 404
    assert client.get("/api/v1/payments", headers=grantee).status_code == 403
    assert client.get("/api/v1/irregularities", headers=grantee).status_code == 403
    # The grantee sees the confirmed irregularity of its own grant, not the register.
    own = client.get(f"/api/v1/applications/{application.id}/irregularities", headers=grantee).get_json()
    assert [i["state"] for i in own] == ["confirmed"]
    evaluator = bearer(make_user("evaluator"))
    assert client.get(f"/api/v1/applications/{application.id}/agreement", headers=evaluator).status_code == 404
    auditor = bearer(people["auditor"])
    payment = payments.payments_of(application)[0]
    refused = client.post(f"/api/v1/payments/{payment.id}/transitions", headers=auditor, json={"trigger": "verify"})
    assert refused.status_code == 403
