"""Test data, made through the same services the application uses."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from grants.calls.models import Call, CallStage, CallStatus, Programme
from grants.core.codes import FundSource, LegalForm, Region
from grants.core.db import db, today, utcnow
from grants.evaluations.models import Assignment
from grants.organisations.services import create_organisation
from grants.users.services import issue_token, register_user

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_user(*roles: str, email: str | None = None, name: str = "Test User", password: str = PASSWORD):
    n = next(_seq)
    return register_user(email=email or f"user{n}@example.lv", password=password, name=name,
                         roles=roles or ("applicant",))


def make_organisation(user, **overrides):
    n = next(_seq)
    data = {"name": f"Biedrība {n}", "registration_number": f"4000{n:07d}",
            "legal_form": LegalForm.ASSOCIATION, "region": Region.RIGA, "country": "LV"}
    data.update(overrides)
    return create_organisation(user, data)


def make_programme(**overrides):
    n = next(_seq)
    data = {"code": f"P-{n}", "title_lv": f"Programma {n}", "title_en": f"Programme {n}",
            "fund_source": FundSource.ESF_PLUS, "budget": Decimal("1000000.00"),
            "starts_on": utcnow().date() - timedelta(days=365), "ends_on": utcnow().date() + timedelta(days=1000)}
    data.update(overrides)
    programme = Programme(**data)
    db.session.add(programme)
    db.session.flush()
    return programme


def small_form() -> list[dict]:
    """One section: a required short text and an optional long text of at most 500 characters."""
    return [{"code": "about", "title_lv": "Par projektu", "title_en": "About the project", "questions": [
        {"code": "project_name", "type": "short_text", "required": True,
         "label_lv": "Projekta nosaukums", "label_en": "Project name"},
        {"code": "description", "type": "long_text", "required": False, "max_length": 500,
         "label_lv": "Apraksts", "label_en": "Description"},
    ]}]


def sample_answers(form: list[dict]) -> dict:
    """Valid answers to every required question of ``form`` (the demo's filler)."""
    from grants.demo import sample_answers as fill

    return fill(form, "Pieteikuma teksts", amount="5000.00")


def make_call(programme=None, *, status=CallStatus.PUBLISHED, opens_in_days: float = -1,
              closes_in_days: float = 30, stages=(("idea_generation", "100000.00", "1000.00", "10000.00"),),
              form: list[dict] | None = None, **overrides):
    n = next(_seq)
    now = utcnow()
    call = Call(programme=programme or make_programme(), code=f"C-{n}", title_lv=f"Konkurss {n}",
                title_en=f"Call {n}", description_lv="Apraksts", description_en="Description",
                opens_at=now + timedelta(days=opens_in_days), closes_at=now + timedelta(days=closes_in_days),
                budget=sum((Decimal(s[1]) for s in stages), Decimal(0)), status=status,
                workflow_name="application", workflow_version=2, version=1,
                form=small_form() if form is None else form,
                published_at=now if status != CallStatus.DRAFT else None)
    call.stages = [CallStage(si_stage=code, position=i, envelope=Decimal(envelope), min_grant=Decimal(lo),
                             max_grant=Decimal(hi)) for i, (code, envelope, lo, hi) in enumerate(stages)]
    for key, value in overrides.items():
        setattr(call, key, value)
    db.session.add(call)
    db.session.flush()
    return call


def bearer(user) -> dict[str, str]:
    token, _ = issue_token(user)
    return {"Authorization": f"Bearer {token}"}


def make_initiative(organisation, *, stage: str = "idea_generation", **overrides):
    from grants.initiatives.models import Initiative

    initiative = Initiative(organisation=organisation, title=overrides.pop("title", "Iniciatīva"),
                            current_stage=stage, **overrides)
    db.session.add(initiative)
    db.session.flush()
    return initiative


def make_application(call=None, organisation=None, *, applicant=None, si_stage: str = "idea_generation",
                     state: str = "draft", **overrides):
    """A draft application (``state`` other than draft only for setting up tests of later steps).

    Returns the application; its organisation's member is ``applicant`` (made when not given).
    """
    from grants.applications.models import Application

    call = call or make_call()
    if organisation is None:
        applicant = applicant or make_user("applicant")
        organisation = make_organisation(applicant)
    data = {"title": "Pieteikums", "summary": "Kopsavilkums", "answers": sample_answers(call.form),
            "requested_amount": Decimal("5000.00"), "duration_months": 6}
    data.update(overrides)
    initiative = data.pop("initiative", None) or make_initiative(organisation, stage=si_stage)
    application = Application(call=call, organisation=organisation, initiative=initiative, si_stage=si_stage,
                              state=state, workflow_name=call.workflow_name,
                              workflow_version=call.workflow_version, **data)
    db.session.add(application)
    db.session.flush()
    return application


def login(client, user, password: str = PASSWORD):
    """Sign ``user`` in through the login form, as a browser would."""
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def make_evaluation_call(programme=None, **overrides):
    """A published call on the newest single-round workflow (evaluation and decisions) with the
    standard rubric: five criteria, 100 points, pass at 60, two evaluators, 30 % discrepancy."""
    overrides.setdefault("workflow_version", 3)
    return make_call(programme, **overrides)


def in_evaluation(call, officer, **overrides):
    """An application submitted by its applicant and declared eligible by ``officer`` (through the engine)."""
    from grants.workflows.engine import fire

    application = make_application(call, **overrides)
    member = application.organisation.memberships[0].user
    fire(application, "submit", member)
    fire(application, "declare_eligible", officer)
    return application


def make_pool(call, count: int, officer):
    """``count`` new evaluators in the call's pool."""
    from grants.evaluations.services import add_to_pool

    evaluators = [make_user("evaluator") for _ in range(count)]
    for evaluator in evaluators:
        add_to_pool(call, evaluator, officer)
    return evaluators


FULL_MARKS = {"need": 25, "novelty": 20, "change": 20, "capacity": 15, "budget": 20}


def scores_totalling(total: int) -> dict[str, int]:
    """Scores of the standard rubric adding up to ``total`` (0..100), criteria filled in order."""
    scores, left = {}, total
    for code, maximum in FULL_MARKS.items():
        scores[code] = min(maximum, left)
        left -= scores[code]
    assert left == 0
    return scores


def review(assignment, total: int | dict, *, summary: str = "Kopsavilkums.", submit: bool = True):
    """The assigned evaluator declares no conflict (if not yet), scores and (by default) submits."""
    from grants.evaluations.services import declare, save_review, submit_review

    evaluator = assignment.evaluator
    if assignment.state == "assigned":
        declare(assignment, evaluator, False, "")
    scores = total if isinstance(total, dict) else scores_totalling(total)
    save_review(assignment, evaluator, scores=scores, comments={"need": "Labi pamatots."}, summary=summary)
    if submit:
        submit_review(assignment, evaluator)
    return assignment


def pdf_bytes() -> bytes:
    """A small, valid one-page PDF."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def approved(call, officer, committee, *, amount: str | None = None, totals=(85, 85), **overrides):
    """An application of ``call`` evaluated by two new pool evaluators (``totals``) and approved by
    ``committee`` (for ``amount``, the requested one by default), all through the engine."""
    from grants.decisions.services import decide
    from grants.evaluations.services import auto_assign

    application = in_evaluation(call, officer, **overrides)
    if not call_pool_size(call):
        make_pool(call, 2, officer)
    auto_assign(call, officer)
    assignments = db.session.scalars(sa.select(Assignment).where(
        Assignment.application_id == application.id, Assignment.state == "assigned")
        .order_by(Assignment.id)).unique().all()
    for assignment, total in zip(assignments, totals, strict=False):
        review(assignment, total)
    decide(application, committee, {"outcome": "approved", "amount": amount, "decided_on": utcnow().date(),
                                    "justification": "Atbalstīt."})
    return application


def call_pool_size(call) -> int:
    from grants.evaluations.services import pool_of

    return len(pool_of(call))


# --- grants after award, through the API ---------------------------------------------------------

def headers_of(people, client=None):
    return {name: bearer(user) for name, user in people.items()}


def member_of(application):
    return application.organisation.memberships[0].user


def fire_api(client, path, headers, trigger, **extra):
    return client.post(path, json={"trigger": trigger, **extra}, headers=headers)


def upload_agreement(client, application_id, headers):
    return client.post(f"/api/v1/applications/{application_id}/agreement/file", headers=headers,
                       data={"file": (io.BytesIO(pdf_bytes()), "ligums.pdf")}, content_type="multipart/form-data")


def pay_through_api(client, payment_id, h):
    """Requested by an officer, verified by one finance officer, paid by another."""
    assert fire_api(client, f"/api/v1/payments/{payment_id}/transitions", h["officer"], "request").status_code == 200
    assert fire_api(client, f"/api/v1/payments/{payment_id}/transitions", h["finance1"], "verify").status_code == 200
    response = fire_api(client, f"/api/v1/payments/{payment_id}/transitions", h["finance2"], "pay",
                     reference="MP-1")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def report_through_api(client, application_id, headers, kind, period_end, **content):
    body = {"kind": kind, "period_end": period_end, "narrative": "Paveicām, ko solījām.",
            "indicators": {}, "expenditure": [{"category": "staff", "amount": "1000.00", "co_financing": "0"}],
            **content}
    response = client.post(f"/api/v1/applications/{application_id}/grant-reports", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def gate_call(**overrides):
    rubric = {"criteria": [{"code": "need", "title_lv": "Vajadzība", "title_en": "Need", "max_points": 50,
                            "weight": 1},
                           {"code": "novelty", "title_lv": "Novitāte", "title_en": "Novelty", "max_points": 50,
                            "weight": 1}],
              "threshold": 50, "evaluators_required": 2, "discrepancy_percent": 30, "review_days": 14,
              "tie_break": "earlier_submission",
              "stages": {"prototyping": {"criteria": [
                  {"code": "results", "title_lv": "Rezultāti", "title_en": "Results", "max_points": 60, "weight": 1},
                  {"code": "learning", "title_lv": "Mācības", "title_en": "Learning", "max_points": 40, "weight": 1}],
                  "threshold": 60}}}
    return make_call(workflow_name="application_stage_gate", workflow_version=4, rubric=rubric,
                     stages=(("idea_generation", "50000.00", "1000.00", "20000.00"),
                             ("prototyping", "100000.00", "1000.00", "50000.00")), **overrides)


def to_gate(client, people, call, h, *, amount="12000.00"):
    """An approved stage-gated award contracted, its advance paid and the first stage's final report accepted."""
    application = approved(call, people["officer"], people["committee"], amount=amount, totals=({"need": 45,
                                                                                                  "novelty": 45},) * 2,
                           requested_amount=Decimal("12000.00"))
    grantee = bearer(member_of(application))
    app_id = application.id
    start = today() - timedelta(days=100)
    stage_end = start + timedelta(days=60)
    end = start + timedelta(days=300)
    body = {"start_date": start.isoformat(), "end_date": end.isoformat(),
            "tranches": [{"si_stage": "idea_generation", "amount": "4000.00"},
                         {"si_stage": "prototyping", "amount": "8000.00"}],
            "reports": [{"kind": "final", "si_stage": "idea_generation", "period_end": stage_end.isoformat(),
                         "due_on": (stage_end + timedelta(days=10)).isoformat()},
                        {"kind": "final", "si_stage": "prototyping", "period_end": end.isoformat(),
                         "due_on": (end + timedelta(days=30)).isoformat()}],
            "schedule": [{"kind": "advance", "amount": "3000.00", "due_on": start.isoformat()},
                         {"kind": "final", "amount": "1000.00", "due_on": stage_end.isoformat()}]}
    wrong = client.put(f"/api/v1/applications/{app_id}/agreement", headers=h["officer"],
                       json={**body, "tranches": [{"si_stage": "idea_generation", "amount": "12000.00"}]})
    assert wrong.status_code == 422 and "tranches" in wrong.get_json()["fields"]
    saved = client.put(f"/api/v1/applications/{app_id}/agreement", json=body, headers=h["officer"])
    assert saved.status_code == 200, saved.get_json()
    upload_agreement(client, app_id, h["officer"])
    for trigger in ("sign_contract", "start_implementation"):
        assert fire_api(client, f"/api/v1/applications/{app_id}/transitions", h["officer"], trigger).status_code == 200
    payments = client.get(f"/api/v1/applications/{app_id}/payments", headers=grantee).get_json()
    pay_through_api(client, payments[0]["id"], h)
    report = report_through_api(client, app_id, grantee, "final", stage_end.isoformat())
    fire_api(client, f"/api/v1/grant-reports/{report['id']}/transitions", grantee, "submit")
    fire_api(client, f"/api/v1/grant-reports/{report['id']}/transitions", h["officer"], "accept")
    return application, grantee, payments


def score_gate(client, application, totals):
    """The gate's evaluators declare no conflict and score with the next stage's rubric."""
    assignments = db.session.scalars(sa.select(Assignment).where(
        Assignment.application_id == application.id, Assignment.gate_stage == "prototyping")
        .order_by(Assignment.id)).unique().all()
    assert len(assignments) == 2
    for assignment, (results, learning) in zip(assignments, totals, strict=True):
        headers = bearer(assignment.evaluator)
        undeclared = client.put(f"/api/v1/assignments/{assignment.id}/review", headers=headers,
                                json={"scores": {"results": results}, "summary": "x", "submit": False})
        assert undeclared.status_code == 403  # the gate has its own conflict-of-interest declaration
        client.post(f"/api/v1/assignments/{assignment.id}/declaration", json={"has_conflict": False, "statement": ""},
                    headers=headers)
        # The gate is scored with stage k+1's rubric, not the selection's.
        old = client.put(f"/api/v1/assignments/{assignment.id}/review", headers=headers,
                         json={"scores": {"need": 40}, "summary": "x", "submit": False})
        assert old.status_code == 422
        response = client.put(f"/api/v1/assignments/{assignment.id}/review", headers=headers, json={
            "scores": {"results": results, "learning": learning}, "comments": {"results": "Pierādīts."},
            "summary": "Posma rezultāti.", "submit": True})
        assert response.status_code == 200, response.get_json()


# --- grants after award, through the services ------------------------------------------------------

GRANT_START, GRANT_MIDDLE, GRANT_END = "2025-01-01", "2025-04-30", "2025-06-30"
GRANT_REPORTS = [{"kind": "progress", "period_end": GRANT_MIDDLE, "due_on": "2025-05-20"},
                 {"kind": "final", "period_end": GRANT_END, "due_on": "2025-07-30"}]
GRANT_SCHEDULE = [{"kind": "advance", "amount": "2000.00", "due_on": "2025-01-10"},
                  {"kind": "interim", "amount": "1500.00", "due_on": "2025-05-30"},
                  {"kind": "final", "amount": "500.00", "due_on": "2025-08-15"}]


def signed_pdf():
    """The signed agreement's scan, as an upload."""
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(pdf_bytes()), filename="ligums.pdf")


def signed_grant(people, *, amount="4000.00", schedule=None, reports=None, call=None, contracted_only=False):
    """An approved award of 4000 EUR with a signed agreement (1 January to 30 June 2025, a progress and a final
    report, advance 2000 / interim 1500 / final 500), in implementation: through the services and the engine.
    ``people`` holds an officer and a committee member."""
    from grants.grants_mgmt import agreements
    from grants.workflows.engine import fire

    call = call or make_evaluation_call(workflow_version=4)
    application = approved(call, people["officer"], people["committee"], amount=amount)
    agreements.save_agreement(application, people["officer"], {
        "start_date": GRANT_START, "end_date": GRANT_END, "reports": reports or GRANT_REPORTS,
        "schedule": schedule or GRANT_SCHEDULE}, today=today())
    agreements.attach_signed_file(application, people["officer"], signed_pdf())
    fire(application, "sign_contract", people["officer"])
    if not contracted_only:
        fire(application, "start_implementation", people["officer"])
    return application
