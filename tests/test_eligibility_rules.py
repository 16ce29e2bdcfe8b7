"""Eligibility rules (issue 5): checked when saved, each built-in check at its boundary, expressions
over the documented context, results stored per rule on submission."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.core.codes import LegalForm, Region
from grants.core.db import db
from grants.eligibility.models import EligibilityResult, Outcome, Severity
from grants.eligibility.presets import demo_ruleset, micro_project_rule
from grants.eligibility.rules import RulesetError, validate_ruleset
from grants.eligibility.services import check_application, evaluate
from grants.workflows.services import act
from tests.factories import make_application, make_call, make_initiative, make_organisation, make_user

ON = date(2026, 11, 23)


def rule(code="r", severity="blocking", **how):
    return {"code": code, "severity": severity, "title_lv": "Noteikums", "title_en": "Rule",
            "message_lv": "Neatbilst.", "message_en": "Not met.", **how}


def outcome(application, *rules):
    [result] = check_application(application, rules=validate_ruleset(list(rules)), on=ON)
    return result.outcome


@pytest.fixture
def application(session):
    applicant = make_user("applicant")
    organisation = make_organisation(applicant, legal_form=LegalForm.ASSOCIATION, region=Region.LATGALE)
    call = make_call(stages=(("idea_generation", "100000.00", "2000.00", "10000.00"),
                             ("prototyping", "100000.00", "10000.00", "50000.00")))
    return make_application(call, organisation, requested_amount=Decimal("5000.00"), duration_months=12,
                            summary="Kaimiņu palīdzības tīkls senioriem Latgales laukos")


# --- Saving: bad rules are refused with the reason ---------------------------------------------

@pytest.mark.parametrize(("bad", "path", "words"), [
    (rule(expression="application.nope > 1"), "0.expression", "nope"),
    (rule(expression="applicant.title == 'x'"), "0.expression", "applicant"),
    (rule(expression="application.title > 5"), "0.expression", ""),
    (rule(expression="application.title ==="), "0.expression", ""),
    (rule(check="no_such_check"), "0.check", "no_such_check"),
    (rule(check="duration", params={"max_months": "many"}), "0.params.max_months", ""),
    (rule(check="duration", params={"max_months": 12, "colour": "red"}), "0.params.colour", ""),
    (rule(check="legal_form", params={"allowed": ["pirates"]}), "0.params.allowed", ""),
    (rule(check="co_financing_share", params={"min_share": "1.5"}), "0.params.min_share", ""),
    (rule(check="duration", params={"max_months": 12}, message_en="Too long: {nonsense}."), "0.message_en",
     "duration_months"),
    (rule(severity="fatal", expression="true"), "0.severity", ""),
    ({**rule(expression="true"), "check": "duration"}, "0.expression", ""),
    (rule(code="Bad Code", expression="true"), "0.code", ""),
])
def test_a_bad_rule_is_refused_with_its_reason(app, bad, path, words):
    with app.test_request_context(headers={"Accept-Language": "en"}), pytest.raises(RulesetError) as refused:
        validate_ruleset([bad])
    assert path in refused.value.fields, refused.value.fields
    assert words in " ".join(refused.value.fields[path])


def test_duplicate_codes_and_the_presets(app):
    with app.test_request_context():
        with pytest.raises(RulesetError) as refused:
            validate_ruleset([rule(expression="true"), rule(expression="false")])
        assert "1.code" in refused.value.fields
        saved = validate_ruleset([*demo_ruleset(), micro_project_rule()])
    assert saved[4]["params"] == {"min_months": 3, "max_months": 24}  # defaults completed when saved


# --- Built-in checks at their boundaries -----------------------------------------------------------

def test_legal_form_country_and_region(application):
    assert outcome(application, rule(check="legal_form", params={"allowed": ["association"]})) == Outcome.PASS
    assert outcome(application, rule(check="legal_form", params={"allowed": ["foundation"]})) == Outcome.FAIL
    assert outcome(application, rule(check="country")) == Outcome.PASS  # LV by default
    assert outcome(application, rule(check="country", params={"countries": ["EE"]})) == Outcome.FAIL
    application.initiative.region = Region.LATGALE
    assert outcome(application, rule(check="region", params={"regions": ["latgale"]})) == Outcome.PASS
    assert outcome(application, rule(check="region", params={"regions": ["kurzeme"]})) == Outcome.FAIL
    assert outcome(application, rule(check="region", params={"regions": ["latgale"], "of": "organisation"})) \
        == Outcome.PASS


@pytest.mark.parametrize(("amount", "expected"), [
    ("1999.99", Outcome.FAIL), ("2000.00", Outcome.PASS), ("10000.00", Outcome.PASS), ("10000.01", Outcome.FAIL)])
def test_amount_within_the_stage_limits(application, amount, expected):
    application.requested_amount = Decimal(amount)
    assert outcome(application, rule(check="amount_within_stage_limits")) == expected


@pytest.mark.parametrize(("months", "expected"), [(2, Outcome.FAIL), (3, Outcome.PASS), (24, Outcome.PASS),
                                                  (25, Outcome.FAIL)])
def test_duration(application, months, expected):
    application.duration_months = months
    assert outcome(application, rule(check="duration", params={"min_months": 3, "max_months": 24})) == expected


@pytest.mark.parametrize(("co_financing", "expected"), [("99.99", Outcome.FAIL), ("100.00", Outcome.PASS)])
def test_co_financing_share(application, co_financing, expected):
    application.call.form = [{"code": "b", "title_lv": "B", "title_en": "B", "questions": [
        {"code": "budget", "type": "table", "required": True, "label_lv": "Budžets", "label_en": "Budget",
         "columns": [{"code": "amount", "type": "money", "required": True, "label_lv": "S", "label_en": "A"},
                     {"code": "co_financing", "type": "money", "required": False, "label_lv": "L",
                      "label_en": "C"}]}]}]
    application.answers = {"budget": [{"amount": "600.00", "co_financing": co_financing},
                                      {"amount": "400.00", "co_financing": "0.00"}]}
    assert outcome(application, rule(check="co_financing_share", params={"min_share": "0.10"})) == expected
    application.answers = {}
    assert outcome(application, rule(check="co_financing_share", params={"min_share": "0.10"})) == Outcome.FAIL


def test_stage_allowed_and_previous_stage(application):
    assert outcome(application, rule(check="stage_allowed")) == Outcome.PASS
    application.si_stage = "scaling"
    assert outcome(application, rule(check="stage_allowed")) == Outcome.FAIL
    # Stage-gated entry: prototyping needs idea generation proven (or the initiative already there).
    application.si_stage = "prototyping"
    application.initiative = make_initiative(application.organisation, stage="idea_generation")
    db.session.flush()
    assert outcome(application, rule(check="previous_stage_completed")) == Outcome.FAIL
    earlier = make_application(application.call, application.organisation, initiative=application.initiative,
                               state="completed", proven_stages=["idea_generation"])
    assert earlier.id
    assert outcome(application, rule(check="previous_stage_completed")) == Outcome.PASS
    application.si_stage = "idea_generation"  # the first funded stage after problem identification
    application.initiative = make_initiative(application.organisation, stage="idea_generation")
    db.session.flush()
    assert outcome(application, rule(check="previous_stage_completed")) == Outcome.PASS  # already there


def test_overdue_reports(application, session):
    from grants.audit.services import record_event

    running = make_application(application.call, application.organisation, state="in_implementation",
                               duration_months=6)
    record_event(action="application.start_implementation", object_type="application", object_id=running.id,
                 actor=None, payload={})
    session.flush()
    today_ = date.today()  # implementation started today; six months later the final report is due
    [fresh] = check_application(application, rules=validate_ruleset([rule(check="no_overdue_reports")]), on=today_)
    assert fresh.outcome == Outcome.PASS
    [late] = check_application(application, rules=validate_ruleset([rule(check="no_overdue_reports")]),
                               on=today_ + timedelta(days=200))
    assert late.outcome == Outcome.FAIL and f"#{running.id}" in late.inputs["overdue"]


def test_double_funding_names_the_matching_application(application, session):
    other_call = make_call()
    twin = make_application(other_call, application.organisation, title=application.title, state="submitted")
    check = rule(severity="manual", check="double_funding", params={"threshold": 0.9},
                 message_en="Similar: {match} ({similarity}).")
    [flagged] = check_application(application, rules=validate_ruleset([check]), on=ON)
    assert flagged.outcome == Outcome.MANUAL and f"#{twin.id}" in flagged.message_en
    twin.title = "Pavisam cits projekts par jauniešu nodarbinātību"
    twin.summary = "Cits"
    session.flush()
    assert outcome(application, check) == Outcome.PASS
    same_call = make_application(application.call, application.organisation, title=application.title,
                                 state="submitted")
    assert same_call.id and outcome(application, check) == Outcome.PASS  # scope: other calls only


def test_micro_project_preset(application):
    application.answers = {"mp_initiated_by_users": True, "mp_initiated_by_users_explanation": "Jā, iedzīvotāji",
                           "mp_specific_needs": True, "mp_specific_needs_explanation": "Seniori",
                           "mp_new_service": True, "mp_new_service_explanation": "Jauns pakalpojums"}
    assert outcome(application, micro_project_rule()) == Outcome.PASS
    application.answers = {**application.answers, "mp_new_service": False}
    [result] = check_application(application, rules=validate_ruleset([micro_project_rule()]), on=ON)
    assert result.outcome == Outcome.FAIL and "mp_new_service" in result.message_en
    application.answers = {**application.answers, "mp_new_service": True, "mp_new_service_explanation": " "}
    assert outcome(application, micro_project_rule()) == Outcome.FAIL


# --- Expressions ------------------------------------------------------------------------------------

def test_expressions_see_the_documented_context(application):
    assert outcome(application, rule(expression="application.requested_amount <= stage.max_grant and "
                                                "organisation.legal_form in ['association', 'foundation'] and "
                                                "'idea_generation' in call.stages")) == Outcome.PASS
    assert outcome(application, rule(expression="application.duration_months > 12")) == Outcome.FAIL
    # A manual rule that does not pass goes to an officer; a warning fails without blocking.
    assert outcome(application, rule(severity="manual", expression="application.duration_months > 12")) \
        == Outcome.MANUAL
    # Something only this application lacks is an officer's to check, never an error.
    [missing] = check_application(application, rules=validate_ruleset(
        [rule(expression="application.answers['mp_new_service'] == true")]), on=ON)
    assert missing.outcome == Outcome.MANUAL and missing.message_lv and missing.message_en


def test_messages_name_the_inputs_in_both_languages(application):
    application.requested_amount = Decimal("12000.00")
    [result] = check_application(application, rules=validate_ruleset([rule(
        check="amount_within_stage_limits", message_lv="Summa {requested} pārsniedz {max_grant}.",
        message_en="{requested} is over {max_grant}.")]), on=ON)
    # the numbers written as each language writes them; the stored inputs keep the checks' own form
    assert (result.message_lv, result.message_en) == ("Summa 12\xa0000,00 pārsniedz 10\xa0000,00.",
                                                      "12,000.00 is over 10,000.00.")
    assert result.inputs["requested"] == "12000.00"
    assert result.blocks and result.severity == Severity.BLOCKING


# --- Submission stores the results per rule -----------------------------------------------------------

def test_submit_stores_every_rule_with_its_inputs(application, session):
    application.call.eligibility_rules = validate_ruleset([
        rule("limits", check="amount_within_stage_limits"),
        rule("long", severity="warning", expression="application.duration_months > 12")])
    applicant = application.organisation.memberships[0].user
    act(application, "submit", applicant)
    results = {r.rule_code: r for r in session.scalars(sa.select(EligibilityResult))}
    assert results["limits"].outcome == Outcome.PASS and results["limits"].inputs["requested"] == "5000.00"
    assert results["long"].outcome == Outcome.FAIL and results["long"].message_en == "Not met."
    assert {r.round for r in results.values()} == {1}
    assert application.state == "eligibility_review"  # a failing warning does not stop anything


def test_evaluation_queries_do_not_grow_with_applications(app, session, count_queries):
    rules = validate_ruleset([*demo_ruleset(), micro_project_rule()])
    call = make_call()

    def batch(n):
        applications = [make_application(call) for _ in range(n)]
        session.flush()
        session.expire_all()
        applications = session.scalars(sa.select(type(applications[0])).where(
            type(applications[0]).id.in_([a.id for a in applications]))).all()
        with count_queries() as counter:
            evaluate(applications, rules=rules, on=ON)
        return counter.count

    with app.test_request_context():
        assert batch(2) == batch(12)


def test_submit_evaluates_the_rules_once(application, monkeypatch):
    """The submit guard's outcomes are the ones stored: the rules are not run a second time."""
    import grants.eligibility.services as services

    application.call.eligibility_rules = validate_ruleset([rule("limits", check="amount_within_stage_limits")])
    calls = []
    real = services.load_facts
    monkeypatch.setattr(services, "load_facts", lambda *args: calls.append(1) or real(*args))
    act(application, "submit", application.organisation.memberships[0].user)
    assert calls == [1] and application.state == "eligibility_review"
