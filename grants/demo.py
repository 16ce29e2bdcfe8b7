"""Demo data for `flask --app grants demo` and `make run`. Running it again changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from grants.applications.models import Application
from grants.calls.models import Call, CallStage, CallStatus, Programme
from grants.core.codes import FundSource, LegalForm, Region
from grants.core.db import CENT, db, utcnow
from grants.core.roles import RoleCode
from grants.eligibility.presets import demo_ruleset
from grants.eligibility.rules import validate_ruleset
from grants.evaluations.models import Assignment
from grants.evaluations.services import add_to_pool, assign, declare, save_review, submit_review
from grants.forms.definitions import iter_questions, max_length_of
from grants.forms.templates import default_form
from grants.initiatives.models import Initiative
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
    (OPEN_CALL_CODE, "applicant@demo.lv", "Senioru digitālo prasmju kopienas", "prototyping", "24000.00", 12,
     "Pilotējam senioru savstarpējās mācīšanās kopienas piecās Latgales bibliotēkās.", []),
    (OPEN_CALL_CODE, "applicant2@demo.lv", "Sociālās darbnīcas pilots Valmierā", "prototyping", "38000.00", 18,
     "Sociālā darbnīca, kurā cilvēki ar invaliditāti atjauno mēbeles pārdošanai.",
     [("submit", "applicant2@demo.lv", None)]),
]


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
}
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


def _programme() -> Programme:
    programme = db.session.execute(sa.select(Programme).where(Programme.code == "SIKC-2026")).scalar_one_or_none()
    if programme is None:
        programme = Programme(
            code="SIKC-2026",
            title_lv="Sociālās inovācijas atbalsta programma 2026–2029",
            title_en="Social Innovation Support Programme 2026–2029",
            fund_source=FundSource.ESF_PLUS, budget=Decimal("2000000.00"), currency="EUR",
            starts_on=date(2026, 1, 1), ends_on=date(2029, 12, 31))
        db.session.add(programme)
    return programme


def _call(programme: Programme, code: str, *, opens_at: datetime, closes_at: datetime, status: CallStatus,
          title_lv: str, title_en: str, description_lv: str, description_en: str,
          stages: list[tuple[str, str, str, str]]) -> Call:
    call = db.session.execute(sa.select(Call).where(Call.code == code)).scalar_one_or_none()
    if call is not None:
        return call
    call = Call(programme=programme, code=code, title_lv=title_lv, title_en=title_en,
                description_lv=description_lv, description_en=description_en,
                opens_at=opens_at, closes_at=closes_at, status=status,
                budget=sum((Decimal(envelope) for _, envelope, _, _ in stages), Decimal("0")),
                workflow_name="application", workflow_version=3, version=1, form=default_form(),
                eligibility_rules=validate_ruleset(demo_ruleset()),
                published_at=opens_at if status != CallStatus.DRAFT else None)
    call.stages = [CallStage(si_stage=stage, position=index, envelope=Decimal(envelope),
                             min_grant=Decimal(min_grant), max_grant=Decimal(max_grant))
                   for index, (stage, envelope, min_grant, max_grant) in enumerate(stages)]
    db.session.add(call)
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


def _application(call: Call, member: User, title: str, stage: str, amount: str, months: int, summary: str,
                 steps: list[tuple[str, str, str | None]], users: dict[str, User]) -> Application:
    organisation = member.organisations[0]
    application = db.session.execute(sa.select(Application).where(
        Application.call_id == call.id, Application.organisation_id == organisation.id,
        Application.title == title)).scalar_one_or_none()
    if application is not None:
        return application
    initiative = Initiative(organisation=organisation, title=title, description=summary, current_stage=stage,
                            region=organisation.region)
    application = Application(call=call, organisation=organisation, initiative=initiative, created_by=member,
                              si_stage=stage, title=title, summary=summary, requested_amount=Decimal(amount),
                              duration_months=months, answers=sample_answers(call.form, summary, amount),
                              workflow_name=call.workflow_name,
                              workflow_version=call.workflow_version)
    db.session.add(application)
    db.session.flush()
    for trigger, actor, comment in steps:
        fire(application, trigger, users[actor], comment=comment)
    return application


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
    users = {email: _user(email, name, role) for email, name, role in DEMO_ACCOUNTS}
    db.session.flush()
    for email, name, number, legal_form, region in DEMO_ORGANISATIONS:
        _organisation(users[email], name, number, legal_form, region)
    programme = _programme()
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    _call(
        programme, OPEN_CALL_CODE,
        opens_at=midnight - timedelta(days=7), closes_at=midnight + timedelta(days=45, hours=12),
        status=CallStatus.PUBLISHED,
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
    # The closed call is created open, its applications are submitted while it is, and only then
    # does it get the past dates of a call that closed three months ago (seed data; submissions are
    # refused after the deadline like any other).
    closed_call = _call(
        programme, CLOSED_CALL_CODE,
        opens_at=midnight - timedelta(days=150), closes_at=now + timedelta(hours=1),
        status=CallStatus.PUBLISHED,
        title_lv="Kopienu vadītas sociālās inovācijas idejas (izmēģinājuma konkurss)",
        title_en="Community-led social innovation ideas (pilot call)",
        description_lv="Izmēģinājuma konkurss kopienu vadītām idejām problēmu identificēšanas un ideju posmā.",
        description_en="Pilot call for community-led ideas at the problem identification and idea stages.",
        stages=[("problem_identification", "50000.00", "1000.00", "5000.00"),
                ("idea_generation", "20000.00", "2000.00", "10000.00")],
    )
    db.session.flush()
    calls = {call.code: call for call in db.session.scalars(
        sa.select(Call).where(Call.code.in_([OPEN_CALL_CODE, CLOSED_CALL_CODE])))}
    for code, email, title, stage, amount, months, summary, steps in DEMO_APPLICATIONS:
        _application(calls[code], users[email], title, stage, amount, months, summary, steps, users)
    closed_call.closes_at = min(closed_call.closes_at, midnight - timedelta(days=90))
    db.session.flush()
    for call in calls.values():
        for email in ("evaluator1@demo.lv", "evaluator2@demo.lv", "evaluator3@demo.lv", "evaluator4@demo.lv"):
            add_to_pool(call, users[email], users["officer@demo.lv"])
    for title, reviews in DEMO_REVIEWS.items():
        application = db.session.execute(sa.select(Application).where(
            Application.call_id == closed_call.id, Application.title == title)).unique().scalar_one()
        _evaluate(application, reviews, users)
    db.session.flush()
    return {"users": len(users), "organisations": len(DEMO_ORGANISATIONS), "calls": 2,
            "applications": len(DEMO_APPLICATIONS)}
