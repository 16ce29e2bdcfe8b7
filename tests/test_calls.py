"""Calls: public lists and details, drafts visible to staff only."""

import pytest

from grants.calls.models import CallStatus
from tests.factories import bearer, make_call, make_user


@pytest.fixture
def calls(session):
    return {
        "open": make_call(opens_in_days=-2, closes_in_days=20),
        "upcoming": make_call(opens_in_days=5, closes_in_days=40),
        "closed": make_call(opens_in_days=-60, closes_in_days=-1),
        "draft": make_call(status=CallStatus.DRAFT),
    }


@pytest.mark.parametrize("status", ["open", "upcoming", "closed"])
def test_api_lists_calls_by_public_status(client, calls, status):
    response = client.get(f"/api/v1/calls?status={status}")
    assert response.status_code == 200
    codes = [item["code"] for item in response.json["items"]]
    assert codes == [calls[status].code]
    item = response.json["items"][0]
    assert item["status"] == status
    assert set(item) >= {"id", "code", "title", "status", "opens_at", "closes_at", "si_stages", "budget"}
    assert item["budget"] == "100000.00" and item["si_stages"] == ["idea_generation"]


def test_api_call_detail_and_drafts(client, calls, session):
    detail = client.get(f"/api/v1/calls/{calls['open'].id}").json
    assert detail["workflow"] == {"name": "application", "version": 2} and detail["version"] == 1
    assert detail["stages"][0]["max_grant"] == "10000.00"
    assert {"rubric", "eligibility_rules", "form"} <= set(detail)
    assert client.get(f"/api/v1/calls/{calls['draft'].id}").status_code == 404
    officer = make_user("officer")
    assert client.get(f"/api/v1/calls/{calls['draft'].id}", headers=bearer(officer)).status_code == 200


def test_api_list_paging(client, session):
    for _ in range(3):
        make_call()
    page = client.get("/api/v1/calls?status=open&per_page=2&page=2").json
    assert page["total"] == 3 and page["page"] == 2 and len(page["items"]) == 1


def test_call_pages(client, calls):
    listing = client.get("/calls/").get_data(as_text=True)
    assert calls["open"].title_lv in listing and calls["closed"].title_lv not in listing
    assert calls["closed"].title_lv in client.get("/calls/?status=closed").get_data(as_text=True)
    detail = client.get(f"/calls/{calls['open'].id}?lang=en").get_data(as_text=True)
    assert calls["open"].title_en in detail and "Proposals and ideas" in detail
    assert client.get(f"/calls/{calls['draft'].id}").status_code == 404


def test_deadline_is_shown_in_riga_time(client, session):
    from datetime import UTC, datetime

    call = make_call()
    call.closes_at = datetime(2030, 6, 30, 20, 59, tzinfo=UTC)  # 23:59 in Riga (summer time)
    session.flush()
    page = client.get(f"/calls/{call.id}?lang=en").get_data(as_text=True)
    assert "Jun 30, 2030 11:59\u202fPM" in page
