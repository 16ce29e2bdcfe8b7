"""The form editor of a call: pure editing steps, the officer's pages and the API's form endpoints."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from grants.audit.models import AuditEvent
from grants.calls.models import Call, CallStatus
from grants.calls.services import form_hash
from grants.forms import editing
from grants.forms.definitions import QUESTION_TYPES, validate_form_definition
from grants.forms.templates import SECTION_TEMPLATES, default_form
from tests.conftest import csrf_token_from
from tests.factories import bearer, make_call, make_programme, make_user, small_form

# --- pure editing steps ----------------------------------------------------------------------------


def _two_sections() -> list[dict]:
    form = small_form()
    form.append({"code": "team", "title_lv": "Komanda", "title_en": "Team", "questions": [
        {"code": "team_size", "type": "number", "required": True, "label_lv": "Cik?", "label_en": "How many?"}]})
    return form


def test_edits_return_a_new_form_and_leave_the_old_one_alone():
    form = _two_sections()
    before = json.dumps(form)
    moved = editing.move_section(form, "team", -1)
    assert [s["code"] for s in moved] == ["team", "about"]
    assert json.dumps(form) == before
    assert editing.move_section(moved, "team", -1) == moved  # already first
    down = editing.move_question(form, "project_name", 1)
    assert [q["code"] for q in down[0]["questions"]] == ["description", "project_name"]
    assert editing.remove_section(form, "about")[0]["code"] == "team"
    added = editing.add_question(form, "team", {"code": "lead", "type": "short_text", "required": False,
                                                "label_lv": "Vadītājs", "label_en": "Lead"})
    assert [q["code"] for q in added[1]["questions"]] == ["team_size", "lead"]
    renamed = editing.update_question(form, "team_size", {**form[1]["questions"][0], "code": "people"})
    assert renamed[1]["questions"][0]["code"] == "people"
    section = editing.update_section(form, "team", {"code": "crew", "title_lv": "Komanda", "title_en": "Crew",
                                                    "help_lv": "", "help_en": " Who "})
    assert section[1]["code"] == "crew" and section[1]["help_en"] == "Who" and "help_lv" not in section[1]
    assert section[1]["questions"] == form[1]["questions"]
    validate_form_definition(section)
    assert json.dumps(form) == before


def test_unknown_codes_and_the_last_question_are_refused():
    form = _two_sections()
    with pytest.raises(editing.FormEditError):
        editing.move_section(form, "nope", 1)
    with pytest.raises(editing.FormEditError):
        editing.update_question(form, "nope", {})
    with pytest.raises(editing.FormEditError, match="at least one question"):
        editing.remove_question(form, "team_size")


def test_every_built_in_template_can_be_added_to_an_empty_form():
    form: list[dict] = []
    for code in SECTION_TEMPLATES:
        form = editing.add_section_from_template(form, code)
    assert form == default_form()
    validate_form_definition(form)


def test_a_template_whose_codes_clash_is_reported_by_code():
    form = editing.add_section_from_template([], "budget")
    with pytest.raises(editing.FormEditError) as caught:
        editing.add_section_from_template(form, "budget")
    messages = " ".join(caught.value.fields["template"])
    assert "budget" in messages and "co_financing_sources" in messages
    form[0]["code"] = "money"
    with pytest.raises(editing.FormEditError) as caught:
        editing.add_section_from_template(form, "budget")
    assert "co_financing_sources" in " ".join(caught.value.fields["template"])
    with pytest.raises(editing.FormEditError):
        editing.add_section_from_template([], "no_such_template")


def test_option_lines_parse_and_malformed_lines_are_named():
    assert editing.parse_options("a | Ā | A\n\n b|B lv|B en ") == [
        {"value": "a", "label_lv": "Ā", "label_en": "A"}, {"value": "b", "label_lv": "B lv", "label_en": "B en"}]
    with pytest.raises(editing.FormEditError) as caught:
        editing.parse_options("a | Ā | A\nonly two | parts")
    assert caught.value.fields["options"] == ["Line 2: write value | label in Latvian | label in English."]
    options = [{"value": "x", "label_lv": "X", "label_en": "Ex"}]
    assert editing.parse_options(editing.format_options(options)) == options


def test_column_lines_parse_keep_choice_options_and_round_trip():
    budget = SECTION_TEMPLATES["budget"].build()["questions"][0]
    text = editing.format_columns(budget["columns"])
    assert "co_financing | money | Līdzfinansējums, EUR | Co-financing, EUR | no | min=0 | not_more_than=amount" in text
    assert editing.parse_columns(text, budget["columns"]) == budget["columns"]
    parsed = editing.parse_columns("item | short_text | Pozīcija | Item | yes | max_length=80")
    assert parsed == [{"code": "item", "type": "short_text", "required": True, "label_lv": "Pozīcija",
                       "label_en": "Item", "max_length": 80}]
    with pytest.raises(editing.FormEditError) as caught:
        editing.parse_columns("item | short_text\nx | money | X | X | maybe\ny | money | Y | Y | no | max=lots")
    assert [m.split(":")[0] for m in caught.value.fields["columns"]] == ["Line 1", "Line 2", "Line 3"]


def test_question_values_round_trip_through_the_editor_fields():
    for question in (q for section in default_form() for q in section["questions"]):
        values = editing.question_values(question)
        assert editing.question_from_values(values, question) == question, question["code"]


# --- the pages ---------------------------------------------------------------------------------------


@pytest.fixture
def officer(session):
    return make_user("officer")


@pytest.fixture
def draft(session):
    return make_call(make_programme(), status=CallStatus.DRAFT, opens_in_days=5, closes_in_days=40,
                     form=_two_sections())


def login(client, user):
    """Sign in and read the pages in English (their messages are asserted below)."""
    from tests.factories import login as sign_in

    sign_in(client, user)
    client.get("/language/en")


def _stored(session, call_id: int) -> list[dict]:
    session.expire_all()
    return session.get(Call, call_id).form


def _updates(session, call_id: int) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "call.update", AuditEvent.object_id == str(call_id))).scalar_one()


def _editor(client, call) -> str:
    response = client.get(f"/calls/{call.id}/form")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _hash(html: str) -> str:
    match = re.search(r'name="form_hash"[^>]*value="([0-9a-f]{64})"', html)
    assert match, "no form hash in the page"
    return match.group(1)


def _post_action(client, call, action: str, target: str):
    html = _editor(client, call)
    return client.post(f"/calls/{call.id}/form/action", data={
        "csrf_token": csrf_token_from(html), "form_hash": _hash(html), "action": action, "target": target})


def _question_data(html: str, **overrides) -> dict:
    data = {"csrf_token": csrf_token_from(html), "form_hash": _hash(html), "question-code": "budget_note",
            "question-type": "short_text", "question-label_lv": "Piezīme", "question-label_en": "Note",
            "question-help_lv": "", "question-help_en": "", "question-max_length": "",
            "question-min": "", "question-max": "", "question-options": "", "question-columns": "",
            "question-min_rows": "", "question-max_rows": ""}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_editor_lists_sections_and_questions_with_links_from_the_call(client, session, officer, draft):
    login(client, officer)
    html = _editor(client, draft)
    for text in ("Par projektu", "About the project", "project_name", "Projekta nosaukums", "Project name",
                 "team_size", f"/calls/{draft.id}/form/preview", f"/calls/{draft.id}/form/sections/new",
                 f"/calls/{draft.id}/form/questions/description/edit", "Advanced"):
        assert text in html, text
    assert _hash(html) == form_hash(draft)
    assert f"/calls/{draft.id}/form" in client.get(f"/calls/{draft.id}").get_data(as_text=True)
    assert f"/calls/{draft.id}/form" in client.get(f"/calls/{draft.id}/edit").get_data(as_text=True)


@pytest.mark.parametrize(("action", "target", "expected"), [
    ("section_up", "team", lambda f: [s["code"] for s in f] == ["team", "about"]),
    ("section_down", "about", lambda f: [s["code"] for s in f] == ["team", "about"]),
    ("section_remove", "team", lambda f: [s["code"] for s in f] == ["about"]),
    ("question_down", "project_name", lambda f: [q["code"] for q in f[0]["questions"]] == ["description",
                                                                                           "project_name"]),
    ("question_up", "description", lambda f: [q["code"] for q in f[0]["questions"]] == ["description",
                                                                                        "project_name"]),
    ("question_remove", "description", lambda f: [q["code"] for q in f[0]["questions"]] == ["project_name"]),
])
def test_buttons_change_the_stored_form_and_are_audited(client, session, officer, draft, action, target, expected):
    login(client, officer)
    response = _post_action(client, draft, action, target)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert expected(_stored(session, draft.id))
    assert _updates(session, draft.id) == 1
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "call.update")).scalar_one()
    assert event.payload["form_changed"] is True


def test_removing_the_last_question_of_a_section_is_refused(client, session, officer, draft):
    login(client, officer)
    response = _post_action(client, draft, "question_remove", "team_size")
    assert response.status_code == 422 and "remove the section instead" in response.get_data(as_text=True)
    assert _stored(session, draft.id) == _two_sections() and _updates(session, draft.id) == 0


def test_adding_a_built_in_section(client, session, officer, draft):
    login(client, officer)
    html = _editor(client, draft)
    assert "Theory of Change" in html or "Pārmaiņu teorija" in html
    data = {"csrf_token": csrf_token_from(html), "form_hash": _hash(html), "template": "theory_of_change"}
    response = client.post(f"/calls/{draft.id}/form/template", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    form = _stored(session, draft.id)
    assert form[-1]["code"] == "theory_of_change" and form[-1]["questions"][0]["code"] == "toc_inputs"
    assert _updates(session, draft.id) == 1
    data["form_hash"] = form_hash(session.get(Call, draft.id))
    again = client.post(f"/calls/{draft.id}/form/template", data=data)
    page = again.get_data(as_text=True)
    assert again.status_code == 422 and "toc_inputs" in page and 'id="template-error"' in page
    assert len(_stored(session, draft.id)) == 3 and _updates(session, draft.id) == 1


def test_adding_an_empty_section_with_its_first_question(client, session, officer, draft):
    login(client, officer)
    page = client.get(f"/calls/{draft.id}/form/sections/new").get_data(as_text=True)
    data = _question_data(page, code="risks", title_lv="Riski", title_en="Risks", help_lv="", help_en="Be frank",
                          **{"question-code": "main_risk", "question-type": "long_text",
                             "question-max_length": "800", "question-required": "y"})
    response = client.post(f"/calls/{draft.id}/form/sections/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    section = _stored(session, draft.id)[-1]
    assert section == {"code": "risks", "title_lv": "Riski", "title_en": "Risks", "help_en": "Be frank",
                       "questions": [{"code": "main_risk", "type": "long_text", "required": True,
                                      "label_lv": "Piezīme", "label_en": "Note", "max_length": 800}]}
    assert _updates(session, draft.id) == 1


def test_editing_a_section(client, session, officer, draft):
    login(client, officer)
    page = client.get(f"/calls/{draft.id}/form/sections/team/edit").get_data(as_text=True)
    assert 'value="Komanda"' in page
    data = {"csrf_token": csrf_token_from(page), "form_hash": _hash(page), "code": "crew", "title_lv": "Komanda",
            "title_en": "Crew", "help_lv": "", "help_en": ""}
    assert client.post(f"/calls/{draft.id}/form/sections/team/edit", data=data).status_code == 302
    section = _stored(session, draft.id)[1]
    assert section["code"] == "crew" and section["title_en"] == "Crew"
    assert section["questions"][0]["code"] == "team_size"
    bad = client.post(f"/calls/{draft.id}/form/sections/crew/edit",
                      data={**data, "form_hash": form_hash(session.get(Call, draft.id)), "code": "about"})
    assert bad.status_code == 422 and 'id="code-error"' in bad.get_data(as_text=True)
    assert _stored(session, draft.id)[1]["code"] == "crew" and _updates(session, draft.id) == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"question-type": "single_choice", "question-options": "a | Ā | A\nb | B | B"}, None),
    ({"question-type": "money", "question-min": "0", "question-max": "2500.5"}, None),
    ({"question-type": "table", "question-columns": "item | short_text | Pozīcija | Item | yes\n"
                                                    "cost | money | Summa | Cost | yes | min=0",
      "question-min_rows": "1", "question-max_rows": "10"}, None),
])
def test_adding_questions_of_each_kind(client, session, officer, draft, overrides, field):
    login(client, officer)
    page = client.get(f"/calls/{draft.id}/form/sections/team/questions/new").get_data(as_text=True)
    response = client.post(f"/calls/{draft.id}/form/sections/team/questions/new",
                           data=_question_data(page, **overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    question = _stored(session, draft.id)[1]["questions"][-1]
    assert question["code"] == "budget_note" and question["type"] == overrides["question-type"]
    if question["type"] == "money":
        assert question["min"] == 0 and question["max"] == 2500.5
    if question["type"] == "single_choice":
        assert [o["value"] for o in question["options"]] == ["a", "b"]
    if question["type"] == "table":
        assert [c["code"] for c in question["columns"]] == ["item", "cost"] and question["max_rows"] == 10
    assert _updates(session, draft.id) == 1


def test_editing_a_question_keeps_its_place(client, session, officer, draft):
    login(client, officer)
    page = client.get(f"/calls/{draft.id}/form/questions/project_name/edit").get_data(as_text=True)
    assert 'value="Projekta nosaukums"' in page
    data = _question_data(page, **{"question-code": "project_title", "question-label_en": "Project title",
                                   "question-max_length": "120", "question-required": "y"})
    response = client.post(f"/calls/{draft.id}/form/questions/project_name/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    question = _stored(session, draft.id)[0]["questions"][0]
    assert question == {"code": "project_title", "type": "short_text", "required": True, "label_lv": "Piezīme",
                        "label_en": "Project title", "max_length": 120}
    assert _updates(session, draft.id) == 1


@pytest.mark.parametrize(("overrides", "error_id", "message"), [
    ({"question-code": "description"}, "question-code-error", "already used"),
    ({"question-code": "Bad Code"}, "question-code-error", "lower-case letters"),
    ({"question-max_length": "lots"}, "question-max_length-error", None),
    ({"question-type": "single_choice"}, "question-options-error", "List the options"),
    ({"question-type": "multiple_choice", "question-options": "a | Ā | A\njust one part"}, "question-options-error",
     "Line 2"),
    ({"question-type": "number", "question-max_length": "50"}, "question-max_length-error",
     "Only text questions"),
    ({"question-type": "table", "question-columns": "x | money | X"}, "question-columns-error", "Line 1"),
    ({"question-label_en": ""}, "question-label_en-error", None),
])
def test_bad_questions_are_shown_next_to_the_field_and_nothing_is_saved(client, session, officer, draft, overrides,
                                                                         error_id, message):
    login(client, officer)
    page = client.get(f"/calls/{draft.id}/form/sections/team/questions/new").get_data(as_text=True)
    response = client.post(f"/calls/{draft.id}/form/sections/team/questions/new",
                           data=_question_data(page, **overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html
    assert f'id="{error_id}"' in html, html[html.find("error-summary"):][:1500]
    if message:
        assert message in html
    typed = next((value for key, value in overrides.items() if key != "question-type"), None)
    if typed and "\n" not in typed:
        assert typed in html  # what the officer typed is kept
    assert _stored(session, draft.id) == _two_sections() and _updates(session, draft.id) == 0


def test_a_stale_edit_is_a_conflict_and_overwrites_nothing(client, session, officer, draft):
    login(client, officer)
    page = client.get(f"/calls/{draft.id}/form/questions/description/edit").get_data(as_text=True)
    # Someone else moves a section in the meantime.
    assert _post_action(client, draft, "section_up", "team").status_code == 302
    response = client.post(f"/calls/{draft.id}/form/questions/description/edit",
                           data=_question_data(page, **{"question-code": "description",
                                                        "question-label_en": "Mine"}))
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Someone else changed this form" in html
    assert 'value="Mine"' in html
    form = _stored(session, draft.id)
    assert [s["code"] for s in form] == ["team", "about"] and form[1]["questions"][1]["label_en"] == "Description"
    assert _updates(session, draft.id) == 1


def test_the_whole_form_as_json(client, session, officer, draft):
    login(client, officer)
    html = _editor(client, draft)
    assert "project_name" in html and ("&#34;code&#34;" in html or "&quot;code&quot;" in html)
    new_form = editing.add_section_from_template(_two_sections(), "micro_project")
    data = {"csrf_token": csrf_token_from(html), "form_hash": _hash(html),
            "definition": json.dumps(new_form, ensure_ascii=False)}
    assert client.post(f"/calls/{draft.id}/form/json", data=data).status_code == 302
    assert _stored(session, draft.id) == new_form and _updates(session, draft.id) == 1
    current = form_hash(session.get(Call, draft.id))
    broken = client.post(f"/calls/{draft.id}/form/json", data={**data, "form_hash": current, "definition": "[{"})
    assert broken.status_code == 422 and "not valid JSON" in broken.get_data(as_text=True)
    new_form[0]["questions"][0]["type"] = "essay"
    invalid = client.post(f"/calls/{draft.id}/form/json",
                          data={**data, "form_hash": current, "definition": json.dumps(new_form)})
    page = invalid.get_data(as_text=True)
    assert invalid.status_code == 422 and "0.questions.0.type" in page and "essay" in page
    assert _updates(session, draft.id) == 1


def test_a_published_call_shows_the_form_read_only(client, session, officer):
    call = make_call(make_programme())
    login(client, officer)
    html = _editor(client, call)
    assert "project_name" in html and f"/calls/{call.id}/corrigendum" in html and "corrigendum" in html
    assert f"/calls/{call.id}/form/action" not in html and "form/questions/project_name/edit" not in html
    response = client.post(f"/calls/{call.id}/form/action", data={
        "csrf_token": csrf_token_from(html), "form_hash": form_hash(call), "action": "section_remove",
        "target": "about"})
    assert response.status_code == 409
    assert client.get(f"/calls/{call.id}/form/questions/project_name/edit").status_code == 302
    assert _stored(session, call.id) == small_form() and _updates(session, call.id) == 0


def test_the_pages_are_for_officers(client, session, draft):
    assert client.get(f"/calls/{draft.id}/form").status_code in (302, 401)
    login(client, make_user("applicant"))
    for url in ("form", "form/preview", "form/sections/new", "form/questions/project_name/edit"):
        assert client.get(f"/calls/{draft.id}/{url}").status_code == 403, url
    html = client.get("/calls/").get_data(as_text=True)
    response = client.post(f"/calls/{draft.id}/form/action", data={
        "csrf_token": csrf_token_from(html), "form_hash": form_hash(draft), "action": "section_remove",
        "target": "team"})
    assert response.status_code == 403 and _stored(session, draft.id) == _two_sections()


def test_unknown_calls_sections_and_questions_are_not_found(client, session, officer, draft):
    login(client, officer)
    assert client.get("/calls/999999/form").status_code == 404
    assert client.get(f"/calls/{draft.id}/form/sections/nope/edit").status_code == 404
    assert client.get(f"/calls/{draft.id}/form/questions/nope/edit").status_code == 404


def test_preview_renders_every_question_type(client, session, officer):
    form = default_form()
    form.append({"code": "extra", "title_lv": "Papildus", "title_en": "Extra", "questions": [
        {"code": "name", "type": "short_text", "required": True, "label_lv": "Vārds", "label_en": "Name"},
        {"code": "amount", "type": "money", "required": False, "label_lv": "Summa", "label_en": "Amount"},
        {"code": "start", "type": "date", "required": False, "label_lv": "Sākums", "label_en": "Start"},
        {"code": "kind", "type": "single_choice", "required": False, "label_lv": "Veids", "label_en": "Kind",
         "options": [{"value": "a", "label_lv": "Ā", "label_en": "A"}]},
        {"code": "letter", "type": "file", "required": False, "label_lv": "Vēstule", "label_en": "Letter"},
    ]})
    assert {q["type"] for s in form for q in s["questions"]} == QUESTION_TYPES
    call = make_call(make_programme(), status=CallStatus.DRAFT, form=validate_form_definition(form))
    login(client, officer)
    response = client.get(f"/calls/{call.id}/form/preview")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for question in (q for s in form for q in s["questions"]):
        assert f'id="question-{question["code"]}"' in html, question["code"]
    assert html.count("<fieldset class=\"form-section\" disabled>") == len(form)
    assert 'type="file" name="answers-letter-upload"' in html and 'name="answers-budget-0-amount"' in html


# --- the API -----------------------------------------------------------------------------------------


def test_api_lists_the_built_in_section_templates(client):
    response = client.get("/api/v1/forms/templates", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert [t["code"] for t in response.json] == list(SECTION_TEMPLATES)
    budget = next(t for t in response.json if t["code"] == "budget")
    assert budget["title"] == "Budget with co-financing"
    assert budget["section"] == SECTION_TEMPLATES["budget"].build()
    validate_form_definition([t["section"] for t in response.json])


def test_api_returns_a_calls_form_drafts_only_to_staff(client, session, officer, draft):
    published = make_call(make_programme())
    response = client.get(f"/api/v1/calls/{published.id}/form")
    assert response.status_code == 200
    assert response.json["form"] == small_form() and response.json["form_hash"] == form_hash(published)
    assert client.get(f"/api/v1/calls/{draft.id}/form").status_code == 404
    assert client.get(f"/api/v1/calls/{draft.id}/form", headers=bearer(make_user("applicant"))).status_code == 404
    staff = client.get(f"/api/v1/calls/{draft.id}/form", headers=bearer(officer))
    assert staff.status_code == 200 and staff.json["form"] == _two_sections() and staff.json["status"] == "draft"
    assert client.get("/api/v1/calls/999999/form").status_code == 404
