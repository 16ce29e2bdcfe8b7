"""Demo data for `flask --app grants demo` and `make run`. Running it again changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from werkzeug.datastructures import FileStorage

from grants.applications.models import Application
from grants.applications.schemas import ApplicationCreateSchema
from grants.applications.services import create_application
from grants.calls.models import Call, Programme
from grants.calls.programmes import ProgrammeInputSchema, create_programme
from grants.calls.schemas import CallCreateSchema
from grants.calls.services import create_call, publish_call, rules_hash, update_call_rules
from grants.core.codes import FundSource, LegalForm, Region
from grants.core.db import CENT, as_if_at, db, utcnow
from grants.core.db import today as riga_today
from grants.core.roles import RoleCode
from grants.decisions.services import decide
from grants.eligibility.presets import demo_ruleset
from grants.evaluations.models import Assignment
from grants.evaluations.rubrics import default_rubric
from grants.evaluations.services import (
    add_to_pool,
    assign,
    declare,
    rubric_hash,
    save_review,
    submit_review,
    update_rubric,
)
from grants.forms.definitions import iter_questions, max_length_of
from grants.grants_mgmt import agreements, indicators, payments, reports
from grants.grants_mgmt.awards import agreement_of
from grants.initiatives.services import create_initiative
from grants.organisations.models import Organisation
from grants.organisations.services import create_organisation
from grants.users.models import User
from grants.users.services import find_user_by_email, grant_role, register_user
from grants.workflows.engine import fire

DEMO_ACCOUNTS = [
    ("admin@demo.lv", "Demo Administrators", RoleCode.ADMIN),
    ("officer@demo.lv", "Ilze Programmas", RoleCode.OFFICER),
    ("committee@demo.lv", "Jānis Komisijas", RoleCode.COMMITTEE),
    ("finance@demo.lv", "Anna Finanses", RoleCode.FINANCE),
    ("finance2@demo.lv", "Kārlis Maksājumu", RoleCode.FINANCE),
    ("auditor@demo.lv", "Pēteris Revidents", RoleCode.AUDITOR),
    ("evaluator1@demo.lv", "Evaluator One", RoleCode.EVALUATOR),
    ("evaluator2@demo.lv", "Evaluator Two", RoleCode.EVALUATOR),
    ("evaluator3@demo.lv", "Evaluator Three", RoleCode.EVALUATOR),
    ("evaluator4@demo.lv", "Evaluator Four", RoleCode.EVALUATOR),
    ("applicant@demo.lv", "Līga Pieteicēja", RoleCode.APPLICANT),
    ("applicant2@demo.lv", "Mārtiņš Pieteicējs", RoleCode.APPLICANT),
]

DEMO_ORGANISATIONS = [
    # (member e-mail, name, registration number, legal form, region)
    ("applicant@demo.lv", "Biedrība \"Latgales kopienu tīkls\"", "40008000001", LegalForm.ASSOCIATION,
     Region.LATGALE),
    ("applicant2@demo.lv", "SIA \"Vidzemes sociālā darbnīca\"", "40103000002", LegalForm.SOCIAL_ENTERPRISE,
     Region.VIDZEME),
]

OPEN_CALL_CODE = "SI-2026-01"
CLOSED_CALL_CODE = "SI-2026-00"
STAGE_GATED_CALL_CODE = "SI-2026-SG"
#: When the demo's closed calls opened and closed, from today's midnight (UTC): each is published five days
#: before it opens and its applications are submitted three days before its deadline.
HISTORY = {"gated_opens": timedelta(days=-240), "gated_closes": timedelta(days=-200),
           "closed_opens": timedelta(days=-150), "closed_closes": timedelta(days=-120)}

#: Applications walked through the workflow (by the engine, so each step is audited):
#: (call, member e-mail, title, SI stage, amount, months, summary, [(trigger, actor e-mail, comment)]).
DEMO_APPLICATIONS = [
    (CLOSED_CALL_CODE, "applicant@demo.lv", "Kopienas virtuves Latgales ciemos", "idea_generation", "8500.00", 9,
     "Ciemu iedzīvotāji kopā gatavo un dala maltītes vientuļajiem senioriem; idejas izstrāde ar trim ciemiem.",
     [("submit", "applicant@demo.lv", None), ("declare_eligible", "officer@demo.lv", None)]),
    (CLOSED_CALL_CODE, "applicant2@demo.lv", "Darba prasmju darbnīca jauniešiem", "problem_identification",
     "4800.00", 6, "Kopā ar jauniešiem, kas nemācās un nestrādā, izpētām šķēršļus ceļā uz pirmo darbu.",
     [("submit", "applicant2@demo.lv", None),
      ("request_clarification", "officer@demo.lv", "Lūdzu, precizējiet, cik jauniešu iesaistīsies izpētē."),
      ("resubmit", "applicant2@demo.lv", "Izpētē iesaistīsim 25 jauniešus no trim novadiem."),
      ("declare_eligible", "officer@demo.lv", None)]),
    (CLOSED_CALL_CODE, "applicant2@demo.lv", "Mobilā bibliotēka", "idea_generation", "9500.00", 12,
     "Bibliotēkas autobuss apbraukā attālos ciemus un piedāvā grāmatas tiem, kas paši uz bibliotēku netiek.",
     [("submit", "applicant2@demo.lv", None),
      ("declare_ineligible", "officer@demo.lv",
       "Nav sociālā inovācija: novada bibliotēkas autobuss šos ciemus apbraukā jau kopš 2019. gada, "
       "jauna pieeja vai pakalpojums pieteikumā nav aprakstīts.")]),
    (CLOSED_CALL_CODE, "applicant2@demo.lv", "Sociālais taksometrs lauku senioriem", "idea_generation", "9000.00", 10,
     "Brīvprātīgo autovadītāju tīkls ved seniorus pie ārsta un uz pagastu; ideju izstrādājam kopā ar senioriem.",
     [("submit", "applicant2@demo.lv", None), ("declare_eligible", "officer@demo.lv", None)]),
    (CLOSED_CALL_CODE, "applicant@demo.lv", "Kaimiņu palīdzības tīkls", "idea_generation", "9000.00", 8,
     "Kaimiņi palīdz kaimiņiem: malka, iepirkumi un sarunas vientuļajiem; idejas izstrāde divos pagastos.",
     [("submit", "applicant@demo.lv", None), ("declare_eligible", "officer@demo.lv", None)]),
    (STAGE_GATED_CALL_CODE, "applicant@demo.lv", "Latgales amatu skola jauniešiem", "idea_generation", "30000.00",
     18, "Vecmeistari un jaunieši kopā izstrādā, tad pilotē amatu skolu, kurā jaunieši mācās tradicionālos amatus.",
     [("submit", "applicant@demo.lv", None), ("declare_eligible", "officer@demo.lv", None)]),
    (OPEN_CALL_CODE, "applicant@demo.lv", "Senioru digitālo prasmju kopienas", "prototyping", "24000.00", 12,
     "Pilotējam senioru savstarpējās mācīšanās kopienas piecās Latgales bibliotēkās.", []),
    (OPEN_CALL_CODE, "applicant2@demo.lv", "Sociālās darbnīcas pilots Valmierā", "prototyping", "38000.00", 18,
     "Sociālā darbnīca, kurā cilvēki ar invaliditāti atjauno mēbeles pārdošanai.",
     [("submit", "applicant2@demo.lv", None)]),
]


#: The initiatives' themes and target groups (the registry's filters).
DEMO_THEMES: dict[str, tuple[str, list[str]]] = {
    "Kopienas virtuves Latgales ciemos": ("Vientuļo senioru iekļaušana", ["seniori", "lauku iedzīvotāji"]),
    "Darba prasmju darbnīca jauniešiem": ("Jauniešu nodarbinātība", ["jaunieši NEET", "lauku iedzīvotāji"]),
    "Mobilā bibliotēka": ("Pieejamība laukos", ["lauku iedzīvotāji"]),
    "Sociālais taksometrs lauku senioriem": ("Vientuļo senioru iekļaušana", ["seniori", "lauku iedzīvotāji"]),
    "Kaimiņu palīdzības tīkls": ("Kopienu savstarpējā palīdzība", ["seniori"]),
    "Latgales amatu skola jauniešiem": ("Jauniešu nodarbinātība", ["jaunieši", "amatnieki"]),
    "Senioru digitālo prasmju kopienas": ("Digitālā iekļaušana", ["seniori"]),
    "Sociālās darbnīcas pilots Valmierā": ("Cilvēku ar invaliditāti nodarbinātība", ["cilvēki ar invaliditāti"]),
}


#: Reviews of the closed call's applications, by the evaluators (each declares no conflict, scores
#: need, novelty, change, capacity, budget of the standard rubric, comments and submits): the
#: first two are consistent; the third application's two totals (85 and 55) differ by more than
#: 30 %, so the system brings in a third evaluator, whose review (80) is added after. The fourth
#: application in evaluation is left unassigned: the officer assigns it in the demo.
DEMO_REVIEWS: dict[str, list[tuple[str, tuple[int, int, int, int, int], str]]] = {
    "Kopienas virtuves Latgales ciemos": [
        ("evaluator1@demo.lv", (22, 16, 16, 13, 15), "Skaidri pamatota vajadzība; ciemi iesaistīti no sākuma."),
        ("evaluator2@demo.lv", (20, 15, 15, 12, 14), "Laba ideja; budžetā jāprecizē transporta izmaksas."),
    ],
    "Darba prasmju darbnīca jauniešiem": [
        ("evaluator2@demo.lv", (19, 14, 14, 12, 15), "Jaunieši iesaistīti izpētē; rezultāti izmērāmi."),
        ("evaluator3@demo.lv", (18, 13, 14, 11, 14), "Pārmaiņu teorija vēl vispārīga, bet ticama."),
    ],
    "Sociālais taksometrs lauku senioriem": [
        ("evaluator3@demo.lv", (23, 17, 17, 13, 15), "Izteikti jauna pieeja; senioru vajadzības labi aprakstītas."),
        ("evaluator4@demo.lv", (14, 10, 11, 10, 10), "Līdzīgs pakalpojums jau ir pašvaldībā; ilgtspēja neskaidra."),
        ("third", (22, 16, 16, 12, 14), "Pakalpojums pašvaldībā ir tikai pilsētā; laukos tas ir jauns."),
    ],
    "Latgales amatu skola jauniešiem": [
        ("evaluator1@demo.lv", (21, 17, 16, 13, 16), "Skaidra vajadzība; vecmeistari un jaunieši iesaistīti."),
        ("evaluator3@demo.lv", (20, 16, 17, 12, 15), "Laba pārmaiņu teorija; pilotam jāprecizē vietas."),
    ],
}
#: The closed call's grant: the problem-identification application the committee approves, contracted, its
#: advance paid and a progress report submitted (grants after award, DESIGN §7).
DEMO_GRANT = "Darba prasmju darbnīca jauniešiem"
#: The stage-gated award: approved for idea generation and prototyping; the first stage's final report is
#: accepted, so its stage gate is being reviewed.
DEMO_STAGE_GATED = "Latgales amatu skola jauniešiem"
DEMO_CRITERIA = ("need", "novelty", "change", "capacity", "budget")


def _user(email: str, name: str, role: RoleCode) -> User:
    user = find_user_by_email(email)
    if user is None:
        user = register_user(email=email, password=current_app.config["DEMO_PASSWORD"], name=name,
                             roles=(role,))
    else:
        grant_role(user, role)
    return user


def _organisation(member: User, name: str, number: str, legal_form: LegalForm, region: Region) -> Organisation:
    organisation = db.session.execute(
        sa.select(Organisation).where(Organisation.country == "LV",
                                      Organisation.registration_number == number)).scalar_one_or_none()
    if organisation is None:
        organisation = create_organisation(member, {
            "name": name, "registration_number": number, "legal_form": legal_form, "region": region,
            "country": "LV", "contact_email": member.email})
    return organisation


def _programme(officer: User) -> Programme:
    """The programme, created by the officer as on the programmes page (checked and audited)."""
    programme = db.session.execute(sa.select(Programme).where(Programme.code == "SIKC-2026")).scalar_one_or_none()
    if programme is None:
        programme = create_programme(officer, ProgrammeInputSchema().load({
            "code": "SIKC-2026",
            "title_lv": "Sociālās inovācijas atbalsta programma 2026–2029",
            "title_en": "Social Innovation Support Programme 2026–2029",
            "fund_source": FundSource.ESF_PLUS.value, "budget": "2000000.00", "currency": "EUR",
            "starts_on": "2026-01-01", "ends_on": "2029-12-31"}))
    return programme


def _call(programme: Programme, officer: User, code: str, *, opens_at: datetime, closes_at: datetime,
          title_lv: str, title_en: str, description_lv: str, description_en: str,
          stages: list[tuple[str, str, str, str]], workflow: str = "application",
          rubric: dict[str, Any] | None = None) -> Call:
    """The call, set up and published by the officer as on the call pages: a draft with its stages
    (the default form), its eligibility ruleset and rubric, then published, which freezes version 1
    under its content hash. Every step checked and audited by the call services."""
    call = db.session.execute(sa.select(Call).where(Call.code == code)).scalar_one_or_none()
    if call is not None:
        return call
    call = create_call(officer, CallCreateSchema().load({
        "programme_id": programme.id, "code": code, "title_lv": title_lv, "title_en": title_en,
        "description_lv": description_lv, "description_en": description_en,
        "opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat(), "workflow_name": workflow,
        "stages": [{"si_stage": stage, "envelope": envelope, "min_grant": min_grant, "max_grant": max_grant}
                   for stage, envelope, min_grant, max_grant in stages]}))
    update_call_rules(call, officer, demo_ruleset(), rules_hash(call))
    if rubric is not None:
        update_rubric(call, officer, rubric, rubric_hash(call))
    publish_call(call, officer)
    return call


def sample_answers(form: list[dict[str, Any]], text: str, amount: str) -> dict[str, Any]:
    """Plausible answers to every required question of ``form``, so demo applications can be
    submitted: ``text`` for text, the first option for choices, ``amount`` in the budget with 10 %
    of it as co-financing (the demo ruleset recommends at least 5 %)."""
    answers: dict[str, Any] = {}
    for _section, question in iter_questions(form):
        if not question.get("required"):
            continue
        kind = question["type"]
        if kind in ("short_text", "long_text"):
            answers[question["code"]] = text[: max_length_of(question) or len(text)]
        elif kind in ("number", "money"):
            answers[question["code"]] = max(question.get("min") or 0, 1) if kind == "number" else amount
        elif kind == "single_choice":
            answers[question["code"]] = question["options"][0]["value"]
        elif kind == "multiple_choice":
            answers[question["code"]] = [question["options"][0]["value"]]
        elif kind == "yes_no":
            answers[question["code"]] = True
        elif kind == "date":
            answers[question["code"]] = utcnow().date().isoformat()
        elif kind == "table":
            row = {}
            for column in question.get("columns", []):
                if column["type"] == "money":
                    row[column["code"]] = (amount if column["code"] == "amount"
                                           else f"{(Decimal(amount) / 10).quantize(CENT):.2f}")
                elif column["type"] == "single_choice":
                    row[column["code"]] = column["options"][0]["value"]
                elif column["type"] in ("number",):
                    row[column["code"]] = 1
                else:
                    row[column["code"]] = text[:100]
            answers[question["code"]] = [row]
    return answers


def _application(call: Call, member: User, title: str, stage: str, amount: str, months: int,
                 summary: str) -> Application | None:
    """A draft, started by ``member`` as an applicant does on the pages: the initiative first (its theme
    and target groups for the registry), then the application for it with its answers. None when the
    demo already has it."""
    organisation = member.organisations[0]
    exists = db.session.execute(sa.select(Application.id).where(
        Application.call_id == call.id, Application.organisation_id == organisation.id,
        Application.title == title)).scalar_one_or_none()
    if exists is not None:
        return None
    theme, groups = DEMO_THEMES.get(title, ("", []))
    initiative = create_initiative(member, {
        "organisation_id": organisation.id, "title": title, "description": summary, "theme": theme,
        "target_groups": groups, "region": organisation.region, "si_stage": stage})
    return create_application(member, ApplicationCreateSchema().load({
        "call_id": call.id, "organisation_id": organisation.id, "initiative_id": initiative.id, "si_stage": stage,
        "title": title, "summary": summary, "requested_amount": amount, "duration_months": months,
        "answers": sample_answers(call.form, summary, amount)}))


def _walk(application: Application, steps: list[tuple[str, str, str | None]], users: dict[str, User]) -> None:
    """Fire ``steps`` (trigger, actor's e-mail, comment) on ``application``, each by the engine."""
    for trigger, actor, comment in steps:
        fire(application, trigger, users[actor], comment=comment)


def _submitted(call: Call, users: dict[str, User]) -> list[tuple[Application, list[tuple[str, str, str | None]]]]:
    """The demo applications of ``call`` started and taken as far as their submission by their applicants;
    with each, the steps that follow (the staff's, after the deadline). Nothing for those the demo has."""
    later = []
    for code, email, title, stage, amount, months, summary, steps in DEMO_APPLICATIONS:
        if code != call.code:
            continue
        application = _application(call, users[email], title, stage, amount, months, summary)
        if application is not None:
            submitted = next((n + 1 for n, step in enumerate(steps) if step[0] == "submit"), 0)
            _walk(application, steps[:submitted], users)
            later.append((application, steps[submitted:]))
    return later


def _evaluate(application: Application, reviews, users: dict[str, User]) -> None:
    """Assign and score ``application`` as DEMO_REVIEWS says (once: an application with
    assignments is left as it is)."""
    if application.state != "in_evaluation" or db.session.scalar(
            sa.select(sa.func.count()).select_from(Assignment).where(Assignment.application_id == application.id)):
        return
    officer = users["officer@demo.lv"]
    for email, points, comment in reviews:
        if email == "third":  # the system assigned the third evaluator after the discrepancy
            assignment = db.session.execute(sa.select(Assignment).where(
                Assignment.application_id == application.id, Assignment.state == "assigned")).unique().scalar_one()
        else:
            assignment = assign(application, users[email], officer)
        evaluator = assignment.evaluator
        declare(assignment, evaluator, False, "")
        save_review(assignment, evaluator, scores=dict(zip(DEMO_CRITERIA, points, strict=True)),
                    comments={"need": comment}, summary=comment)
        submit_review(assignment, evaluator)


def load_demo(now: datetime | None = None) -> dict[str, int]:
    """Create the demo programme, calls, accounts and organisations that are missing."""
    # Run from the command line there is no request to take the language from: the demo speaks Latvian.
    with force_locale("lv"):
        return _load_demo(now or utcnow())


def _load_demo(now: datetime) -> dict[str, int]:
    # The demo's history happens at its own moments, through the same services and guards as anything else
    # (grants.core.db.as_if_at): the accounts, the programme and the stage-gated call come first, months
    # ago; the stage-gated call's applications are submitted before its deadline, then the closed call is
    # published and its applications submitted before its deadline; the open call opened a week ago. What
    # the staff do after the deadlines (eligibility, evaluation, decisions, grants) happens now.
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    moments = {name: midnight + offset for name, offset in HISTORY.items()}
    gated_opens, gated_closes = moments["gated_opens"], moments["gated_closes"]
    closed_opens, closed_closes = moments["closed_opens"], moments["closed_closes"]
    later: list[tuple[Application, list[tuple[str, str, str | None]]]] = []
    with as_if_at(gated_opens - timedelta(days=5)):
        users = {email: _user(email, name, role) for email, name, role in DEMO_ACCOUNTS}
        db.session.flush()
        for email, name, number, legal_form, region in DEMO_ORGANISATIONS:
            _organisation(users[email], name, number, legal_form, region)
        officer = users["officer@demo.lv"]
        programme = _programme(officer)
        gated_call = _call(
            programme, officer, STAGE_GATED_CALL_CODE, opens_at=gated_opens, closes_at=gated_closes,
            workflow="application_stage_gate", rubric=_stage_gated_rubric(),
            title_lv="No idejas līdz pilotam: posmos finansētas sociālās inovācijas",
            title_en="From idea to pilot: social innovations funded stage by stage",
            description_lv=("Viens atbalsts idejas izstrādei un tās pilotēšanai; nākamā posma finansējums tiek "
                            "piešķirts pēc iepriekšējā posma rezultātu izvērtēšanas."),
            description_en=("One award for developing an idea and piloting it; the next stage's money is released "
                            "once the previous stage's results have been reviewed."),
            stages=[("idea_generation", "100000.00", "5000.00", "40000.00"),
                    ("prototyping", "200000.00", "10000.00", "80000.00")],
        )
    with as_if_at(gated_closes - timedelta(days=3)):
        later += _submitted(gated_call, users)
    with as_if_at(closed_opens - timedelta(days=5)):
        closed_call = _call(
            programme, officer, CLOSED_CALL_CODE, opens_at=closed_opens, closes_at=closed_closes,
            title_lv="Kopienu vadītas sociālās inovācijas idejas (izmēģinājuma konkurss)",
            title_en="Community-led social innovation ideas (pilot call)",
            description_lv="Izmēģinājuma konkurss kopienu vadītām idejām problēmu identificēšanas un ideju posmā.",
            description_en="Pilot call for community-led ideas at the problem identification and idea stages.",
            stages=[("problem_identification", "50000.00", "1000.00", "5000.00"),
                    ("idea_generation", "20000.00", "2000.00", "10000.00")],
        )
    with as_if_at(closed_closes - timedelta(days=3)):
        later += _submitted(closed_call, users)
    with as_if_at(midnight - timedelta(days=8)):
        open_call = _call(
            programme, officer, OPEN_CALL_CODE,
            opens_at=midnight - timedelta(days=7), closes_at=midnight + timedelta(days=45, hours=12),
            title_lv="Sociālās inovācijas ideju, pilotu un mērogošanas atbalsts",
            title_en="Support for social innovation ideas, pilots and scaling",
            description_lv=("Atbalsts biedrībām, nodibinājumiem, sociālajiem uzņēmumiem un kopienām, kas "
                            "attīsta sociālās inovācijas ideju ģenerēšanas, prototipēšanas un mērogošanas posmā."),
            description_en=("Support for associations, foundations, social enterprises and communities developing "
                            "social innovations at the idea generation, prototyping and scaling stages."),
            stages=[("idea_generation", "150000.00", "2000.00", "10000.00"),
                    ("prototyping", "300000.00", "10000.00", "50000.00"),
                    ("scaling", "250000.00", "30000.00", "120000.00")],
        )
    calls = {call.code: call for call in (open_call, closed_call, gated_call)}
    later += _submitted(open_call, users)
    for application, steps in later:
        _walk(application, steps, users)
    db.session.flush()
    for call in calls.values():
        for email in ("evaluator1@demo.lv", "evaluator2@demo.lv", "evaluator3@demo.lv", "evaluator4@demo.lv"):
            add_to_pool(call, users[email], officer)
    for title, reviews in DEMO_REVIEWS.items():
        application = db.session.execute(sa.select(Application).where(
            Application.call_id.in_([closed_call.id, gated_call.id]), Application.title == title)).unique().scalar_one()
        _evaluate(application, reviews, users)
    db.session.flush()
    _indicators(programme, officer)
    _grant(_by_title(closed_call, DEMO_GRANT), users, now)
    _stage_gated_grant(_by_title(gated_call, DEMO_STAGE_GATED), users, now)
    db.session.flush()
    return {"users": len(users), "organisations": len(DEMO_ORGANISATIONS), "calls": len(calls),
            "applications": len(DEMO_APPLICATIONS)}


def _by_title(call: Call, title: str) -> Application:
    return db.session.execute(sa.select(Application).where(Application.call_id == call.id,
                                                           Application.title == title)).unique().scalar_one()


def _stage_gated_rubric() -> dict[str, Any]:
    """The standard rubric, and for the stage gate into prototyping one that scores a stage's results."""
    rubric = default_rubric()
    rubric["stages"] = {"prototyping": {"threshold": 60, "criteria": [
        {"code": "results", "max_points": 40, "weight": 1, "min_points": 20,
         "title_lv": "Posma rezultāti un pierādījumi", "title_en": "The stage's results and evidence",
         "guidance_lv": "Vai idejas posma rezultāti ir pierādīti (mērķgrupas atsauksmes, testi, dati)?",
         "guidance_en": "Are the idea stage's results proven (feedback from the target group, tests, data)?"},
        {"code": "pilot_plan", "max_points": 30, "weight": 1,
         "title_lv": "Pilotēšanas plāns", "title_en": "The pilot's plan",
         "guidance_lv": "Vai pilots ir izmērāms, ar skaidrām vietām, laiku un rādītājiem?",
         "guidance_en": "Is the pilot measurable, with clear sites, timing and indicators?"},
        {"code": "learning", "max_points": 30, "weight": 1,
         "title_lv": "Mācības un pielāgošana", "title_en": "Learning and adaptation",
         "guidance_lv": "Vai komanda mācījās no posma un pielāgoja risinājumu?",
         "guidance_en": "Did the team learn from the stage and adapt the solution?"}]}}
    return rubric


#: The programme's own indicator besides the ESF+ common ones (ESF+ programme), with targets.
DEMO_INDICATORS = [
    {"code": "pilot_sites", "title_lv": "Pilotēšanas vietas", "title_en": "Pilot sites", "unit_lv": "vietas",
     "unit_en": "sites", "target": "20"},
    {"code": "esf_participants_women_18_29", "target": "200"},
    {"code": "esf_participants_men_18_29", "target": "200"},
    {"code": "esf_entities_supported", "target": "40"},
]


def _indicators(programme: Programme, officer: User) -> None:
    if not indicators.own_indicators(programme):
        indicators.save_indicators(programme, officer, DEMO_INDICATORS)


def demo_pdf(title: str) -> bytes:
    """A one-page PDF standing in for a signed agreement's scan."""
    text = title.encode("ascii", "replace")
    stream = b"BT /F1 12 Tf 40 150 Td (" + text.replace(b"(", b"[").replace(b")", b"]") + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _first_of_month(day: date, months_back: int) -> date:
    month = day.month - 1 - months_back
    return date(day.year + month // 12, month % 12 + 1, 1)


def _contract(application: Application, users: dict[str, User], terms: dict[str, Any]) -> None:
    """Approve (as the ranking recommends), draft the agreement, upload its signed scan, sign, start."""
    officer, committee = users["officer@demo.lv"], users["committee@demo.lv"]
    if application.state == "evaluated":
        decide(application, committee, {"outcome": "approved", "decided_on": riga_today(),
                                        "conditions": terms.pop("conditions", "")})
    if application.state == "approved" and agreement_of(application) is None:
        agreements.save_agreement(application, officer, terms, today=riga_today())
        scan = FileStorage(stream=BytesIO(demo_pdf(f"Agreement {application.id}")), filename="ligums-parakstits.pdf",
                           content_type="application/pdf")
        agreements.attach_signed_file(application, officer, scan)
        fire(application, "sign_contract", officer)
        fire(application, "start_implementation", officer)


def _pay_advance(application: Application, users: dict[str, User]) -> None:
    """The advance: requested by the officer, verified by one finance officer, paid by the other."""
    advance = next((p for p in payments.payments_of(application) if p.kind.value == "advance"), None)
    if advance is None or advance.state != "planned":
        return
    payments.act_on_payment(advance, "request", users["officer@demo.lv"], today=riga_today())
    payments.act_on_payment(advance, "verify", users["finance@demo.lv"], today=riga_today())
    payments.act_on_payment(advance, "pay", users["finance2@demo.lv"], today=riga_today(), reference="MU-2026-0417")


def _grant(application: Application, users: dict[str, User], now: datetime) -> None:
    """The closed call's grant: contracted three months ago, its advance paid, a progress report submitted."""
    day = now.date()
    start = _first_of_month(day, 3)
    end = _first_of_month(day, -3) - timedelta(days=1)
    progress_end = day - timedelta(days=7)
    _contract(application, users, {
        "start_date": start.isoformat(), "end_date": end.isoformat(),
        "conditions": "Pētījuma rezultātus publicēt vieglajā valodā.",
        "indicator_targets": {"esf_participants_women_18_29": 12, "esf_participants_men_18_29": 13,
                              "esf_entities_supported": 1},
        "reports": [{"kind": "progress", "period_end": progress_end.isoformat(),
                     "due_on": (progress_end + timedelta(days=21)).isoformat()},
                    {"kind": "final", "period_end": end.isoformat(), "due_on": (end + timedelta(days=30)).isoformat()}],
        "schedule": [{"kind": "advance", "amount": "2400.00", "due_on": start.isoformat()},
                     {"kind": "interim", "amount": "1440.00",
                      "due_on": (progress_end + timedelta(days=30)).isoformat()},
                     {"kind": "final", "amount": "960.00", "due_on": (end + timedelta(days=45)).isoformat()}]})
    _pay_advance(application, users)
    member = users["applicant2@demo.lv"]
    if application.state == "in_implementation" and not reports.reports_of(application):
        report = reports.create_report(application, member, {
            "kind": "progress", "period_end": progress_end.isoformat(),
            "narrative": ("Kopā ar 25 jauniešiem no trim novadiem aizvadījām sešas izpētes darbnīcas; galvenie šķēršļi "
                          "ceļā uz pirmo darbu ir transports, pieredzes trūkums un neticība saviem spēkiem."),
            "indicators": {"esf_participants_women_18_29": 11, "esf_participants_men_18_29": 14,
                           "esf_entities_supported": 1},
            "expenditure": [{"category": "staff", "amount": "1500.00", "co_financing": "150.00"},
                            {"category": "travel", "amount": "420.00", "co_financing": "0.00"}]})
        reports.act_on_report(report, "submit", member)


def _stage_gated_grant(application: Application, users: dict[str, User], now: datetime) -> None:
    """The stage-gated award: the idea stage's final report accepted, so its gate review is under way."""
    day = now.date()
    start = _first_of_month(day, 6)
    stage_end = day - timedelta(days=14)
    end = _first_of_month(day, -12) - timedelta(days=1)
    _contract(application, users, {
        "start_date": start.isoformat(), "end_date": end.isoformat(),
        "tranches": [{"si_stage": "idea_generation", "amount": "10000.00"},
                     {"si_stage": "prototyping", "amount": "20000.00"}],
        "indicator_targets": {"pilot_sites": 3, "esf_participants_women_18_29": 20, "esf_participants_men_18_29": 20},
        "reports": [{"kind": "final", "si_stage": "idea_generation", "period_end": stage_end.isoformat(),
                     "due_on": (stage_end + timedelta(days=30)).isoformat()},
                    {"kind": "final", "si_stage": "prototyping", "period_end": end.isoformat(),
                     "due_on": (end + timedelta(days=30)).isoformat()}],
        "schedule": [{"kind": "advance", "amount": "8000.00", "due_on": start.isoformat()},
                     {"kind": "final", "amount": "2000.00", "due_on": (stage_end + timedelta(days=45)).isoformat()}]})
    _pay_advance(application, users)
    member, officer = users["applicant@demo.lv"], users["officer@demo.lv"]
    if application.state == "in_implementation" and not reports.reports_of(application):
        report = reports.create_report(application, member, {
            "kind": "final", "period_end": stage_end.isoformat(),
            "narrative": ("Sešos mēnešos ar 14 vecmeistariem un 31 jaunieti izstrādājām amatu skolas modeli, "
                          "izmēģinājām trīs nodarbību ciklus un vienojāmies ar divām skolām par pilotu."),
            "indicators": {"pilot_sites": 2, "esf_participants_women_18_29": 17, "esf_participants_men_18_29": 14},
            "expenditure": [{"category": "staff", "amount": "6200.00", "co_financing": "600.00"},
                            {"category": "equipment", "amount": "2100.00", "co_financing": "200.00"},
                            {"category": "communication", "amount": "900.00", "co_financing": "100.00"}]})
        reports.act_on_report(report, "submit", member)
        reports.act_on_report(report, "accept", officer)  # the gate review opens: evaluators are assigned
