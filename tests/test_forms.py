"""Call forms: definitions checked when saved, built-in templates, answer validation and the HTML round trip."""

from __future__ import annotations

import copy
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from flask import render_template_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from grants.forms.definitions import FormDefinitionError, validate_form_definition
from grants.forms.templates import (
    budget_with_cofinancing,
    business_model_canvas,
    default_form,
    micro_project,
    problem_and_target_group,
    theory_of_change,
)
from grants.forms.validation import (
    answers_from_form,
    budget_totals,
    form_for_api,
    form_outline,
    normalise_answers,
    validate_answers,
)
from tests.factories import make_call, small_form


@pytest.fixture
def en(app):
    with app.test_request_context("/api/v1/forms", headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def lv(app):
    with app.test_request_context("/api/v1/forms", headers={"Accept-Language": "lv"}):
        yield


def question(code="q", kind="short_text", required=False, **extra):
    return {"code": code, "type": kind, "required": required, "label_lv": f"Jautājums {code}",
            "label_en": f"Question {code}", **extra}


def section(*questions, code="s"):
    return {"code": code, "title_lv": "Sadaļa", "title_en": "Section", "questions": list(questions)}


OPTIONS = [{"value": "a", "label_lv": "A lv", "label_en": "A en"},
           {"value": "b", "label_lv": "B lv", "label_en": "B en"}]
BUDGET = budget_with_cofinancing()


# -- definitions --------------------------------------------------------------------------------

def test_default_form_is_a_valid_definition_with_unique_codes(en):
    form = default_form()
    assert validate_form_definition(copy.deepcopy(form)) == form
    codes = [q["code"] for s in form for q in s["questions"]]
    assert len(codes) == len(set(codes))
    assert [s["code"] for s in form] == ["problem", "theory_of_change", "business_model_canvas", "budget",
                                         "micro_project"]


def test_templates_carry_the_handbook_vocabulary():
    toc = [q["code"] for q in theory_of_change()["questions"]]
    assert toc == ["toc_inputs", "toc_activities", "toc_outputs", "toc_outcomes", "toc_impact", "toc_assumptions"]
    bmc = business_model_canvas()["questions"]
    assert len(bmc) == 9
    assert {q["label_lv"] for q in bmc} == {
        "Klientu segmenti", "Vērtības piedāvājumi", "Kanāli", "Klientu attiecības", "Ieņēmumu plūsmas",
        "Galvenie resursi", "Galvenās aktivitātes", "Galvenie partneri", "Izmaksu struktūra"}
    assert {q["label_en"] for q in bmc} >= {"Customer segments", "Value propositions", "Cost structure"}
    assert theory_of_change()["title_lv"] == "Pārmaiņu teorija"
    micro = micro_project()["questions"]
    assert [q["type"] for q in micro] == ["yes_no", "long_text"] * 3
    assert "pakalpojumu lietotāji" in micro[0]["label_lv"]
    budget = BUDGET["questions"][0]
    assert [c["code"] for c in budget["columns"]] == ["item", "category", "amount", "co_financing"]
    assert problem_and_target_group()["questions"][0]["required"] is True
    assert default_form() is not default_form() and default_form() == default_form()  # fresh copies


@pytest.mark.parametrize("form, path", [
    ("not a list", "form"),
    ([section(question(kind="essay"))], "0.questions.0.type"),
    ([section(question(code="Bad-Code"))], "0.questions.0.code"),
    ([section(question(code="x" * 61))], "0.questions.0.code"),
    ([section(question(code="1abc"))], "0.questions.0.code"),
    ([section(question("a"), code="s1"), section(question("a"), code="s2")], "1.questions.0.code"),
    ([section(question("a"), code="s"), section(question("b"), code="s")], "1.code"),
    ([section(question(kind="single_choice"))], "0.questions.0.options"),
    ([section(question(kind="multiple_choice", options=OPTIONS + OPTIONS[:1]))], "0.questions.0.options"),
    ([section(question(kind="short_text", options=OPTIONS))], "0.questions.0.options"),
    ([section(question(kind="long_text", max_length=0))], "0.questions.0.max_length"),
    ([section(question(kind="long_text", max_length=10**6))], "0.questions.0.max_length"),
    ([section(question(kind="long_text", max_length="500"))], "0.questions.0.max_length"),
    ([section(question(kind="number", max_length=5))], "0.questions.0.max_length"),
    ([section(question(kind="money", min=-1))], "0.questions.0.min"),
    ([section(question(kind="number", min=5, max=1))], "0.questions.0.max"),
    ([section(question(kind="number", min=float("nan")))], "0.questions.0.min"),
    ([section(question(kind="date", min=1))], "0.questions.0.min"),
    ([section(question(kind="table"))], "0.questions.0.columns"),
    ([section(question(kind="short_text", columns=[question("c")]))], "0.questions.0.columns"),
    ([section(question(kind="short_text", min_rows=1))], "0.questions.0.min_rows"),
    ([section(question(kind="table", columns=[question("c", kind="file")]))], "0.questions.0.columns.0.type"),
    ([section(question(kind="table", columns=[question("c"), question("c")]))], "0.questions.0.columns"),
    ([section(question(kind="table", columns=[question("c", kind="money", not_more_than="zz")]))],
     "0.questions.0.columns.0.not_more_than"),
    ([section(question(kind="table", columns=[question("c")], min_rows=3, max_rows=2))], "0.questions.0.max_rows"),
    ([section(question(label_lv=""))], "0.questions.0.label_lv"),
    ([section(question(colour="red"))], "0.questions.0.colour"),
    ([section()], "0.questions"),
    ([{"code": "s", "questions": [question()]}], "0.title_lv"),
])
def test_bad_definitions_are_rejected_when_saved_with_their_path(en, form, path):
    with pytest.raises(FormDefinitionError) as raised:
        validate_form_definition(form)
    assert path in raised.value.fields, raised.value.fields
    assert raised.value.status == 422 and all(isinstance(m, str) for ms in raised.value.fields.values() for m in ms)


def test_definition_messages_are_translated(lv):
    with pytest.raises(FormDefinitionError) as raised:
        validate_form_definition([section(question(kind="single_choice"), question("x", kind="essay"))])
    fields = raised.value.fields
    assert fields["0.questions.0.options"] == ["Norādiet izvēles jautājuma atbilžu variantus."]
    assert "Must be one of" not in " ".join(fields["0.questions.1.type"])


def test_valid_definition_gets_defaults(en):
    form = validate_form_definition([section(question("a", kind="table", columns=[question("c", kind="money")]))])
    assert form[0]["questions"][0]["required"] is False
    assert form[0]["questions"][0]["columns"][0]["required"] is False
    assert validate_form_definition([]) == []


# -- validation ---------------------------------------------------------------------------------

FORM = [section(
    question("name", required=True, max_length=20),
    question("story", kind="long_text", max_length=500),
    question("people", kind="number", min=0, max=1000),
    question("amount", kind="money", max=5000),
    question("start", kind="date"),
    question("region", kind="single_choice", options=OPTIONS),
    question("groups", kind="multiple_choice", options=OPTIONS),
    question("users_started", kind="yes_no", required=True),
    question("letter", kind="file"),
), BUDGET]


@pytest.mark.parametrize("code, value", [
    ("name", "Zupas virtuve"), ("story", "ā" * 500), ("story", "a\u0304" * 500), ("story", "x\r\n" * 166 + "xx"),
    ("people", 12), ("people", 12.5), ("people", "12"), ("people", "0"), ("amount", "12.50"), ("amount", 12.5),
    ("amount", 0), ("amount", "1 250,50"), ("amount", "5000"), ("start", "2026-03-31"), ("region", "a"),
    ("groups", ["a", "b"]), ("groups", []), ("users_started", False), ("users_started", True), ("letter", 7),
    ("letter", "7"),
])
def test_valid_values_pass(en, code, value):
    assert validate_answers(FORM, {code: value}, complete=False) == {}


@pytest.mark.parametrize("code, value, message", [
    ("name", 5, "Enter text."),
    ("name", "x" * 21, "Use at most 20 characters."),
    ("story", "ā" * 501, "Use at most 500 characters."),
    ("story", ["a"], "Enter text."),
    ("people", "many", "Enter a number."),
    ("people", True, "Enter a number."),
    ("people", float("inf"), "Enter a number."),
    ("people", "1e5", "Enter a number."),
    ("people", -1, "Enter at least 0."),
    ("people", 1001, "Enter at most 1000."),
    ("people", 10**16, "The number is too large."),
    ("amount", "12.345", "Use at most 2 decimal places."),
    ("amount", 0.001, "Use at most 2 decimal places."),
    ("amount", -5, "An amount cannot be negative."),
    ("amount", "5000.01", "Enter at most 5000."),
    ("amount", "NaN", "Enter an amount, for example 1250.50."),
    ("amount", {"eur": 1}, "Enter an amount, for example 1250.50."),
    ("amount", 10**13, "The amount is too large."),
    ("start", "2026-02-30", "Enter a date as YYYY-MM-DD, for example 2026-03-31."),
    ("start", "20260301", "Enter a date as YYYY-MM-DD, for example 2026-03-31."),
    ("start", "31.03.2026", "Enter a date as YYYY-MM-DD, for example 2026-03-31."),
    ("region", "c", "Choose one of the options."),
    ("region", ["a"], "Choose one of the options."),
    ("groups", ["a", "zz"], "Choose from the options listed."),
    ("groups", "a", "Choose from the options listed."),
    ("users_started", "yes", "Answer yes or no."),
    ("users_started", 1, "Answer yes or no."),
    ("letter", -3, "Upload the file again."),
    ("letter", "a.pdf", "Upload the file again."),
])
def test_invalid_values_get_a_message_next_to_the_field(en, code, value, message):
    assert validate_answers(FORM, {code: value}, complete=False) == {code: [message]}


def test_latvian_messages_name_the_limit_with_the_right_plural(lv):
    assert validate_answers(FORM, {"story": "ā" * 501}, complete=False) == {
        "story": ["Izmantojiet ne vairāk kā 500 rakstzīmes."]}
    one = [section(question("x", max_length=21))]
    assert validate_answers(one, {"x": "ž" * 22}, complete=False) == {
        "x": ["Izmantojiet ne vairāk kā 21 rakstzīmi."]}
    assert validate_answers(FORM, {"name": None}, complete=True)["name"] == ["Atbildiet uz šo jautājumu."]


def test_drafts_may_be_incomplete_but_submission_needs_every_required_answer(en):
    assert validate_answers(FORM, {}, complete=False) == {}
    assert validate_answers(FORM, {}, complete=True) == {
        "name": ["Answer this question."], "users_started": ["Answer this question."],
        "budget": ["Answer this question."]}
    blank = {"name": "   ", "users_started": None, "budget": [{"item": "", "amount": None}]}
    assert set(validate_answers(FORM, blank, complete=True)) == {"name", "users_started", "budget"}
    done = {"name": "Zupas virtuve", "users_started": False,
            "budget": [{"item": "Telpu īre", "category": "premises", "amount": "1200"}]}
    assert validate_answers(FORM, done, complete=True) == {}


def test_unknown_questions_and_non_mapping_answers_are_reported(en):
    assert validate_answers(FORM, {"colour": "red"}, complete=False) == {
        "colour": ["This question is not part of the form."]}
    assert validate_answers(FORM, ["name"], complete=True) == {
        "answers": ["Send the answers as an object keyed by question code."]}
    assert validate_answers("garbage", {"x": 1}, complete=True) == {"x": ["This question is not part of the form."]}


def test_table_rows_are_checked_cell_by_cell(en):
    rows = [
        {"item": "Telpu īre", "category": "premises", "amount": "1200.00", "co_financing": "200"},
        {"item": "", "category": "", "amount": "", "co_financing": ""},  # blank: ignored
        {"item": "Kafija", "category": "food", "amount": "12.345", "co_financing": "1"},
        {"item": "Autobuss", "category": "travel", "amount": "100", "co_financing": "150", "note": "x"},
        "not a row",
        {"category": "other", "amount": "5"},
    ]
    errors = validate_answers(FORM, {"budget": rows}, complete=True)
    assert errors == {
        "budget.2.category": ["Choose one of the options."],
        "budget.2.amount": ["Use at most 2 decimal places."],
        "budget.3.co_financing": ["Must not be more than “Total cost, EUR”."],
        "budget.3.note": ["This column is not part of the table."],
        "budget.4": ["Each row must give its cells by column code."],
        "budget.5.item": ["Fill in this cell."],
        "name": ["Answer this question."], "users_started": ["Answer this question."],
    }
    # A draft does not ask for missing cells yet.
    assert "budget.5.item" not in validate_answers(FORM, {"budget": rows}, complete=False)


def test_table_row_limits(en):
    table = [section(question("t", kind="table", columns=[question("c")], min_rows=2, max_rows=3))]
    assert validate_answers(table, {"t": [{"c": "a"}]}, complete=True) == {"t": ["Add at least 2 rows."]}
    assert validate_answers(table, {"t": [{"c": "a"}]}, complete=False) == {}
    assert validate_answers(table, {"t": [{"c": "a"}] * 4}, complete=False) == {"t": ["Use at most 3 rows."]}
    assert validate_answers(table, {"t": "a,b"}, complete=False) == {"t": ["Enter the rows as a list."]}
    assert validate_answers(table, {"t": [{"c": "a"}] * 10_000}, complete=False) == {
        "t": ["Enter the rows as a list."]}


def test_normalise_answers_for_storage():
    answers = {"name": "  Zupas virtuve \r\n", "story": "a\u0304bols\r\notrā rinda ", "people": "12",
               "amount": "1 250,5", "start": " 2026-03-31 ", "groups": ["b", "a", "b"], "users_started": False,
               "letter": "7", "region": "", "colour": "red",
               "budget": [{"item": " Telpu īre ", "category": "premises", "amount": 1200, "co_financing": ""},
                          {"item": "", "amount": None}]}
    assert normalise_answers(FORM, answers) == {
        "name": "Zupas virtuve", "story": "ābols\notrā rinda", "people": 12, "amount": "1250.50",
        "start": "2026-03-31", "groups": ["a", "b"], "users_started": False, "letter": 7,
        "budget": [{"item": "Telpu īre", "category": "premises", "amount": "1200.00"}]}
    assert normalise_answers(FORM, {"people": "12.5"})["people"] == 12.5
    assert normalise_answers(FORM, "junk") == {}
    assert normalise_answers(FORM, {"amount": "lots"}) == {"amount": "lots"}  # invalid stays, never guessed


def test_budget_totals_derive_the_request_and_the_co_financing_share():
    rows = [{"amount": "1000.00", "co_financing": "150.00"}, {"amount": 500, "co_financing": "50"},
            {"amount": "??"}, "junk"]
    assert budget_totals(rows) == {"total": Decimal("1500.00"), "co_financing": Decimal("200.00"),
                                   "requested": Decimal("1300.00"), "co_financing_share": Decimal("0.1333")}
    assert budget_totals([])["co_financing_share"] is None
    assert budget_totals(None)["requested"] == Decimal("0.00")


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.dictionaries(
    st.sampled_from(["name", "story", "people", "amount", "start", "region", "groups", "users_started", "letter",
                     "budget", "other"]),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                 lambda children: st.lists(children, max_size=3)
                 | st.dictionaries(st.sampled_from(["item", "category", "amount", "co_financing", "x"]), children,
                                   max_size=4),
                 max_leaves=10)))
def test_any_answers_get_messages_never_an_exception(en, answers):
    errors = validate_answers(FORM, answers, complete=True)
    assert all(isinstance(m, str) for ms in errors.values() for m in ms)
    clean = normalise_answers(FORM, answers)
    if not validate_answers(FORM, answers, complete=False):
        assert validate_answers(FORM, clean, complete=False) == {}  # normalising keeps valid answers valid


# -- what clients and pages see -----------------------------------------------------------------

def test_form_for_api_flattens_sections_in_the_requested_language():
    items = form_for_api(FORM, "en")
    assert [item["code"] for item in items][:3] == ["name", "story", "people"]
    name = items[0]
    assert name == {"code": "name", "type": "short_text", "required": True, "label": "Question name",
                    "max_length": 20, "section": "s"}
    region = next(item for item in items if item["code"] == "region")
    assert region["options"] == [{"value": "a", "label": "A en"}, {"value": "b", "label": "B en"}]
    budget = form_for_api(FORM, "lv")[-2]
    assert budget["label"] == "Budžeta pozīcijas" and budget["section"] == "budget"
    assert budget["columns"][2]["label"] == "Kopējās izmaksas, EUR" and budget["min_rows"] == 1
    assert form_for_api([{"code": "s", "questions": ["junk", {"no": "code"}]}, 3], "en") == []
    assert form_for_api(None, "lv") == []


def test_form_outline_groups_questions_by_section():
    outline = form_outline(default_form(), "lv")
    assert [s["title"] for s in outline][:2] == ["Problēma un mērķa grupa", "Pārmaiņu teorija"]
    assert outline[1]["questions"][0]["label"] == "Ieguldījumi"


def test_api_call_detail_lists_the_form(client, session):
    call = make_call(form=default_form())
    form = client.get(f"/api/v1/calls/{call.id}", headers={"Accept-Language": "en"}).json["form"]
    bmc = [item for item in form if item["section"] == "business_model_canvas"]
    assert len(bmc) == 9 and bmc[0]["label"] == "Customer segments" and bmc[0]["max_length"] == 1000
    required = {item["code"] for item in form if item["required"]}
    assert {"problem_description", "budget", "mp_initiated_by_users"} <= required
    lv = client.get(f"/api/v1/calls/{call.id}").json["form"]
    assert lv[0]["label"] == "Kādu sociālo problēmu iniciatīva risina?"
    small = client.get(f"/api/v1/calls/{make_call().id}").json["form"]
    assert [(q["code"], q["required"], q.get("max_length")) for q in small] == [
        ("project_name", True, 300), ("description", False, 500)]
    assert client.get(f"/api/v1/calls/{make_call(form=[]).id}").json["form"] == []


def test_call_page_outlines_the_form(client, session):
    call = make_call(form=default_form())
    page = client.get(f"/calls/{call.id}?lang=en").get_data(as_text=True)
    assert "What the application form asks" in page
    assert "Theory of Change" in page and "Value propositions" in page and "Budget lines" in page
    lv = client.get(f"/calls/{call.id}?lang=lv").get_data(as_text=True)
    assert "Biznesa modeļa kanva" in lv and "Mikroprojekta kritēriji" in lv
    assert "What the application form asks" not in client.get(f"/calls/{make_call(form=[]).id}?lang=en").get_data(
        as_text=True)


# -- HTML fields and the round trip -------------------------------------------------------------

RENDER = """{% from "forms/_fields.html" import render_question %}
{% for q in questions %}{{ render_question(q, answers.get(q.code), errors, language) }}{% endfor %}"""


def render(form, answers, errors, language="en"):
    questions = [q for s in form for q in s["questions"]]
    return render_template_string(RENDER, questions=questions, answers=answers, errors=errors, language=language)


class Browser(HTMLParser):
    """What a browser would post for the rendered fields, as they stand (no one edits them)."""

    def __init__(self):
        super().__init__()
        self.posted = MultiDict()
        self.names: list[str] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_value: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") != "file":
            self.names.append(a["name"])
            if a.get("type") in ("radio", "checkbox"):
                if "checked" in a:
                    self.posted.add(a["name"], a["value"])
            else:
                self.posted.add(a["name"], a.get("value") or "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.names.append(a["name"])
            self.posted.add(a["name"], "")
        elif tag == "select":
            self._select, self._select_value = a["name"], ""
            self.names.append(a["name"])
        elif tag == "option" and self._select and "selected" in a:
            self._select_value = a["value"]

    def handle_data(self, data):
        if self._textarea:
            self.posted.setlist(self._textarea, [self.posted.get(self._textarea, "") + data])

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            self.posted.add(self._select, self._select_value)
            self._select = None


def post(html: str) -> Browser:
    browser = Browser()
    browser.feed(html)
    return browser


def test_rendered_fields_post_back_the_same_answers(en):
    answers = {"name": "Zupas <virtuve> & co", "story": "Pirmā rinda\notrā rinda", "people": "12", "amount": "12.50",
               "start": "2026-03-31", "region": "b", "groups": ["a", "b"], "users_started": False, "letter": "7",
               "budget": [{"item": "Telpu īre", "category": "premises", "amount": "1200.00", "co_financing": "200.00"},
                          {"item": "Kafija", "category": "other", "amount": "30.00", "co_financing": None}]}
    browser = post(render(FORM, answers, {}))
    assert "answers-budget-2-item" in browser.names  # the empty extra row
    back = answers_from_form(FORM, browser.posted)
    assert validate_answers(FORM, back, complete=True) == {}
    assert normalise_answers(FORM, back) == normalise_answers(FORM, answers)
    assert back["users_started"] is False and back["groups"] == ["a", "b"] and len(back["budget"]) == 2


def test_empty_form_posts_back_empty_answers(en):
    back = answers_from_form(FORM, post(render(FORM, {}, {})).posted)
    assert normalise_answers(FORM, back) == {}
    assert back["budget"] == [] and back["groups"] == [] and back["users_started"] is None


def test_answers_from_form_renumbers_rows_and_ignores_strangers():
    posted = MultiDict([("answers-budget-7-item", "B"), ("answers-budget-2-item", "A"), ("answers-budget-3-item", ""),
                        ("answers-budget-2-colour", "red"), ("answers-budget_x-0-item", "no"),
                        ("answers-users_started", "maybe"), ("answers-other", "x")])
    back = answers_from_form(FORM, posted)
    assert [row["item"] for row in back["budget"]] == ["A", "B"]
    assert back["users_started"] == "maybe" and "other" not in back
    assert answers_from_form(small_form(), MultiDict()) == {"project_name": None, "description": None}


def test_fields_are_accessible_and_show_errors_next_to_them(en):
    errors = {"name": ["Answer this question."], "budget.0.amount": ["Use at most 2 decimal places."]}
    html = render(FORM, {"budget": [{"item": "Kafija", "amount": "1.234"}]}, errors)
    assert '<label class="label" for="q-name">Question name' in html
    assert 'aria-describedby="q-name-error"' in html and 'aria-invalid="true"' in html
    assert '<p class="error" id="q-name-error">Answer this question.</p>' in html
    assert 'aria-required="true"' in html and " required" not in html.replace("(required)", "")
    assert 'maxlength="500"' in html and 'id="q-story-counter"' in html and "Up to 500 characters." in html
    assert 'aria-describedby="q-story-counter"' in html
    assert 'id="q-budget-0-amount-error">Use at most 2 decimal places.' in html
    assert 'aria-label="Total cost, EUR, row 1"' in html
    assert "<legend" in html and 'type="radio" name="answers-users_started"' in html
    lv = render(FORM, {}, {}, language="lv")
    assert "Jautājums name" in lv and "Kopējās izmaksas, EUR" in lv


def test_full_table_offers_no_extra_row(en):
    table = [section(question("t", kind="table", columns=[question("c")], max_rows=1))]
    names = post(render(table, {"t": [{"c": "a"}]}, None)).names
    assert names == ["answers-t-0-c"]
