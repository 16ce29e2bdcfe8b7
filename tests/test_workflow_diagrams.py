"""Workflow diagrams: Mermaid text from every definition, the admin pages and the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import escape

from grants.workflows.definitions import parse_definition
from grants.workflows.diagrams import escape_label, mermaid_text, state_ids
from grants.workflows.engine import definitions
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD, bearer, make_user

STATIC = Path(__file__).resolve().parents[1] / "grants" / "static"
MERMAID_JS = "vendor/mermaid/mermaid.min.js"
KEYS = sorted(definitions())
ENTITY = re.compile(r"#(\d+);")
#: What must never appear raw inside a Mermaid label.
SYNTAX = set('"#:;[]{}<>\n\r')


def _decode(text: str) -> str:
    return ENTITY.sub(lambda match: chr(int(match.group(1))), text)


def _identity(msgid: str) -> str:
    return msgid


def _login(client, email, password=PASSWORD):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302
    return client


def _signed_in(client, role):
    return _login(client, make_user(role).email)


# --- Mermaid text ---------------------------------------------------------------------------------

def test_there_are_definitions_to_draw():
    assert ("application", 1) in KEYS


@pytest.mark.parametrize("key", KEYS, ids=[f"{name}_v{version}" for name, version in KEYS])
def test_mermaid_text_has_every_state_and_transition(key):
    definition = definitions()[key]
    text = mermaid_text(definition, _identity)
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    ids = state_ids(definition)
    for code, state in definition.states.items():
        assert f'    state "{escape_label(state.label)}" as {ids[code]}' in lines
        if state.tag in {"draft", "screening", "review", "decision", "grant", "closed_positive", "closed_negative"}:
            assert any(line.startswith("    class ") and ids[code] in line.split()[1].split(",")
                       and line.endswith(f" tag_{state.tag}") for line in lines)
    assert f"    [*] --> {ids[definition.initial]}" in lines
    for code in definition.terminal:
        assert f"    {ids[code]} --> [*]" in lines
    edges = [line for line in lines if " --> " in line and "[*]" not in line]
    for transition in definition.transitions:
        for source in transition.sources:
            expected = (f"    {ids[source]} --> {ids[transition.dest]} : {escape_label(transition.label)} "
                        f"[{', '.join(sorted(transition.roles))}]")
            if transition.guards:
                expected += f" ({', '.join(transition.guards)})"
            assert expected in edges
    assert len(edges) == sum(len(t.sources) for t in definition.transitions)


def test_edges_show_label_roles_and_guards_compactly():
    text = mermaid_text(definitions()[("application", 1)], _identity)
    assert "    eligibility_review --> ineligible : Declare ineligible [officer] (comment_given)\n" in text
    assert "    draft --> submitted : Submit [applicant] (before_deadline, answers_complete)\n" in text
    assert "    eligibility_review --> in_evaluation : Declare eligible [officer]\n" in text
    assert "    state \"Draft\" as draft\n" in text
    assert "    classDef tag_closed_negative " in text


def test_labels_are_translated_with_the_function_given():
    text = mermaid_text(definitions()[("application", 1)], {"Draft": "Melnraksts", "Submit": "Iesniegt"}.get)
    assert 'state "Melnraksts" as draft' in text
    assert "draft --> submitted : Iesniegt [applicant]" in text


NASTY_STATE = 'Say "hi": a; b # c [x] {y} <b>bold</b> & 50%\nsecond line'
NASTY_ACTION = 'Go: now; #1 "q" [*] --> end {z} <i>x</i>\r\nnext'


def _nasty_definition():
    return parse_definition({
        "name": "nasty", "version": 1, "title": "T: \"x\"", "initial": "draft",
        "states": {"draft": {"tag": "draft", "label": NASTY_STATE},
                   "end": {"tag": "closed_positive", "label": "Ēnd — ā ē ī"},
                   "state_1": {"tag": "closed_negative", "label": "Other"}},
        "terminal": ["end", "state_1"],
        "transitions": [{"trigger": "go", "label": NASTY_ACTION, "source": "draft", "dest": "end",
                         "roles": ["officer", "applicant"], "guards": ["comment_given"]},
                        {"trigger": "stop", "label": "Stop", "source": "draft", "dest": "state_1",
                         "roles": ["officer"]}],
    })


def test_escaping_keeps_labels_on_one_line_without_mermaid_syntax():
    assert escape_label('a "b": c; #d [e] {f} <g>') == "a #34;b#34;#58; c#59; #35;d #91;e#93; #123;f#125; #60;g#62;"
    for raw in (NASTY_STATE, NASTY_ACTION, "#35; already looks like an entity"):
        escaped = escape_label(raw)
        assert not SYNTAX & set(ENTITY.sub("", escaped)), escaped
        assert "\n" not in escaped and _decode(escaped).split() == raw.split()


def test_nasty_labels_and_ids_cannot_break_the_diagram():
    definition = _nasty_definition()
    text = mermaid_text(definition, _identity)
    lines = text.splitlines()
    ids = state_ids(definition)
    # "end" is a word of the grammar and "state_1" could clash with a made-up id: both are replaced.
    assert ids == {"draft": "draft", "end": "state_1", "state_1": "state_2"}
    assert len(lines) == len(text.split("\n")) - 1  # no label added a line
    state_line = next(line for line in lines if line.endswith(" as draft"))
    label = state_line.removeprefix('    state "').removesuffix('" as draft')
    assert not SYNTAX & set(ENTITY.sub("", label))
    assert _decode(label).split() == NASTY_STATE.split()
    edge = next(line for line in lines if line.startswith(f"    draft --> {ids['end']} : "))
    assert edge.count(":") == 1  # the separator only
    text_part = edge.split(" : ", 1)[1]
    assert text_part.endswith(" [applicant, officer] (comment_given)")
    action = text_part.removesuffix(" [applicant, officer] (comment_given)")
    assert not SYNTAX & set(ENTITY.sub("", action))
    assert _decode(action).split() == NASTY_ACTION.split()
    assert f"    {ids['end']} --> [*]" in lines and f"    {ids['state_1']} --> [*]" in lines


def test_an_empty_title_is_not_sent_to_gettext(app):
    from grants.workflows.diagrams import describe

    definition = _nasty_definition()
    definition.title = ""
    with app.test_request_context("/?lang=lv"):
        assert describe(definition)["title"] == ""  # gettext("") would be the catalogue header


# --- vendored script --------------------------------------------------------------------------------

def test_mermaid_is_vendored_with_its_licence_and_origin():
    folder = STATIC / "vendor" / "mermaid"
    script = (folder / "mermaid.min.js").read_text(encoding="utf-8")
    assert len(script) > 1_000_000
    assert 'globalThis["mermaid"]' in script  # the self-contained build defines window.mermaid
    assert "import(" not in script  # and loads no other chunk
    assert "MIT License" in (folder / "LICENSE").read_text(encoding="utf-8")
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "11." in readme and "npm pack" in readme


def test_static_route_serves_the_scripts(client):
    response = client.get(f"/static/{MERMAID_JS}")
    assert response.status_code == 200
    assert "javascript" in response.content_type
    assert response.get_data() == (STATIC / MERMAID_JS).read_bytes()
    response.close()
    init = client.get("/static/js/workflow-diagram.js")
    assert init.status_code == 200
    body = init.get_data(as_text=True)
    init.close()
    assert 'securityLevel: "strict"' in body and "startOnLoad: true" in body


# --- pages ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "officer", "auditor"])
def test_readers_see_the_list_and_every_diagram(client, session, role):
    _signed_in(client, role)
    listing = client.get("/admin/workflows/?lang=en")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    for name, version in KEYS:
        assert f'href="/admin/workflows/{name}/{version}"' in page
    for key in KEYS:
        definition = definitions()[key]
        response = client.get(f"/admin/workflows/{key[0]}/{key[1]}?lang=en")
        assert response.status_code == 200, key
        page = response.get_data(as_text=True)
        assert '<pre class="mermaid">stateDiagram-v2' in page
        for code, state in definition.states.items():
            assert str(escape(state.label)) in page and f"<code>{code}</code>" in page
            assert str(escape(state.status)) in page
        for transition in definition.transitions:
            assert str(escape(transition.label)) in page and f"<code>{transition.trigger}</code>" in page
        assert f'<script src="/static/{MERMAID_JS}"></script>' in page
        assert '<script src="/static/js/workflow-diagram.js"></script>' in page
        sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", page)
        assert sources and all(src.startswith("/static/") for src in sources)
        assert not re.search(r"""src=["']?(https?:)?//""", page)


def test_diagram_page_is_accessible_and_in_latvian_by_default(client, session):
    _signed_in(client, "officer")
    page = client.get("/admin/workflows/application/1").get_data(as_text=True)
    assert '<html lang="lv">' in page
    assert page.count("<caption>") == 2 and page.count("<h1>") == 1
    assert 'aria-labelledby="states-heading"' in page and 'aria-labelledby="transitions-heading"' in page
    assert str(escape('state "Melnraksts" as draft')) in page and '<th scope="row">Melnraksts' in page


def test_nav_links_to_workflows_for_readers_only(client, session):
    _signed_in(client, "auditor")
    assert 'href="/admin/workflows/"' in client.get("/dashboard/").get_data(as_text=True)
    other = client.application.test_client()
    _signed_in(other, "applicant")
    assert 'href="/admin/workflows/"' not in other.get("/dashboard/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["applicant", "evaluator", "committee", "finance"])
def test_other_roles_are_refused(client, session, role):
    _signed_in(client, role)
    assert client.get("/admin/workflows/").status_code == 403
    assert client.get("/admin/workflows/application/1").status_code == 403


@pytest.mark.parametrize("url", ["/admin/workflows/", "/admin/workflows/application/1"])
def test_anonymous_users_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("url", ["/admin/workflows/application/999", "/admin/workflows/no_such_workflow/1",
                                 "/admin/workflows/application/one"])
def test_unknown_workflow_or_version_is_the_normal_404_page(client, session, url):
    _signed_in(client, "admin")
    response = client.get(url)
    assert response.status_code == 404
    assert "<h1>" in response.get_data(as_text=True)


def test_pages_send_no_queries_beyond_the_signed_in_user(client, session, count_queries):
    _signed_in(client, "admin")
    with count_queries() as listing:
        client.get("/admin/workflows/")
    with count_queries() as detail:
        client.get("/admin/workflows/application/1")
    assert detail.count == listing.count <= 3


# --- API ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "officer", "auditor"])
def test_api_lists_every_definition(client, session, role):
    response = client.get("/api/v1/workflows", headers=bearer(make_user(role)))
    assert response.status_code == 200
    items = response.get_json()
    assert [(item["name"], item["version"]) for item in items] == KEYS
    first = next(item for item in items if (item["name"], item["version"]) == ("application", 1))
    definition = definitions()[("application", 1)]
    assert first == {"name": "application", "version": 1, "title": first["title"],
                     "states": len(definition.states), "transitions": len(definition.transitions)}


@pytest.mark.parametrize("key", KEYS, ids=[f"{name}_v{version}" for name, version in KEYS])
def test_api_describes_a_definition(client, session, key):
    definition = definitions()[key]
    response = client.get(f"/api/v1/workflows/{key[0]}/{key[1]}",
                          headers={**bearer(make_user("officer")), "Accept-Language": "en"})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"name", "version", "title", "initial", "terminal", "states", "transitions", "mermaid"}
    assert (body["name"], body["version"], body["initial"]) == (*key, definition.initial)
    assert set(body["terminal"]) == set(definition.terminal)
    assert body["states"] == [{"code": code, "label": state.label, "tag": state.tag, "status": state.status}
                              for code, state in definition.states.items()]
    assert [t["trigger"] for t in body["transitions"]] == [t.trigger for t in definition.transitions]
    for sent, transition in zip(body["transitions"], definition.transitions, strict=True):
        assert sent["label"] == transition.label and sent["sources"] == list(transition.sources)
        assert sent["dest"] == transition.dest and sent["roles"] == sorted(transition.roles)
        assert sent["guards"] == list(transition.guards) and sent["effects"] == list(transition.effects)
    assert body["mermaid"] == mermaid_text(definition, _identity)


def test_api_labels_follow_accept_language(client, session):
    headers = bearer(make_user("auditor"))
    lv = client.get("/api/v1/workflows/application/1", headers={**headers, "Accept-Language": "lv"}).get_json()
    en = client.get("/api/v1/workflows/application/1", headers={**headers, "Accept-Language": "en"}).get_json()
    assert lv["states"][0]["code"] == en["states"][0]["code"] == "draft"
    assert (lv["states"][0]["label"], en["states"][0]["label"]) == ("Melnraksts", "Draft")
    assert 'state "Melnraksts" as draft' in lv["mermaid"] and 'state "Draft" as draft' in en["mermaid"]


@pytest.mark.parametrize("url", ["/api/v1/workflows", "/api/v1/workflows/application/1"])
@pytest.mark.parametrize(("role", "status"), [("applicant", 403), ("evaluator", 403), ("committee", 403),
                                               (None, 401)])
def test_api_is_for_admins_officers_and_auditors(client, session, url, role, status):
    response = client.get(url, headers=bearer(make_user(role)) if role else {})
    assert response.status_code == status
    assert response.get_json()["error"] == ("forbidden" if status == 403 else "unauthorized")


@pytest.mark.parametrize("url", ["/api/v1/workflows/application/999", "/api/v1/workflows/no_such_workflow/1",
                                 "/api/v1/workflows/application/one"])
def test_api_unknown_workflow_is_404_json(client, session, url):
    response = client.get(url, headers=bearer(make_user("admin")))
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "not_found" and body["message"] and body["fields"] == {}


def test_api_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "get" in spec["paths"]["/api/v1/workflows"]
    detail = spec["paths"]["/api/v1/workflows/{name}/{version}"]["get"]
    assert detail["security"] == [{"bearerAuth": []}]
    schemas = spec["components"]["schemas"]
    assert {"name", "version", "title", "initial", "terminal", "states", "transitions", "mermaid"} <= set(
        schemas["WorkflowDetail"]["properties"])
    assert {"code", "label", "tag", "status"} <= set(schemas["WorkflowState"]["properties"])
