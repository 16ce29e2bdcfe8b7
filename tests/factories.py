"""Test data, made through the same services the application uses."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from grants.calls.models import Call, CallStage, CallStatus, Programme
from grants.core.codes import FundSource, LegalForm, Region
from grants.core.db import db, utcnow
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
    import sqlalchemy as sa

    from grants.decisions.services import decide
    from grants.evaluations.models import Assignment
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
