"""Two-step sign-in: setting it up (QR code, seed, first code, recovery codes), the second step of
signing in (pages and API tokens), failures counted like wrong passwords, re-authentication to
change it, an administrator's reset, and staff who must use it (REQUIRE_STAFF_2FA)."""

import hashlib
import re
import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from grants.audit.models import AuditEvent
from grants.audit.services import verify_chain
from grants.core.extensions import limiter
from grants.users import two_factor
from grants.users.models import RecoveryCode, TwoFactorCredential
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, login, make_user

SEED_RE = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
CODES_RE = re.compile(r"<li><code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code></li>")


def _post(client, path, data, page=None):
    token = csrf_token_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def enrol(client, user) -> tuple[str, list[str]]:
    """Sign ``user`` in and turn two-step sign-in on through the pages; the seed and the recovery codes."""
    login(client, user)
    page = client.get("/account/two-step/setup").get_data(as_text=True)
    seed = SEED_RE.search(page).group(1).replace(" ", "")
    response = client.post("/account/two-step/setup", data={"code": two_factor.code_for(seed),
                                                              "csrf_token": csrf_token_from(page)})
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = CODES_RE.findall(response.get_data(as_text=True))
    sign_out(client)
    return seed, codes


def sign_out(client):
    page = client.get("/account").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token_from(page)})


def password_step(client, user, password=PASSWORD):
    return _post(client, "/login", {"email": user.email, "password": password})


def second_step(client, code):
    return _post(client, "/login/second-step", {"code": code})


def next_code(seed):
    """The code of the next time step (accepted for clock drift): one not used yet."""
    return two_factor.code_for(seed, time.time() + two_factor.STEP_SECONDS)


def test_setup_page_shows_a_local_qr_code_and_the_seed_and_is_accessible(client, session):
    user = make_user("officer", email="qr@example.lv")
    login(client, user)
    page = client.get("/account/two-step/setup").get_data(as_text=True)
    assert '<svg' in page and 'class="qr-code"' in page and "<title>" in page  # drawn here, inline
    assert "http" not in page.split('class="qr-code"')[1].split("</svg>")[0]  # no outside QR service
    seed = SEED_RE.search(page).group(1).replace(" ", "")
    assert len(seed) == 32
    assert 'autocomplete="one-time-code"' in page and '<label class="label" for="code">' in page
    # reloading keeps the seed the app may have scanned already
    again = client.get("/account/two-step/setup").get_data(as_text=True)
    assert SEED_RE.search(again).group(1).replace(" ", "") == seed
    # stored encrypted, never as it is
    stored = session.execute(sa.select(TwoFactorCredential.secret_encrypted)).scalar_one()
    assert seed not in stored and seed.lower() not in stored.lower()
    assert not user.has_two_factor  # not on until a code confirms it


def test_a_wrong_first_code_is_refused_next_to_the_field(client, session):
    user = make_user(email="wrongfirst@example.lv")
    login(client, user)
    response = _post(client, "/account/two-step/setup", {"code": "000000"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="code-error"' in html and 'aria-describedby="code-help code-error"' in html
    assert 'aria-invalid="true"' in html
    assert not user.has_two_factor


def test_enrolment_gives_ten_recovery_codes_shown_once_and_stored_hashed(client, session):
    user = make_user(email="enrol@example.lv")
    seed, codes = enrol(client, user)
    session.refresh(user)
    assert user.has_two_factor
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = session.execute(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).scalars().all()
    assert sorted(stored) == sorted(hashlib.sha256(c.replace("-", "").upper().encode()).hexdigest() for c in codes)
    assert not set(codes) & set(stored)
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "two_factor.enable")).scalar_one()
    assert event.actor_id == user.id and seed not in str(event.payload)
    # shown once: the account page tells how many are left, never the codes
    login_with_code(client, user, next_code(seed))
    page = client.get("/account").get_data(as_text=True)
    assert "10" in page and not any(code in page for code in codes)


def login_with_code(client, user, code):
    assert password_step(client, user).status_code == 302
    response = second_step(client, code)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def test_sign_in_needs_the_second_step_and_the_half_signed_state_opens_nothing(client, session):
    user = make_user("officer", email="twostep@example.lv")
    seed, _codes = enrol(client, user)
    response = password_step(client, user)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/second-step")
    for path in ("/dashboard/", "/applications/", "/account", "/audit/", "/admin/people/"):
        assert client.get(path).status_code == 302, path  # anonymous still: to the sign-in page
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/login/second-step").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page and 'for="code"' in page
    response = second_step(client, next_code(seed))
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/")
    assert client.get("/dashboard/").status_code == 200
    login_event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "user.login")
                                  .order_by(AuditEvent.id.desc())).scalars().first()
    assert login_event.payload == {"second_factor": "totp"}


def test_a_code_works_once(client, session):
    user = make_user(email="replay@example.lv")
    seed, _codes = enrol(client, user)
    code = next_code(seed)
    login_with_code(client, user, code)
    sign_out(client)
    password_step(client, user)
    response = second_step(client, code)
    assert response.status_code == 401
    assert 'id="code-error"' in response.get_data(as_text=True)


def test_wrong_codes_count_towards_the_lockout_like_wrong_passwords(client, app, session):
    user = make_user(email="guess@example.lv")
    enrol(client, user)
    session.refresh(user)
    assert user.failed_logins == 0
    password_step(client, user)
    for _attempt in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert second_step(client, "123456").status_code == 401
        # the right password again does not reset the count while codes are being guessed
        assert password_step(client, user).status_code == 302
        limiter.reset()  # the per-address throttle is tested on its own
    response = second_step(client, "123456")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    session.refresh(user)
    assert user.is_locked()
    assert client.get("/login/second-step").status_code == 302  # the half-signed state is gone
    reasons = session.execute(sa.select(AuditEvent.payload).where(AuditEvent.action == "user.login_failed")).scalars()
    assert {"wrong_code"} <= {payload["reason"] for payload in reasons}


def test_the_second_step_is_throttled(client, app, session):
    user = make_user(email="throttle2@example.lv")
    enrol(client, user)
    password_step(client, user)
    token = csrf_token_from(client.get("/login/second-step").get_data(as_text=True))
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    statuses = [client.post("/login/second-step", data={"code": "999999", "csrf_token": token}).status_code
                for _ in range(limit + 1)]
    assert statuses[-1] == 429


def test_the_second_step_waits_five_minutes_at_most(client, session):
    user = make_user(email="slow@example.lv")
    seed, _codes = enrol(client, user)
    password_step(client, user)
    with client.session_transaction() as cookie:
        pending = dict(cookie["two_factor_pending"])
        pending["since"] -= 301
        cookie["two_factor_pending"] = pending
    response = client.get("/login/second-step")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_a_recovery_code_signs_in_once(client, session):
    user = make_user(email="lost@example.lv")
    _seed, codes = enrol(client, user)
    login_with_code(client, user, codes[0].upper().replace("-", " "))  # typed loosely
    assert client.get("/dashboard/").status_code == 200
    used = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "two_factor.recovery_code_used")
                           ).scalar_one()
    assert used.payload == {"left": 9}
    sign_out(client)
    password_step(client, user)
    assert second_step(client, codes[0]).status_code == 401


def test_new_recovery_codes_and_turning_off_need_the_password_and_a_code(client, session):
    user = make_user(email="manage@example.lv")
    seed, codes = enrol(client, user)
    login_with_code(client, user, next_code(seed))
    wrong = _post(client, "/account/two-step/recovery-codes",
                  {"codes-password": "not-my-password", "codes-code": codes[1]}, page="/account")
    assert wrong.status_code == 401 and 'id="codes-code-error"' in wrong.get_data(as_text=True)
    response = _post(client, "/account/two-step/recovery-codes",
                     {"codes-password": PASSWORD, "codes-code": codes[1]}, page="/account")
    assert response.status_code == 200
    fresh = CODES_RE.findall(response.get_data(as_text=True))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    refused = _post(client, "/account/two-step/disable",
                    {"disable-password": PASSWORD, "disable-code": codes[2]}, page="/account")
    assert refused.status_code == 401  # the old codes stopped working
    response = _post(client, "/account/two-step/disable",
                     {"disable-password": PASSWORD, "disable-code": fresh[0]}, page="/account")
    assert response.status_code == 302
    session.refresh(user)
    assert not user.has_two_factor
    assert session.execute(sa.select(sa.func.count()).select_from(RecoveryCode)).scalar_one() == 0
    actions = session.execute(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))).scalars().all()
    assert {"two_factor.enable", "user.reauth_failed", "two_factor.recovery_codes",
            "two_factor.disable"} <= set(actions)
    sign_out(client)
    assert password_step(client, user).headers["Location"].endswith("/dashboard/")  # the password alone again


# --- API tokens --------------------------------------------------------------------------------------------------

def test_api_token_needs_the_code_of_an_account_with_two_step_sign_in(client, session):
    user = make_user(email="apitotp@example.lv")
    seed, codes = enrol(client, user)
    credentials = {"email": user.email, "password": PASSWORD}
    missing = client.post("/api/v1/auth/tokens", json=credentials)
    assert missing.status_code == 401 and missing.json["error"] == "totp_required" and "totp" in missing.json["fields"]
    wrong = client.post("/api/v1/auth/tokens", json={**credentials, "totp": "000000"})
    assert wrong.status_code == 401 and wrong.json["error"] == "totp_invalid"
    session.refresh(user)
    assert user.failed_logins == 1
    bad_password = client.post("/api/v1/auth/tokens", json={**credentials, "password": "wrong-password",
                                                             "totp": next_code(seed)})
    assert bad_password.status_code == 401 and bad_password.json["error"] == "unauthorized"
    good = client.post("/api/v1/auth/tokens", json={**credentials, "totp": next_code(seed)})
    assert good.status_code == 201
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {good.json['token']}"}).status_code == 200
    by_recovery = client.post("/api/v1/auth/tokens", json={**credentials, "recovery_code": codes[3]})
    assert by_recovery.status_code == 201
    again = client.post("/api/v1/auth/tokens", json={**credentials, "recovery_code": codes[3]})
    assert again.status_code == 401 and again.json["error"] == "totp_invalid"


def test_api_token_without_two_step_sign_in_is_unchanged(client, session):
    make_user("officer", email="plain@example.lv")
    response = client.post("/api/v1/auth/tokens", json={"email": "plain@example.lv", "password": PASSWORD})
    assert response.status_code == 201 and set(response.json) == {"token", "expires_at"}


def test_the_openapi_document_describes_the_codes(client):
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Credentials"]["properties"]
    assert {"totp", "recovery_code"} <= set(schema)


# --- staff who must use it -------------------------------------------------------------------------------------

@pytest.fixture
def required(app, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_STAFF_2FA", True)


@pytest.mark.parametrize("role", ["admin", "officer", "committee", "finance", "auditor"])
def test_staff_without_two_step_sign_in_are_sent_to_set_it_up(client, session, required, role):
    user = make_user(role, email=f"must-{role}@example.lv")
    response = password_step(client, user)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/two-step/setup")
    for path in ("/dashboard/", "/applications/", "/account", "/grants/", "/calls/"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/two-step/setup"), path
    page = client.get("/account/two-step/setup")
    assert page.status_code == 200 and "Jūsu lomai divpakāpju pieteikšanās ir obligāta" in page.get_data(as_text=True)
    refused = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 403 and refused.json["error"] == "two_factor_enrolment_required"
    seed = SEED_RE.search(page.get_data(as_text=True)).group(1).replace(" ", "")
    done = _post(client, "/account/two-step/setup", {"code": two_factor.code_for(seed)})
    assert done.status_code == 200
    assert client.get("/dashboard/").status_code == 200


def test_required_two_step_sign_in_stops_old_tokens_and_spares_applicants_and_evaluators(client, session, app,
                                                                                          monkeypatch):
    from tests.factories import bearer

    officer = make_user("officer", email="oldtoken@example.lv")
    headers = bearer(officer)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    monkeypatch.setitem(app.config, "REQUIRE_STAFF_2FA", True)
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 403 and refused.json["error"] == "two_factor_enrolment_required"
    for role in ("applicant", "evaluator"):
        user = make_user(role, email=f"free-{role}@example.lv")
        assert password_step(client, user).headers["Location"].endswith("/dashboard/")
        assert client.get("/dashboard/").status_code == 200
        sign_out(client)


def test_sign_out_and_language_work_while_setting_up(client, session, required):
    user = make_user("auditor", email="lang@example.lv")
    password_step(client, user)
    assert client.get("/language/en?next=/account/two-step/setup").status_code == 302
    page = client.get("/account/two-step/setup").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token_from(page)}).status_code == 302
    assert client.get("/dashboard/").headers["Location"].startswith("/login")


def test_production_requires_staff_two_step_sign_in():
    import config

    production = config.load("production", environ={"GRANTS_SECRET_KEY": "s", "GRANTS_DATABASE_URL": "sqlite://"})
    assert production["REQUIRE_STAFF_2FA"] is True
    assert config.load("development", environ={})["REQUIRE_STAFF_2FA"] is False
    assert config.load("testing", environ={})["REQUIRE_STAFF_2FA"] is False


# --- lost devices ----------------------------------------------------------------------------------------------

def test_an_administrator_resets_someones_two_step_sign_in(client, session):
    user = make_user(email="lostall@example.lv")
    enrol(client, user)
    admin = make_user("admin", email="resetter@example.lv")
    login(client, admin)
    empty = _post(client, f"/admin/people/{user.id}/two-step/reset", {"reset-reason": ""},
                  page=f"/admin/people/{user.id}")
    assert empty.status_code == 422 and 'id="reset-reason-error"' in empty.get_data(as_text=True)
    response = _post(client, f"/admin/people/{user.id}/two-step/reset",
                     {"reset-reason": "Lost phone; identity checked by video call."}, page=f"/admin/people/{user.id}")
    assert response.status_code == 302
    session.refresh(user)
    assert not user.has_two_factor
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "two_factor.reset")).scalar_one()
    assert event.actor_id == admin.id and event.role == "admin" and "video call" in event.comment
    # not one's own: that goes through the account page and its re-authentication
    own = _post(client, f"/admin/people/{admin.id}/two-step/reset", {"reset-reason": "x"},
                        page=f"/admin/people/{admin.id}")
    assert own.status_code == 403


def test_the_command_line_resets_the_last_administrators_two_step_sign_in(app, client, session):
    user = make_user("admin", email="lastadmin@example.lv")
    enrol(client, user)
    runner = CliRunner()
    from flask.cli import ScriptInfo

    result = runner.invoke(app.cli, ["reset-two-factor", "lastadmin@example.lv", "--reason", "lost phone"],
                           obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    session.refresh(user)
    assert not user.has_two_factor
    assert verify_chain().valid
