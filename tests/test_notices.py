"""In-app notifications beside e-mail: every message queued to a registered person is kept for them, counted
unread on every page without a statement of its own, read on the notifications page and through the API."""

from __future__ import annotations

import sqlalchemy as sa

from grants.core.db import db
from grants.notifications.models import OutboxMessage
from grants.notifications.services import notify, queue_message
from grants.users.models import Notice, User
from grants.workflows.engine import fire
from tests.conftest import csrf_token_from
from tests.factories import bearer, login, make_application, make_call, make_user, member_of

URL = "/api/v1/notifications"


def _notices(session, user) -> list[Notice]:
    return list(session.scalars(sa.select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)))


def test_a_submit_receipt_reaches_the_applicant_in_the_app_too(client, session):
    application = make_application(make_call())
    applicant = member_of(application)
    fire(application, "submit", applicant)
    session.commit()
    [notice] = _notices(session, applicant)
    message = session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "submission_receipt"))
    assert (notice.kind, notice.subject, notice.body) == ("submission_receipt", message.subject, message.body)
    assert (notice.object_type, notice.object_id) == ("application", str(application.id))
    session.expire_all()
    assert session.get(User, applicant.id).unread_notices == 1


def test_a_message_to_a_bare_address_has_no_notice(app, session):
    user = make_user()
    queue_message("test", "someone@example.lv", "Temats", "Teksts", language="lv")
    queue_message("test", user, "Temats", "Teksts", language="lv")
    session.commit()
    assert session.scalar(sa.select(sa.func.count(Notice.id))) == 1


def test_the_page_lists_opens_and_marks_read(client, session, count_queries):
    application = make_application(make_call())
    applicant = member_of(application)
    fire(application, "submit", applicant)
    other = make_user()
    notify("submission_receipt", other, object_type="application", object_id=application.id,
           application=application, submission=application.submissions[0])
    session.commit()
    login(client, applicant)
    home = client.get("/dashboard/", query_string={"lang": "en"}).get_data(as_text=True)
    assert 'class="badge">1<' in home
    page = client.get("/notifications/").get_data(as_text=True)
    [notice] = _notices(session, applicant)
    assert f'data-notice="{notice.id}"' in page and "unread" in page
    [others] = _notices(session, other)
    assert client.get(f"/notifications/{others.id}").status_code == 404  # someone else's
    opened = client.get(f"/notifications/{notice.id}")
    assert opened.status_code == 200 and f"/applications/{application.id}" in opened.get_data(as_text=True)
    session.expire_all()
    assert session.get(Notice, notice.id).read_at is not None
    assert session.get(User, applicant.id).unread_notices == 0
    assert session.get(Notice, others.id).read_at is None

    notify("submission_receipt", applicant, object_type="application", object_id=application.id,
           application=application, submission=application.submissions[0])
    session.commit()
    page = client.get("/notifications/", query_string={"unread": "1"}).get_data(as_text=True)
    token = csrf_token_from(page)
    assert client.post("/notifications/read", data={"csrf_token": token}).status_code == 302
    session.expire_all()
    assert session.get(User, applicant.id).unread_notices == 0
    with count_queries() as counted:  # the count on every page comes with the account: no statement of its own
        client.get("/account")
    assert not any("FROM notices" in statement for statement in counted.statements)


def test_the_api_lists_and_marks_read(client, session):
    user = make_user()
    for n in range(3):
        queue_message("test", user, f"Temats {n}", "Teksts", language="lv")
    session.commit()
    headers = bearer(user)
    body = client.get(URL, headers=headers).get_json()
    assert [item["subject"] for item in body["items"]] == ["Temats 2", "Temats 1", "Temats 0"]
    assert body["unread"] == 3 and body["total"] == 3
    first = body["items"][-1]["id"]
    stranger = make_user()
    queue_message("test", stranger, "Svešs", "Teksts", language="lv")
    session.commit()
    strangers = _notices(session, stranger)[0].id
    response = client.post(f"{URL}/read", json={"ids": [first, strangers]}, headers=headers)
    assert response.status_code == 200 and response.get_json() == {"unread": 2}
    assert client.get(URL, query_string={"unread": "true"}, headers=headers).get_json()["total"] == 2
    session.expire_all()
    assert session.get(Notice, strangers).read_at is None
    assert client.post(f"{URL}/read", json={}, headers=headers).get_json() == {"unread": 0}
    assert client.post(f"{URL}/read", json={"ids": ["x"]}, headers=headers).status_code == 422
    assert client.get(URL).status_code == 401


def test_erasure_removes_the_notices(client, session):
    from grants.privacy.services import erase_person

    user = make_user()
    queue_message("test", user, "Temats", "Teksts", language="lv")
    admin = make_user("admin")
    result = erase_person(user, admin, reason="Personas pieprasījums.")
    db.session.commit()
    assert result.removed["notifications"] == 1 and _notices(session, user) == []
    assert session.get(User, user.id).unread_notices == 0
