"""Journeys through the real pages, in Chromium, on the demo served by gunicorn (tests/browser/conftest.py).

The whole journey: a newcomer registers, adds their organisation and drafts an application to the demo's open call;
fills its form (problem and target group, the Theory of Change, the Business Model Canvas, the budget with
co-financing, the micro-project questions), attaches a file, runs the self-check (the live eligibility check of the
draft: first it catches an amount above the stage's limit, then, corrected, it passes), submits and reads the
receipt. The officer screens it and asks a clarification that reopens one answer; the applicant answers and sends
it; the officer declares it eligible and assigns evaluators automatically. Both evaluators declare no conflict of
interest and score; the committee decides from the ranking; the applicant reads the result. The officer drafts the
agreement, uploads its signed scan, records it and starts the implementation; the grantee writes the progress
report and submits it, the officer accepts it; one finance officer requests and verifies the interim payment the
report unlocks, another pays it; the auditor verifies the audit chain.

Everything is done as a person would: clicks, typing, choosing, uploading; the database is never written to except
by the demo command that sets the site up (``flask --app grants demo``). No step needs a precondition the pages
cannot give: the demo's open call closes 45 days ahead (submitting needs no clock to move; nothing after it waits
for the deadline) and its evaluator pool holds the demo's four evaluators; the agreement keeps the dates the page
suggests (from the first day of next month), which put the first progress period in the future, and nothing stops
a grantee from reporting on it early, so the report, its acceptance and the interim payment it unlocks need no
clock to move either. The one thing set outside the pages is the server's sign-in throttle (10 a minute per
address), raised because every person of every run signs in from 127.0.0.1 (tests/browser/conftest.py). The runs
share the site: each has its own newcomer, organisation and application, and finds its rows by their titles.

Why four runs cover "both languages, both widths" in bounded time: the whole journey runs twice, in Latvian at desktop
width (1280 px) and in English at phone width (375 px), so every page of it is seen in both languages and at both
widths; what the language changes (texts, number and date formats) does not depend on the width, and what the
width changes (the layout) depends on the language only through the length of its texts, which the two whole runs
already cover page by page. The applicant's part (registering, the long form with its tables, the upload, the
self-check, the receipt: the pages most sensitive to both) runs again in the two other combinations, English at
desktop and Latvian at 375 px, so each language meets each width on the applicant's pages too. Each step asserts what
the person sees in the page's language, and ``Journey.step`` checks every page the same way (language, no server or
script error, nothing wider than the screen), screenshots it to ``artifacts/screenshots/<test>/<lang>-<width>/``
and runs the accessibility check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from grants.demo import DEMO_ACCOUNTS, demo_pdf
from tests.browser.journey import Journey, expect_flash, flash, go, header_link, heading, sign_in

DEMO_PASSWORD = "demo-demo-demo"
EVALUATOR_EMAILS = {name: email for email, name, _role in DEMO_ACCOUNTS if email.startswith("evaluator")}
#: Scores per criterion of the demo's standard rubric (need 25, novelty 20, change 20, capacity 15, budget 20): 82.
SCORES = {"need": 21, "novelty": 16, "change": 17, "capacity": 12, "budget": 16}


@dataclass(frozen=True)
class Applicant:
    name: str
    email: str
    password: str
    organisation: str
    registration_number: str
    region: str
    title: str


#: One newcomer per run (the runs share the site): each with their own organisation and application.
APPLICANTS = {
    ("lv", "desktop"): Applicant("Zane Kalniņa", "zane.kalnina@example.lv", "ļoti-droša-parole-1",
                                'Biedrība "Zemgales kaimiņi"', "40008123401", "zemgale",
                                "Kaimiņu atbalsta punkts Jelgavā"),
    ("en", "mobile"): Applicant("Alex Ozols", "alex.ozols@example.lv", "a-very-safe-passphrase-2",
                               'Association "Kurzeme Neighbours"', "40008123402", "kurzeme",
                               "Neighbours' help point in Kuldīga"),
    ("en", "desktop"): Applicant("Maria Berzina", "maria.berzina@example.lv", "a-very-safe-passphrase-3",
                                'Association "Riga Courtyards"', "40008123403", "riga",
                                "Courtyard help point in Riga"),
    ("lv", "mobile"): Applicant("Jānis Liepa", "janis.liepa@example.lv", "ļoti-droša-parole-4",
                               'Biedrība "Latgales sētas"', "40008123404", "latgale",
                               "Kaimiņu atbalsta punkts Rēzeknē"),
}

#: The applicant's answers to the long questions of the demo's form, in their language.
ANSWERS = {
    "lv": {
        "summary": "Pilotējam kaimiņu atbalsta punktu, kur vientuļie seniori saņem ikdienas palīdzību no kaimiņiem.",
        "problem_description": "Pilsētā dzīvo daudz vientuļu senioru, kuriem nav, kas palīdz ar iepirkumiem un malku.",
        "target_group": "Seniori, kas dzīvo vieni daudzdzīvokļu mājās un privātmājās pilsētas nomalē.",
        "toc_inputs": "Koordinators, 25 brīvprātīgie kaimiņi, telpa bibliotēkā, grants.",
        "toc_activities": "Kaimiņu pāru veidošana, nedēļas tikšanās, palīdzības pieprasījumu tālrunis.",
        "toc_outputs": "80 seniori iesaistīti, 25 kaimiņi apmācīti, 1200 palīdzības reizes gadā.",
        "toc_outcomes": "Seniori jūtas mazāk vientuļi un zina, pie kā vērsties.",
        "toc_impact": "Kopienā, kurā kaimiņi rūpējas cits par citu, seniori ilgāk dzīvo mājās.",
        "toc_assumptions": "Kaimiņi ir gatavi palīdzēt, ja palīdzība ir organizēta un droša.",
        "bmc_customer_segments": "Vientuļi seniori; pašvaldības sociālais dienests.",
        "bmc_value_propositions": "Ātra, tuva un cilvēcīga palīdzība ikdienas darbos.",
        "bmc_channels": "Bibliotēka, ģimenes ārsti, sociālie darbinieki, informatīvas lapiņas.",
        "bmc_customer_relationships": "Pastāvīgi kaimiņu pāri un iknedēļas tikšanās.",
        "bmc_revenue_streams": "Grants, pašvaldības līgums, ziedojumi.",
        "bmc_key_resources": "Brīvprātīgie, koordinators, telpa, tālrunis.",
        "bmc_key_activities": "Brīvprātīgo atlase un apmācība, pāru veidošana, uzraudzība.",
        "bmc_key_partners": "Bibliotēka, sociālais dienests, senioru biedrība.",
        "bmc_cost_structure": "Koordinatora alga, apmācības, transports.",
        "mp_initiated_by_users_explanation": "Ideju ierosināja paši seniori bibliotēkas sarunu vakarā.",
        "mp_specific_needs_explanation": "Seniori, kas dzīvo vieni, bieži paliek bez palīdzības.",
        "mp_new_service_explanation": "Pilsētā nav organizēta kaimiņu palīdzības pakalpojuma.",
        "budget_item": "Koordinatora alga",
        "clarified_outcomes": "Pēc gada 80 seniori jūtas mazāk vientuļi: to mērām ar aptauju sākumā un beigās.",
        "question": "Lūdzu, precizējiet, kā mērīsiet pārmaiņas senioru dzīvē.",
        "answer": "Precizējām rezultātus: mērīsim ar aptauju.",
        "review": "Skaidri pamatota vajadzība un ticama pārmaiņu teorija.",
        "conditions": "Rezultātus publicēt vieglajā valodā.",
        "narrative": "Atvērām atbalsta punktu; 40 seniori saņēma palīdzību no 25 kaimiņiem.",
    },
    "en": {
        "summary": "We pilot a neighbours' help point: older people living alone get everyday help from neighbours.",
        "problem_description": "Many older people in town live alone with nobody to help with shopping and firewood.",
        "target_group": "Older people living alone in blocks of flats and houses on the edge of town.",
        "toc_inputs": "A coordinator, 25 volunteer neighbours, a room in the library, the grant.",
        "toc_activities": "Pairing neighbours, weekly meetings, a telephone line for requests.",
        "toc_outputs": "80 older people taking part, 25 neighbours trained, 1,200 visits a year.",
        "toc_outcomes": "Older people feel less lonely and know whom to turn to.",
        "toc_impact": "A community where neighbours look after each other; older people stay at home longer.",
        "toc_assumptions": "Neighbours are willing to help when help is organised and safe.",
        "bmc_customer_segments": "Older people living alone; the municipal social service.",
        "bmc_value_propositions": "Quick, close and human help with everyday tasks.",
        "bmc_channels": "The library, family doctors, social workers, leaflets.",
        "bmc_customer_relationships": "Steady pairs of neighbours and weekly meetings.",
        "bmc_revenue_streams": "The grant, a municipal contract, donations.",
        "bmc_key_resources": "Volunteers, a coordinator, a room, a telephone.",
        "bmc_key_activities": "Recruiting and training volunteers, pairing, supervision.",
        "bmc_key_partners": "The library, the social service, the seniors' association.",
        "bmc_cost_structure": "The coordinator's salary, training, transport.",
        "mp_initiated_by_users_explanation": "Older people themselves proposed the idea at a library evening.",
        "mp_specific_needs_explanation": "Older people living alone are often left without help.",
        "mp_new_service_explanation": "The town has no organised neighbourly help service.",
        "budget_item": "Coordinator's salary",
        "clarified_outcomes": "After a year 80 older people feel less lonely, as a survey at the start and end shows.",
        "question": "Please explain how you will measure the change in the older people's lives.",
        "answer": "We made the outcomes precise: a survey will measure them.",
        "review": "The need is well argued and the theory of change is credible.",
        "conditions": "Publish the results in easy-to-read language.",
        "narrative": "We opened the help point; 40 older people got help from 25 neighbours.",
    },
}

WHOLE = [("lv", "desktop"), ("en", "mobile")]
APPLICANT_ONLY = [("en", "desktop"), ("lv", "mobile")]


def _ids(combinations):
    return [f"{lang}-{viewport}" for lang, viewport in combinations]


@pytest.mark.parametrize(("lang", "viewport"), WHOLE, ids=_ids(WHOLE))
def test_whole_journey(page, lang, viewport):
    j = Journey("test_whole_journey", lang, viewport)
    who = APPLICANTS[(lang, viewport)]
    applicant = page(lang, viewport)
    application_id = apply(j, applicant, who)

    officer = page(lang, viewport)
    ask_clarification(j, officer, application_id, who)
    answer_clarification(j, applicant, who)
    evaluators = declare_eligible_and_assign(j, officer, application_id, who)
    for number, name in enumerate(evaluators, start=1):
        score(j, page(lang, viewport), number, name, who)
    committee = page(lang, viewport)
    decide(j, committee, application_id, who)
    read_result(j, applicant, who)
    contract(j, officer, who)
    report(j, applicant, who)
    accept_report(j, officer, who)
    pay(j, page(lang, viewport), page(lang, viewport), who)
    verify_chain(j, page(lang, viewport))


@pytest.mark.parametrize(("lang", "viewport"), APPLICANT_ONLY, ids=_ids(APPLICANT_ONLY))
def test_applicant_journey(page, lang, viewport):
    j = Journey("test_applicant_journey", lang, viewport)
    apply(j, page(lang, viewport), APPLICANTS[(lang, viewport)])


# -- The applicant ---------------------------------------------------------------------------------------------------

def apply(j: Journey, p: Page, who: Applicant) -> int:
    """Register, add the organisation, draft, fill, attach, self-check, submit, read the receipt."""
    t, answers = j.t, ANSWERS[j.lang]
    expect(p.locator("main")).to_contain_text(t["open_calls"])
    expect(p.locator("main")).to_contain_text(t["open_call"])
    j.step(p, "home")

    go(p, header_link(p, t["register"]))
    expect(heading(p)).to_have_text(t["create_account"])
    p.locator("#name").fill(who.name)
    p.locator("#email").fill(who.email)
    p.locator("#password").fill(who.password)
    p.locator("#password_again").fill(who.password)
    j.step(p, "register")
    go(p, p.locator("main form").get_by_role("button", name=t["register"]))

    expect_flash(p, t["account_created"])
    expect(heading(p)).to_have_text(t["add_organisation"])
    p.locator("#name").fill(who.organisation)
    p.locator("#registration_number").fill(who.registration_number)
    p.locator("#legal_form").select_option("association")
    p.locator("#region").select_option(who.region)
    p.locator("#contact_email").fill(who.email)
    j.step(p, "organisation")
    go(p, p.locator("main form").get_by_role("button", name=t["save"], exact=True))
    expect_flash(p, t["organisation_saved"].format(name=who.organisation))
    expect(p.locator("main")).to_contain_text(who.registration_number)
    j.step(p, "organisation-saved")

    go(p, header_link(p, t["nav_calls"]))
    go(p, p.get_by_role("link", name=t["open_call"]))
    expect(heading(p)).to_have_text(t["open_call"])
    outline = p.locator("main")
    expect(outline).to_contain_text(t["form_outline"])
    for section in ("section_problem", "section_toc", "section_bmc", "section_budget", "section_micro"):
        expect(outline).to_contain_text(t[section])
    j.step(p, "call")

    go(p, p.get_by_role("link", name=t["apply"]))
    expect(heading(p)).to_have_text(t["new_application"])
    expect(p.locator("#organisation_id")).to_contain_text(who.organisation)
    p.locator("#si_stage").select_option("prototyping")
    p.locator("#title").fill(who.title)
    p.locator("#summary").fill(answers["summary"])
    p.locator("#requested_amount").fill("60000")  # above the stage's 50 000: refused whatever the rules say
    p.locator("#duration_months").fill("30")  # over the ruleset's 24 months: the self-check will say so
    j.step(p, "new-application")
    go(p, p.get_by_role("button", name=t["save_draft"]))
    expect(p.locator("#requested_amount-error")).to_contain_text(t["amount_limits"])
    expect(p.locator("#title")).to_have_value(who.title)  # nothing typed is lost
    j.step(p, "amount-refused")
    p.locator("#requested_amount").fill("24000")
    go(p, p.get_by_role("button", name=t["save_draft"]))

    expect_flash(p, t["draft_saved"])
    application_id = int(re.search(r"/applications/(\d+)/edit", p.url).group(1))
    expect(p.locator("main .notice").first).to_contain_text(t["answers_missing"])
    j.step(p, "draft-saved")

    fill_form(p, answers)
    for section in ("section_toc", "section_bmc"):
        expect(p.locator("main form legend", has_text=t[section])).to_be_visible()
    j.step(p, "form-filled")
    go(p, p.locator("main form").get_by_role("button", name=t["save"], exact=True))
    expect_flash(p, t["saved"])
    expect(p.locator("main")).not_to_contain_text(t["answers_missing"])
    expect(p.locator("#q-toc_outcomes")).to_have_value(answers["toc_outcomes"])
    expect(p.locator("#q-bmc_value_propositions")).to_have_value(answers["bmc_value_propositions"])

    go(p, p.get_by_role("link", name=t["to_submission"]))
    expect(heading(p)).to_have_text(who.title)
    expect(p.locator("main .badge").first).to_have_text(t["draft_status"])
    attachments = p.locator("#attachments")
    attachments.locator("input[type=file]").set_input_files(
        files=[{"name": "Tāme.pdf", "mimeType": "application/pdf", "buffer": demo_pdf("Budget")}])
    go(p, attachments.get_by_role("button", name=t["upload"], exact=True))
    expect_flash(p, t["file_attached"].format(name="Tāme.pdf"))
    expect(p.locator("#attachments .attachment-list")).to_contain_text(f"Tāme.pdf {t['file_size']}")
    j.step(p, "file-attached")

    go(p, p.get_by_role("link", name=t["eligibility_check"], exact=True))
    expect(heading(p)).to_have_text(t["eligibility_check"])
    expect(p.locator("main")).to_contain_text(t["your_check_now"])
    expect(p.locator("main")).to_contain_text(t["blocking_fails"])
    expect(p.locator("main")).to_contain_text(t["rule_duration"])
    expect(p.locator("main")).to_contain_text(t["duration_outside"])
    j.step(p, "self-check-fails")

    go(p, p.get_by_role("link", name=who.title))  # the breadcrumb
    go(p, p.get_by_role("link", name=t["edit_application"]))
    p.locator("#duration_months").fill("12")
    go(p, p.locator("main form").get_by_role("button", name=t["save"], exact=True))
    expect_flash(p, t["saved"])
    go(p, p.get_by_role("link", name=t["to_submission"]))
    go(p, p.get_by_role("link", name=t["eligibility_check"], exact=True))
    expect(p.locator("main")).to_contain_text(t["all_blocking_pass"])
    expect(p.locator("main")).not_to_contain_text(t["duration_outside"])
    j.step(p, "self-check-passes")

    go(p, p.get_by_role("link", name=who.title))
    go(p, p.locator(".workflow-actions").get_by_role("button", name=t["submit"], exact=True))
    expect_flash(p, t["done"])
    expect(p.locator("main .badge").first).to_have_text(t["status_screening"])
    expect(p.locator("main")).to_contain_text(t["requested_24000"])
    j.step(p, "submitted")

    go(p, p.locator("#receipts-heading + ul a").first)
    expect(heading(p)).to_have_text(t["receipt"])
    expect(p.locator("main")).to_contain_text(t["content_hash"])
    expect(p.locator("main")).to_contain_text(who.title)
    expect(p.locator("main")).to_contain_text("Tāme.pdf")
    expect(p.locator("main code, main .hash").first).to_have_text(re.compile(r"^\s*[0-9a-f]{64}\s*$"))
    j.step(p, "receipt")
    return application_id


def fill_form(p: Page, answers: dict[str, str]) -> None:
    """Every required question of the demo's form, as a person fills it in: typing, ticking, choosing."""
    for code, answer in answers.items():
        field = p.locator(f"#q-{code}")
        if field.count():
            field.fill(answer)
    p.locator("#q-target_group_categories-seniors").check()
    p.locator("#q-target_group_size").fill("80")
    p.locator("#q-budget-0-item").fill(answers["budget_item"])
    p.locator("#q-budget-0-category").select_option("staff")
    p.locator("#q-budget-0-amount").fill("26000")
    p.locator("#q-budget-0-co_financing").fill("2000")
    for criterion in ("initiated_by_users", "specific_needs", "new_service"):
        p.locator(f"#q-mp_{criterion}-yes").check()


def answer_clarification(j: Journey, p: Page, who: Applicant) -> None:
    """Read the question, change the one reopened answer, send the clarification."""
    t, answers = j.t, ANSWERS[j.lang]
    go(p, header_link(p, t["nav_dashboard"]))
    row = p.locator("main tr", has_text=who.title).first
    expect(row).to_contain_text(t["status_clarification"])

    go(p, row.get_by_role("link", name=who.title))
    expect(p.locator("main .badge").first).to_have_text(t["status_clarification"])
    expect(p.locator(".timeline")).to_contain_text(answers["question"])
    expect(p.locator(".next-step")).to_contain_text(f"{t['section_toc']}: {t['toc_outcomes']}")
    expect(p.locator("#attachments form")).to_have_count(0)  # the files were not reopened: nothing to upload
    expect(p.locator("#attachments")).to_contain_text("Tāme.pdf")
    j.step(p, "clarification-asked")

    go(p, p.get_by_role("link", name=t["edit_application"]))
    expect(p.locator("main .notice").first).to_contain_text(t["reopened_only"])
    expect(p.locator("#q-toc_inputs")).to_be_disabled()
    expect(p.locator("#q-toc_outcomes")).to_be_enabled()
    p.locator("#q-toc_outcomes").fill(answers["clarified_outcomes"])
    j.step(p, "clarification-edit")
    go(p, p.locator("main form").get_by_role("button", name=t["save"], exact=True))
    expect_flash(p, t["saved"])
    expect(p.locator("#q-toc_outcomes")).to_have_value(answers["clarified_outcomes"])

    go(p, p.get_by_role("link", name=t["to_submission"]))
    p.locator("#comment").fill(answers["answer"])
    go(p, p.locator(".workflow-actions").get_by_role("button", name=t["send_clarification"]))
    expect_flash(p, t["done"])
    expect(p.locator("main .badge").first).to_have_text(t["status_screening"])
    expect(p.locator("#receipts-heading + ul li")).to_have_count(2)
    j.step(p, "clarification-sent")


def read_result(j: Journey, p: Page, who: Applicant) -> None:
    t = j.t
    go(p, header_link(p, t["nav_dashboard"]))
    row = p.locator("main tr", has_text=who.title).first  # "My applications" (then "My grants")
    expect(row).to_contain_text(t["status_approved"])
    go(p, row.get_by_role("link", name=who.title))
    expect(p.locator("main .badge").first).to_have_text(t["status_approved"])
    result = p.locator("main")
    expect(result).to_contain_text(t["funding_decision"])
    expect(result).to_contain_text(t["final_score_82"])
    expect(result).to_contain_text(ANSWERS[j.lang]["conditions"])
    expect(result).to_contain_text(ANSWERS[j.lang]["review"])
    for evaluator in EVALUATOR_EMAILS:  # the feedback is anonymous
        expect(result).not_to_contain_text(evaluator)
    expect(p.get_by_role("link", name=t["grant_link"])).to_be_visible()
    j.step(p, "result")


def report(j: Journey, p: Page, who: Applicant) -> None:
    """The grantee writes the first progress report and submits it."""
    t, answers = j.t, ANSWERS[j.lang]
    go(p, header_link(p, t["nav_grants"]))
    expect(heading(p)).to_have_text(t["my_grants"])
    row = p.locator("main tr", has_text=who.title)
    expect(row).to_contain_text(t["status_in_implementation"])
    j.step(p, "my-grants")

    go(p, row.get_by_role("link", name=who.title))
    reports = p.locator("main tr", has_text=t["progress_report"])
    go(p, reports.get_by_role("link", name=t["write_report"]))
    expect(heading(p)).to_contain_text(t["progress_report"])
    p.locator("#narrative").fill(answers["narrative"])
    for field in p.locator("input[name^=indicator-]").all():
        field.fill("0")
    p.locator("#indicator-esf_participants_women_55_plus").fill("24")
    p.locator("#indicator-esf_participants_men_55_plus").fill("16")
    p.locator("#indicator-pilot_sites").fill("1")
    p.locator("#expenditure-0-category").select_option("staff")
    p.locator("#expenditure-0-amount").fill("6000")
    p.locator("#expenditure-0-co_financing").fill("500")
    j.step(p, "report-form")
    go(p, p.get_by_role("button", name=t["save_report_draft"]))
    expect_flash(p, t["report_draft_saved"])

    go(p, p.get_by_role("button", name=t["submit_report"]))
    expect_flash(p, t["done"])
    expect(p.locator("main .badge").first).to_have_text(t["report_submitted"])
    j.step(p, "report-submitted")


# -- The officer -----------------------------------------------------------------------------------------------------

def ask_clarification(j: Journey, p: Page, application_id: int, who: Applicant) -> None:
    """Sign in, find the application in the eligibility queue, ask about one answer of the Theory of Change."""
    t, answers = j.t, ANSWERS[j.lang]
    sign_in(p, t, "officer@demo.lv", DEMO_PASSWORD)
    expect(heading(p)).to_have_text(t["welcome"].format(name="Ilze Programmas"))
    j.step(p, "officer-dashboard")

    go(p, header_link(p, t["nav_eligibility"]))
    expect(p.locator("main")).to_contain_text(t["awaiting_screening"])
    row = p.locator("main tr", has_text=who.title)
    expect(row).to_contain_text(who.organisation)
    j.step(p, "eligibility-queue")

    go(p, row.get_by_role("link", name=who.title))
    expect(heading(p)).to_have_text(t["eligibility_check"])
    expect(p.locator("main")).to_contain_text(t["every_rule_met"])
    j.step(p, "screening")

    go(p, p.get_by_role("link", name=who.title))  # the breadcrumb: the application, with what may be reopened
    assert p.url.endswith(f"/applications/{application_id}")
    p.locator("#comment").fill(answers["question"])
    p.get_by_label(f"{t['section_toc']}: {t['toc_outcomes']}", exact=True).check()
    go(p, p.locator(".workflow-actions").get_by_role("button", name=t["request_clarification"]))
    expect_flash(p, t["done"])
    expect(p.locator("main .badge").first).to_have_text(t["status_clarification"])
    j.step(p, "clarification-requested")


def declare_eligible_and_assign(j: Journey, p: Page, application_id: int, who: Applicant) -> list[str]:
    """Screen the answer, declare the application eligible, assign evaluators; returns their names."""
    t = j.t
    go(p, header_link(p, t["nav_eligibility"]))
    go(p, p.locator("main tr", has_text=who.title).get_by_role("link", name=who.title))
    expect(p.locator("main")).to_contain_text(t["every_rule_met"])
    go(p, p.locator(".workflow-actions").get_by_role("button", name=t["declare_eligible"]))
    expect_flash(p, t["done"])
    expect(p.locator("main .badge").first).to_have_text(t["status_in_evaluation"])
    j.step(p, "declared-eligible")

    go(p, header_link(p, t["nav_dashboard"]))
    go(p, p.locator("main tr", has_text=t["open_call"]).get_by_role("link", name=t["evaluation_overview"]))
    go(p, p.locator("main").get_by_role("link", name=t["assignments"], exact=True))
    short = p.locator("main .notice", has_text=t["short_of_evaluators"])
    expect(short).to_contain_text(f"#{application_id} {who.title}")
    j.step(p, "assignments")

    go(p, p.get_by_role("button", name=t["assign_automatically"]))
    expect_flash(p, t["assignments_made"])
    group = p.locator(f"section#app-{application_id}")
    evaluators = group.locator("tbody tr th[scope=row]")
    expect(evaluators).to_have_count(2)
    expect(group.locator("tbody")).to_contain_text(t["declaration_pending"])
    j.step(p, "evaluators-assigned")
    return [name.strip() for name in evaluators.all_inner_texts()]


def contract(j: Journey, p: Page, who: Applicant) -> None:
    """The agreement (as the page suggests it), its signed scan, signing, the start of the implementation."""
    t = j.t
    go(p, header_link(p, t["nav_grants"]))
    go(p, p.locator("main tr", has_text=who.title).get_by_role("link", name=who.title))
    expect(p.locator("main")).to_contain_text(t["no_agreement"])
    j.step(p, "grant")

    go(p, p.get_by_role("link", name=t["draft_agreement"]))
    expect(p.locator("#awarded_amount")).to_have_value("24000.00")
    expect(p.locator("#conditions")).to_have_value(ANSWERS[j.lang]["conditions"])
    go(p, p.get_by_role("button", name=t["save_agreement"]))
    expect_flash(p, t["agreement_saved"])

    p.locator("form[action$='/agreement/file'] input[type=file]").set_input_files(
        files=[{"name": "ligums.pdf", "mimeType": "application/pdf", "buffer": demo_pdf("Agreement")}])
    go(p, p.get_by_role("button", name=t["upload_scan"]))
    expect_flash(p, t["scan_uploaded"].format(name="ligums.pdf"))
    j.step(p, "agreement-scan")

    go(p, p.locator(".workflow-actions").get_by_role("button", name=t["sign_contract"]))
    expect(p.locator("main .badge").first).to_have_text(t["state_contracted"])
    go(p, p.locator(".workflow-actions").get_by_role("button", name=t["start_implementation"]))
    expect_flash(p, t["done"])
    expect(p.locator("main .badge").first).to_have_text(t["state_in_implementation"])
    j.step(p, "in-implementation")


def accept_report(j: Journey, p: Page, who: Applicant) -> None:
    t = j.t
    go(p, header_link(p, t["nav_dashboard"]))
    expect(p.locator("main")).to_contain_text(t["reports_to_review"])
    waiting = p.locator("main tr", has_text=who.title).filter(has_text=t["progress_report"])
    go(p, waiting.get_by_role("link", name=t["progress_report"]))
    expect(p.locator("#narrative, main").first).to_contain_text(ANSWERS[j.lang]["narrative"])
    j.step(p, "report-review")
    go(p, p.get_by_role("button", name=t["accept_report"]))
    expect_flash(p, t["done"])
    expect(p.locator("main .badge").first).to_have_text(t["report_accepted"])
    j.step(p, "report-accepted")


# -- Evaluators, the committee, finance, the auditor ----------------------------------------------------------------

def score(j: Journey, p: Page, number: int, name: str, who: Applicant) -> None:
    """One evaluator: declare no conflict of interest, score every criterion, submit."""
    t = j.t
    sign_in(p, t, EVALUATOR_EMAILS[name], DEMO_PASSWORD)
    go(p, header_link(p, t["nav_evaluations"]))
    row = p.locator("main tr", has_text=who.title)
    expect(row).to_contain_text(t["declaration_pending"])
    if number == 1:
        j.step(p, "evaluator-assignments")

    go(p, row.get_by_role("link", name=who.title))
    expect(p.locator("main")).to_contain_text(t["declaration"])
    p.get_by_label(t["no_conflict"], exact=True).check()
    if number == 1:
        j.step(p, "evaluator-declaration")
    go(p, p.get_by_role("button", name=t["sign_declaration"]))
    expect_flash(p, t["may_score"])
    expect(p.locator("#q-toc_outcomes")).to_have_value(ANSWERS[j.lang]["clarified_outcomes"])
    expect(p.locator("#review")).to_contain_text(t["your_review"])

    for criterion, points in SCORES.items():
        p.locator(f"#score_{criterion}").fill(str(points))
    p.locator("#summary").fill(ANSWERS[j.lang]["review"])
    if number == 1:
        j.step(p, "evaluator-review")
    go(p, p.locator("#review").get_by_role("button", name=t["submit"], exact=True))
    expect_flash(p, t["review_submitted"])
    j.step(p, f"evaluator-{number}-submitted")


def decide(j: Journey, p: Page, application_id: int, who: Applicant) -> None:
    t = j.t
    sign_in(p, t, "committee@demo.lv", DEMO_PASSWORD)
    go(p, p.locator("main tr", has_text=t["open_call"]).get_by_role("link", name=t["ranking"]))
    row = p.locator("main tr", has_text=who.title)
    expect(row).to_contain_text("82")
    expect(row).to_contain_text(t["recommend_approve"])
    j.step(p, "ranking")

    go(p, row.get_by_role("link", name=t["decide"]))
    assert p.url.endswith(f"/applications/{application_id}/decision")
    expect(p.locator("main")).to_contain_text(t["final_score_82"])
    p.get_by_label(t["approve"], exact=True).check()
    expect(p.locator("#decided_on")).to_have_value("")  # the committee gives the date; none is filled in
    p.locator("#decided_on").fill(date.today().isoformat())
    p.locator("#conditions").fill(ANSWERS[j.lang]["conditions"])
    j.step(p, "decision")
    go(p, p.locator("main form").get_by_role("button", name=t["record_decision"]))
    expect_flash(p, t["decision_recorded"])
    j.step(p, "decided")


def pay(j: Journey, first: Page, second: Page, who: Applicant) -> None:
    """One finance officer requests and verifies the interim payment, another pays it."""
    t = j.t
    sign_in(first, t, "finance@demo.lv", DEMO_PASSWORD)
    go(first, header_link(first, t["nav_payments"]))
    go(first, first.locator("main").get_by_role("link", name=t["tab_planned"]))
    act(first, t, who, "request_payment")
    expect_flash(first, t["payment_now"].format(state=t["payment_requested"]))
    j.step(first, "payment-requested")

    go(first, first.locator("main").get_by_role("link", name=t["tab_to_verify"]))
    act(first, t, who, "verify_payment")
    expect_flash(first, t["payment_now"].format(state=t["payment_verified"]))
    j.step(first, "payment-verified")

    sign_in(second, t, "finance2@demo.lv", DEMO_PASSWORD)
    go(second, header_link(second, t["nav_payments"]))
    go(second, second.locator("main").get_by_role("link", name=t["tab_to_pay"]))
    act(second, t, who, "pay", reference="MU-2026-0901")
    expect_flash(second, t["payment_now"].format(state=t["payment_paid"]))
    j.step(second, "payment-paid")


def act(p: Page, t: dict[str, str], who: Applicant, button: str, reference: str | None = None) -> None:
    """Open the actions of the grant's interim payment in the work list and press ``button``."""
    row = p.locator("main tr", has_text=who.title).filter(has_text=t["interim_payment"])
    expect(row).to_have_count(1)
    row.locator("summary", has_text=t["act_on_payment"]).click()
    if reference:
        row.get_by_label(t["payment_reference"]).fill(reference)
    go(p, row.get_by_role("button", name=t[button]))


def verify_chain(j: Journey, p: Page) -> None:
    t = j.t
    sign_in(p, t, "auditor@demo.lv", DEMO_PASSWORD)
    go(p, header_link(p, t["nav_audit"]))
    expect(heading(p)).to_have_text(t["nav_audit"])
    go(p, p.get_by_role("button", name=t["verify_chain"]))
    expect(flash(p)).to_contain_text(t["chain_intact"])
    j.step(p, "chain-verified")

