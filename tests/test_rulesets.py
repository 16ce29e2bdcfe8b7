"""Eligibility rulesets on calls: saved only when valid (page and API), frozen at publication,
listed by the call API, previewed without storing anything, edited by officers only, never stale."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.calls.models import Call, CallStatus, CallVersion
from grants.calls.services import rules_hash
from grants.eligibility.models import EligibilityResult
from grants.eligibility.presets import demo_ruleset, micro_project_rule
from grants.eligibility.rules import validate_ruleset
from tests.conftest import csrf_token_from
from tests.factories import bearer, make_application, make_call, make_programme, make_user


def _rule(code="legal_form", **overrides) -> dict:
    rule = {"code": code, "severity": "blocking", "title_lv": "Juridiskā forma", "title_en": "Legal form",
            "message_lv": "Forma {legal_form} nav atļauta.", "message_en": "The form {legal_form} is not allowed.",
            "check": "legal_form", "params": {"allowed": ["association", "foundation"]}}
    rule.update(overrides)
    return rule


def _expression_rule(code="short_summary", expression="application.summary.length >= 5", **overrides) -> dict:
    rule = {"code": code, "severity": "warning", "title_lv": "Kopsavilkums", "title_en": "Summary",
            "message_lv": "Kopsavilkums ir par īsu.", "message_en": "The summary is too short.",
            "expression": expression}
    rule.update(overrides)
    return rule


#: Invalid rulesets, the path of the problem and a word of its reason (in English).
INVALID = [
    ("unknown symbol", [_expression_rule(expression="applicant.age > 18")], "0.expression", "Unknown name"),
    ("unknown field", [_expression_rule(expression="application.colour == 'red'")], "0.expression",
     "Unknown field"),
    ("wrong type", [_expression_rule(expression="application.requested_amount > 'many'")], "0.expression",
     "types"),
    ("bad parameters", [_rule(params={"allowed": ["pirates"]})], "0.params.allowed", ""),
    ("unknown parameter", [_rule(params={"allowed": ["association"], "colour": "red"})], "0.params.colour", ""),
    ("unknown check", [_rule(check="horoscope", params={})], "0.check", "horoscope"),
    ("duplicate code", [_rule(), _rule()], "1.code", "Another rule"),
    ("unknown placeholder", [_rule(message_en="Form {colour} is wrong.")], "0.message_en", "braces"),
]


@pytest.fixture
def officer(session):
    return make_user("officer")


@pytest.fixture
def draft(session):
    return make_call(make_programme(), status=CallStatus.DRAFT, opens_in_days=5, closes_in_days=40)


def login(client, user):
    """Sign in and read the pages in English (their messages are asserted below)."""
    from tests.factories import login as sign_in

    sign_in(client, user)
    client.get("/language/en")


def _stored(session, call_id: int) -> list[dict]:
    session.expire_all()
    return session.get(Call, call_id).eligibility_rules


def _results(session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(EligibilityResult)).scalar_one()


def _editor(client, call) -> str:
    response = client.get(f"/calls/{call.id}/rules")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _hash(html: str) -> str:
    match = re.search(r'name="rules_hash"[^>]*value="([0-9a-f]{64})"', html)
    assert match, "no rules hash in the page"
    return match.group(1)


def _post_json(client, call, rules, *, html=None, rules_hash_value=None):
    html = html or _editor(client, call)
    return client.post(f"/calls/{call.id}/rules/json", data={
        "csrf_token": csrf_token_from(html), "rules_hash": rules_hash_value or _hash(html),
        "definition": json.dumps(rules)})


# --- the service and the API --------------------------------------------------------------------------

@pytest.mark.parametrize(("case", "rules", "path", "reason"), INVALID, ids=[case[0] for case in INVALID])
def test_api_refuses_invalid_rules_with_the_reason(client, session, officer, draft, case, rules, path, reason):
    response = client.put(f"/api/v1/calls/{draft.id}/eligibility-rules", json={"rules": rules},
                          headers={**bearer(officer), "Accept-Language": "en"})
    assert response.status_code == 422, response.json
    key = f"eligibility_rules.{path}"
    assert key in response.json["fields"], response.json["fields"]
    assert reason in " ".join(response.json["fields"][key])
    assert _stored(session, draft.id) == []
    patched = client.patch(f"/api/v1/calls/{draft.id}", json={"eligibility_rules": rules}, headers=bearer(officer))
    assert patched.status_code == 422 and key in patched.json["fields"]


def test_api_saves_reads_and_audits_rules(client, session, officer, draft):
    rules = [_rule(), _expression_rule()]
    response = client.put(f"/api/v1/calls/{draft.id}/eligibility-rules", json={"rules": rules},
                          headers=bearer(officer))
    assert response.status_code == 200, response.json
    assert [r["code"] for r in response.json["rules"]] == ["legal_form", "short_summary"]
    assert _stored(session, draft.id) == validate_ruleset(rules)
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "call.update",
                                                        AuditEvent.object_id == str(draft.id))).scalar_one()
    assert event.payload["rules_changed"] is True
    read = client.get(f"/api/v1/calls/{draft.id}/eligibility-rules", headers=bearer(officer))
    assert read.status_code == 200 and read.json["rules_hash"] == response.json["rules_hash"]
    assert read.json["rules"][0]["params"] == {"allowed": ["association", "foundation"]}
    # a draft's rules are for staff only
    assert client.get(f"/api/v1/calls/{draft.id}/eligibility-rules").status_code == 404
    applicant = make_user("applicant")
    assert client.get(f"/api/v1/calls/{draft.id}/eligibility-rules", headers=bearer(applicant)).status_code == 404


def test_api_stale_put_is_refused(client, session, officer, draft):
    old = rules_hash(draft)
    first = client.put(f"/api/v1/calls/{draft.id}/eligibility-rules", json={"rules": [_rule()], "rules_hash": old},
                       headers=bearer(officer))
    assert first.status_code == 200
    stale = client.put(f"/api/v1/calls/{draft.id}/eligibility-rules",
                       json={"rules": [_expression_rule()], "rules_hash": old}, headers=bearer(officer))
    assert stale.status_code == 409
    assert [r["code"] for r in _stored(session, draft.id)] == ["legal_form"]


def test_api_permissions(client, session, draft):
    rules = {"rules": [_rule()]}
    url = f"/api/v1/calls/{draft.id}/eligibility-rules"
    assert client.put(url, json=rules).status_code == 401
    for role in ("applicant", "evaluator", "finance"):
        assert client.put(url, json=rules, headers=bearer(make_user(role))).status_code == 403
    application = make_application(make_call())
    preview = {"application_id": application.id}
    assert client.post(f"{url}/preview", json=preview).status_code == 401
    assert client.post(f"{url}/preview", json=preview, headers=bearer(make_user("applicant"))).status_code == 403
    assert client.put(url, json=rules, headers=bearer(make_user("admin"))).status_code == 200


def test_published_rules_change_only_by_corrigendum_and_are_hashed(client, session, officer, draft):
    client.put(f"/api/v1/calls/{draft.id}/eligibility-rules", json={"rules": [_rule()]}, headers=bearer(officer))
    published = client.post(f"/api/v1/calls/{draft.id}/publish", headers=bearer(officer))
    assert published.status_code == 200, published.json
    first = session.execute(sa.select(CallVersion).where(CallVersion.call_id == draft.id)).scalar_one()
    assert first.snapshot["rules"] == validate_ruleset([_rule()])
    refused = client.put(f"/api/v1/calls/{draft.id}/eligibility-rules", json={"rules": []},
                         headers={**bearer(officer), "Accept-Language": "en"})
    assert refused.status_code == 409 and "corrigendum" in refused.json["message"]
    # anyone reads a published call's rules; the call's detail lists them in the request's language
    assert client.get(f"/api/v1/calls/{draft.id}/eligibility-rules").json["rules"][0]["code"] == "legal_form"
    detail = client.get(f"/api/v1/calls/{draft.id}", headers={"Accept-Language": "en"}).json
    assert detail["eligibility_rules"] == [{"code": "legal_form", "title": "Legal form", "severity": "blocking"}]
    detail_lv = client.get(f"/api/v1/calls/{draft.id}", headers={"Accept-Language": "lv"}).json
    assert detail_lv["eligibility_rules"][0]["title"] == "Juridiskā forma"
    # a bad rule is refused by a corrigendum as well
    bad = client.post(f"/api/v1/calls/{draft.id}/corrigenda",
                      json={"reason": "Precizēti noteikumi", "eligibility_rules": [_rule(check="horoscope")]},
                      headers=bearer(officer))
    assert bad.status_code == 422 and "eligibility_rules.0.check" in bad.json["fields"]
    changed = [_rule(params={"allowed": ["association", "foundation", "social_enterprise"]})]
    corrected = client.post(f"/api/v1/calls/{draft.id}/corrigenda",
                            json={"reason": "Atļauti arī sociālie uzņēmumi", "eligibility_rules": changed},
                            headers=bearer(officer))
    assert corrected.status_code == 201, corrected.json
    assert corrected.json["version"] == 2 and corrected.json["content_hash"] != first.content_hash
    assert corrected.json["snapshot"]["rules"][0]["params"]["allowed"][-1] == "social_enterprise"
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "call.corrigendum")).scalar_one()
    assert event.payload["changes"]["rules_changed"] is True
    same = client.post(f"/api/v1/calls/{draft.id}/corrigenda",
                       json={"reason": "Nekas", "eligibility_rules": changed}, headers=bearer(officer))
    assert same.status_code == 422  # the same rules change nothing


def test_create_call_with_rules(client, session, officer):
    programme = make_programme()
    payload = {"programme_id": programme.id, "code": "R-1", "title_lv": "Konkurss", "title_en": "Call",
               "opens_at": "2030-01-01T08:00:00Z", "closes_at": "2030-03-01T12:00:00Z",
               "stages": [{"si_stage": "idea_generation", "envelope": "50000.00", "min_grant": "1000.00",
                           "max_grant": "10000.00"}],
               "eligibility_rules": [_rule()]}
    created = client.post("/api/v1/calls", json=payload, headers={**bearer(officer), "Accept-Language": "en"})
    assert created.status_code == 201, created.json
    assert created.json["eligibility_rules"] == [{"code": "legal_form", "title": "Legal form",
                                                  "severity": "blocking"}]
    bad = client.post("/api/v1/calls", json={**payload, "code": "R-2", "eligibility_rules": [{"code": "x"}]},
                      headers=bearer(officer))
    assert bad.status_code == 422 and "eligibility_rules.0.title_lv" in bad.json["fields"]


def test_api_preview_outcomes_store_nothing(client, session, officer):
    call = make_call(eligibility_rules=validate_ruleset([_rule(), _expression_rule()]))
    application = make_application(call, summary="Īss")
    before = _results(session)
    url = f"/api/v1/calls/{call.id}/eligibility-rules/preview"
    response = client.post(url, json={"application_id": application.id},
                           headers={**bearer(officer), "Accept-Language": "en"})
    assert response.status_code == 200, response.json
    assert response.json == [
        {"code": "legal_form", "title": "Legal form", "severity": "blocking", "outcome": "pass", "message": ""},
        {"code": "short_summary", "title": "Summary", "severity": "warning", "outcome": "fail",
         "message": "The summary is too short."}]
    typed = client.post(url, json={"application_id": application.id,
                                   "rules": [_rule(params={"allowed": ["foundation"]})]},
                        headers={**bearer(officer), "Accept-Language": "en"})
    assert typed.status_code == 200
    assert typed.json[0]["outcome"] == "fail" and typed.json[0]["message"] == "The form association is not allowed."
    bad = client.post(url, json={"application_id": application.id, "rules": [_rule(check="horoscope")]},
                      headers=bearer(officer))
    assert bad.status_code == 422 and "rules.0.check" in bad.json["fields"]
    other = make_application(make_call())
    wrong = client.post(url, json={"application_id": other.id}, headers=bearer(officer))
    assert wrong.status_code == 422 and "application_id" in wrong.json["fields"]
    assert _results(session) == before
    session.expire_all()
    assert session.get(Call, call.id).eligibility_rules[1]["code"] == "short_summary"


def test_checks_catalogue(client):
    response = client.get("/api/v1/eligibility/checks", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    checks = {check["name"]: check for check in response.json["checks"]}
    assert {"legal_form", "de_minimis", "double_funding", "micro_project"} <= set(checks)
    assert checks["de_minimis"]["defaults"] == {"ceiling": "300000.00", "years": 3}
    assert "received" in checks["de_minimis"]["provides"]
    assert checks["duration"]["defaults"]["max_months"] == 24
    for name, check in checks.items():  # every check's defaults make a valid rule
        validate_ruleset([_rule(code="r", check=name, params=check["defaults"], message_en="x", message_lv="x")])
    objects = {item["object"]: item for item in response.json["context"]}
    assert {"application", "organisation", "initiative", "call", "stage"} == set(objects)
    assert "application.requested_amount" in [a["name"] for a in objects["application"]["attributes"]]


# --- the page -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("case", "rules", "path", "reason"), INVALID, ids=[case[0] for case in INVALID])
def test_page_refuses_invalid_json_with_the_reason(client, session, officer, draft, case, rules, path, reason):
    login(client, officer)
    response = _post_json(client, draft, rules)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    number = int(path.split(".")[0]) + 1
    assert f"Rule {number} (" in html and reason.replace("'", "&#39;") in html
    assert json.dumps(rules)[:40].replace('"', "&#34;") in html  # what was typed is kept
    assert _stored(session, draft.id) == []


def test_page_adds_edits_moves_and_removes_rules(client, session, officer, draft):
    login(client, officer)
    html = _editor(client, draft)
    assert "The call has no eligibility rules yet." in html
    assert "application.requested_amount" in html and "De minimis headroom" in html  # the reference
    new_page = client.get(f"/calls/{draft.id}/rules/new?check=duration").get_data(as_text=True)
    assert "max_months" in new_page and "24" in new_page  # prefilled with the check's defaults
    data = {"csrf_token": csrf_token_from(new_page), "rules_hash": _hash(new_page), "code": "duration",
            "title_lv": "Ilgums", "title_en": "Duration", "message_lv": "No {min_months} līdz {max_months}.",
            "message_en": "From {min_months} to {max_months}.", "severity": "blocking", "kind": "check",
            "check": "duration", "params": '{"min_months": 3, "max_months": 12}', "expression": ""}
    saved = client.post(f"/calls/{draft.id}/rules/new", data=data)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert _stored(session, draft.id)[0]["params"] == {"min_months": 3, "max_months": 12}
    # a bad parameter is reported next to the field; what was typed is kept
    page = client.get(f"/calls/{draft.id}/rules/new").get_data(as_text=True)
    bad = client.post(f"/calls/{draft.id}/rules/new", data={
        **data, "csrf_token": csrf_token_from(page), "rules_hash": _hash(page), "code": "again",
        "params": '{"min_months": 3, "max_months": 500}'})
    assert bad.status_code == 422
    bad_html = bad.get_data(as_text=True)
    assert 'id="params-error"' in bad_html and "max_months:" in bad_html and "500" in bad_html
    expression = client.post(f"/calls/{draft.id}/rules/new", data={
        **data, "csrf_token": csrf_token_from(page), "rules_hash": _hash(page), "code": "summary",
        "kind": "expression", "expression": "applicant.name == 'x'", "message_lv": "Īss.", "message_en": "Short."})
    assert expression.status_code == 422
    assert 'id="expression-error"' in expression.get_data(as_text=True)
    assert [r["code"] for r in _stored(session, draft.id)] == ["duration"]
    # edit
    edit_page = client.get(f"/calls/{draft.id}/rules/duration/edit").get_data(as_text=True)
    edited = client.post(f"/calls/{draft.id}/rules/duration/edit", data={
        **data, "csrf_token": csrf_token_from(edit_page), "rules_hash": _hash(edit_page), "severity": "manual"})
    assert edited.status_code == 302
    assert _stored(session, draft.id)[0]["severity"] == "manual"
    # presets, then move and remove
    html = _editor(client, draft)
    client.post(f"/calls/{draft.id}/rules/action", data={"csrf_token": csrf_token_from(html),
                                                         "rules_hash": _hash(html), "action": "micro_project"})
    assert [r["code"] for r in _stored(session, draft.id)] == ["duration", "micro_project"]
    html = _editor(client, draft)
    client.post(f"/calls/{draft.id}/rules/action", data={"csrf_token": csrf_token_from(html),
                                                         "rules_hash": _hash(html), "action": "up",
                                                         "target": "micro_project"})
    assert [r["code"] for r in _stored(session, draft.id)] == ["micro_project", "duration"]
    html = _editor(client, draft)
    client.post(f"/calls/{draft.id}/rules/action", data={"csrf_token": csrf_token_from(html),
                                                         "rules_hash": _hash(html), "action": "remove",
                                                         "target": "duration"})
    assert [r["code"] for r in _stored(session, draft.id)] == ["micro_project"]
    html = _editor(client, draft)
    client.post(f"/calls/{draft.id}/rules/action", data={"csrf_token": csrf_token_from(html),
                                                         "rules_hash": _hash(html), "action": "demo"})
    codes = [r["code"] for r in _stored(session, draft.id)]
    assert codes == ["micro_project"] + [r["code"] for r in demo_ruleset()]
    assert micro_project_rule()["code"] in codes


def test_page_stale_edit_is_refused(client, session, officer, draft):
    login(client, officer)
    html = _editor(client, draft)
    assert _post_json(client, draft, [_rule()], html=html).status_code == 302
    stale = _post_json(client, draft, [_expression_rule()], html=html)
    assert stale.status_code == 409
    assert "Someone else changed these rules" in stale.get_data(as_text=True)
    assert [r["code"] for r in _stored(session, draft.id)] == ["legal_form"]


def test_page_preview_stores_nothing(client, session, officer):
    call = make_call(status=CallStatus.DRAFT, eligibility_rules=validate_ruleset([_rule()]))
    application = make_application(make_call(), summary="Īss")  # the call has none: any application
    login(client, officer)
    html = _editor(client, call)
    assert f'value="{application.id}"' in html
    before = _results(session)
    typed = [_rule(params={"allowed": ["foundation"]}), _expression_rule()]
    response = client.post(f"/calls/{call.id}/rules/preview", data={
        "csrf_token": csrf_token_from(html), "rules_hash": _hash(html), "definition": json.dumps(typed),
        "application_id": str(application.id), "source": "typed"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('class="outcome-fail"') == 2 and "The form association is not allowed.</td>" in page
    stored = client.post(f"/calls/{call.id}/rules/preview", data={
        "csrf_token": csrf_token_from(html), "rules_hash": _hash(html), "definition": json.dumps(typed),
        "application_id": str(application.id), "source": "stored"})
    stored_page = stored.get_data(as_text=True)
    assert stored.status_code == 200 and 'class="outcome-pass"' in stored_page
    assert 'class="outcome-fail"' not in stored_page and "<code>short_summary</code>" not in stored_page
    missing = client.post(f"/calls/{call.id}/rules/preview", data={
        "csrf_token": csrf_token_from(html), "rules_hash": _hash(html), "definition": "[]",
        "application_id": "", "source": "stored"})
    assert missing.status_code == 422 and 'id="application_id-error"' in missing.get_data(as_text=True)
    assert _results(session) == before
    assert [r["code"] for r in _stored(session, call.id)] == ["legal_form"]


def test_page_permissions(client, session, officer, draft):
    applicant = make_user("applicant")
    assert client.get(f"/calls/{draft.id}/rules").status_code in (302, 401)
    login(client, applicant)
    assert client.get(f"/calls/{draft.id}/rules").status_code == 403
    page = client.get(f"/calls/{draft.id}").get_data(as_text=True)
    assert client.post(f"/calls/{draft.id}/rules/json", data={
        "csrf_token": csrf_token_from(page), "rules_hash": rules_hash(draft),
        "definition": json.dumps([_rule()])}).status_code == 403
    assert _stored(session, draft.id) == []


def test_published_call_rules_page_is_read_only(client, session, officer):
    published = make_call(eligibility_rules=validate_ruleset([_rule()]))
    login(client, officer)
    html = _editor(client, published)
    assert "Changes need a corrigendum." in html and f"/calls/{published.id}/corrigendum" in html
    assert "Legal form" in html and "/rules/new" not in html
    refused = _post_json(client, published, [], html=html)
    assert refused.status_code == 409
    assert client.get(f"/calls/{published.id}/rules/new").status_code == 409
    assert _stored(session, published.id)[0]["code"] == "legal_form"


def test_editor_page_queries_do_not_grow(client, session, officer, count_queries):
    call = make_call(status=CallStatus.DRAFT, eligibility_rules=validate_ruleset([_rule()]))
    make_application(call)
    login(client, officer)
    _editor(client, call)
    with count_queries() as few:
        _editor(client, call)
    for _ in range(5):
        make_application(call)
    with count_queries() as many:
        _editor(client, call)
    assert many.count == few.count
