"""The role-aware landing page, and that its queries do not grow with the data."""

from decimal import Decimal

from grants.applications.models import Application
from grants.initiatives.models import Initiative
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, make_call, make_organisation, make_user


def _login(client, user):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})


def _applications(session, organisation, call, n):
    initiative = Initiative(organisation=organisation, title="Iniciatīva", current_stage="idea_generation")
    for i in range(n):
        session.add(Application(call=call, organisation=organisation, initiative=initiative,
                                si_stage="idea_generation", title=f"Pieteikums {i}", summary="",
                                requested_amount=Decimal("5000.00"), duration_months=6, answers={},
                                workflow_name="application", workflow_version=1))
    session.flush()


def test_applicant_without_organisation_is_sent_to_add_one(client, session):
    _login(client, make_user("applicant"))
    page = client.get("/dashboard/?lang=en").get_data(as_text=True)
    assert "Add your organisation first" in page


def test_applicant_sees_own_applications_only(client, session):
    user = make_user("applicant")
    mine = make_organisation(user)
    theirs = make_organisation(make_user("applicant"))
    call = make_call()
    _applications(session, mine, call, 2)
    _applications(session, theirs, call, 1)
    session.query(Application).filter_by(organisation_id=theirs.id).update({"title": "Svešs pieteikums"})
    _login(client, user)
    page = client.get("/dashboard/?lang=en").get_data(as_text=True)
    assert "Pieteikums 0" in page and "Pieteikums 1" in page and "Svešs pieteikums" not in page
    assert "Draft" in page


def test_officer_sees_calls_with_counts_by_state(client, session):
    call = make_call()
    _applications(session, make_organisation(make_user()), call, 3)
    _login(client, make_user("officer"))
    page = client.get("/dashboard/?lang=en").get_data(as_text=True)
    assert call.code in page and "Draft: 3" in page
    assert "Accounts by role" not in page


def test_admin_sees_accounts_by_role(client, session):
    _login(client, make_user("admin"))
    assert "Accounts by role" in client.get("/dashboard/?lang=en").get_data(as_text=True)


def test_dashboard_queries_do_not_grow_with_the_data(client, session, count_queries):
    user = make_user("applicant", "officer")
    organisation = make_organisation(user)
    call = make_call()
    _applications(session, organisation, call, 2)
    _login(client, user)
    client.get("/dashboard/")
    with count_queries() as small:
        assert client.get("/dashboard/").status_code == 200
    for _ in range(3):
        _applications(session, organisation, make_call(), 5)
    with count_queries() as large:
        assert client.get("/dashboard/").status_code == 200
    assert large.count == small.count
    assert large.count <= 15


def test_home_and_call_list_queries_are_bounded(client, session, count_queries):
    make_call()
    with count_queries() as small:
        client.get("/calls/")
    for _ in range(10):
        make_call(stages=(("idea_generation", "1000.00", "1.00", "10.00"), ("scaling", "1000.00", "1.00", "10.00")))
    with count_queries() as large:
        client.get("/calls/")
    assert large.count == small.count
