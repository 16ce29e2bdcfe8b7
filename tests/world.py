"""A seeded world for the tests that walk the whole API or every route (tests/test_fuzz_api.py,
tests/test_authorization_matrix.py): the demo (grants.demo), plus one of each object the demo does not
make, so that every id a URL can hold names something real.

``applicant@demo.lv`` is the owner of the objects named here; ``applicant2@demo.lv`` the other applicant.
``evaluator1@demo.lv`` is assigned to the owner's evaluated application and to the stage-gated grant and has
declared no conflict (the selection's reviews are in); ``evaluator4@demo.lv`` is assigned to neither.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from grants.applications.attachments import add_attachment, keep_if_committed, receive_upload
from grants.applications.models import Application
from grants.audit import verifications
from grants.calls.models import Call, CallStatus, Programme
from grants.core.db import db, today
from grants.demo import DEMO_GRANT, DEMO_STAGE_GATED, load_demo
from grants.evaluations.models import Assignment
from grants.evaluations.services import declare_relation
from grants.exports import services as exports
from grants.grants_mgmt import irregularities
from grants.grants_mgmt.models import FilePurpose, GrantFile, GrantReport, Payment
from grants.notifications.services import queue_message
from grants.users.models import Notice, User
from tests.factories import make_call, pdf_bytes

#: The people of the world, by the name the tests give their role.
PEOPLE = {
    "owner": "applicant@demo.lv",
    "other_applicant": "applicant2@demo.lv",
    "evaluator": "evaluator1@demo.lv",
    "other_evaluator": "evaluator4@demo.lv",
    "officer": "officer@demo.lv",
    "committee": "committee@demo.lv",
    "finance": "finance@demo.lv",
    "auditor": "auditor@demo.lv",
    "admin": "admin@demo.lv",
}


@dataclass(repr=False)
class World:
    people: dict[str, User]
    #: Ids of the objects, by name (``draft``, ``grant``, ``payment``…).
    ids: dict[str, int | str] = field(default_factory=dict)


def _one(query):
    return db.session.execute(query).unique().scalar_one()


def _report_file(report: GrantReport, owner: User) -> GrantFile:
    """Evidence of the accepted report, as the grantee attached it while it was a draft."""
    received = receive_upload(FileStorage(stream=io.BytesIO(pdf_bytes()), filename="dalibnieki.pdf"))
    stored = GrantFile(application_id=report.application_id, purpose=FilePurpose.REPORT, report_id=report.id,
                       filename=received.filename, content_type=received.content_type, size=received.size,
                       sha256=received.sha256, storage_key=received.storage_key, uploaded_by_id=owner.id)
    db.session.add(stored)
    db.session.flush()
    keep_if_committed(received)
    return stored


def build_world() -> World:
    """The demo and the objects around it, flushed in the caller's transaction."""
    load_demo()
    people = {role: _one(sa.select(User).where(User.email == email)) for role, email in PEOPLE.items()}
    owner, officer = people["owner"], people["officer"]
    applications = {a.title: a for a in db.session.scalars(sa.select(Application)).unique()}
    draft = _one(sa.select(Application).where(Application.state == "draft",
                                              Application.organisation_id == owner.organisations[0].id))
    grant = applications[DEMO_STAGE_GATED]  # the owner's: stage gate under review, evaluator1 assigned
    running = applications[DEMO_GRANT]  # the other applicant's: running, a progress report submitted
    evaluated = _one(sa.select(Application).where(Application.state == "evaluated",
                                                  Application.organisation_id == grant.organisation_id))
    screening = _one(sa.select(Application).where(Application.state == "eligibility_review"))
    ids = {"draft": draft.id, "grant": grant.id, "running_grant": running.id, "evaluated": evaluated.id,
           "eligibility_review": screening.id, "organisation": grant.organisation_id,
           "other_organisation": running.organisation_id, "initiative": grant.initiative_id,
           "programme": _one(sa.select(Programme.id)), "open_call": draft.call_id, "closed_call": evaluated.call_id,
           "gated_call": grant.call_id}
    open_call = db.session.get(Call, ids["open_call"])
    ids["rule_code"] = open_call.eligibility_rules[0]["code"]
    ids["draft_call"] = make_call(db.session.get(Programme, ids["programme"]), status=CallStatus.DRAFT,
                                  eligibility_rules=list(open_call.eligibility_rules)).id
    ids["assignment"] = _one(sa.select(Assignment.id).where(
        Assignment.application_id == evaluated.id, Assignment.evaluator_id == people["evaluator"].id,
        sa.func.coalesce(Assignment.gate_stage, "") == ""))
    ids["gate_assignment"] = _one(sa.select(Assignment.id).where(
        Assignment.application_id == grant.id, Assignment.evaluator_id == people["evaluator"].id,
        sa.func.coalesce(Assignment.gate_stage, "") != ""))
    ids["payment"] = db.session.scalars(sa.select(Payment.id).where(Payment.application_id == grant.id)
                                        .order_by(Payment.id)).first()
    ids["report"] = _one(sa.select(GrantReport.id).where(GrantReport.application_id == grant.id))
    ids["running_report"] = _one(sa.select(GrantReport.id).where(GrantReport.application_id == running.id))
    ids["grant_file"] = _one(sa.select(GrantFile.id).where(GrantFile.application_id == grant.id))
    ids["report_file"] = _report_file(db.session.get(GrantReport, ids["report"]), owner).id
    ids["attachment"] = add_attachment(draft, owner, FileStorage(stream=io.BytesIO(pdf_bytes()),
                                                                 filename="budzets.pdf")).id
    on = today()
    ids["irregularity"] = irregularities.record_irregularity(grant, officer, {
        "amount": "100.00", "description": "Rēķins bez pamatojuma.", "detected_on": on.isoformat()}, today=on).id
    confirmed = irregularities.record_irregularity(running, officer, {
        "amount": "50.00", "description": "Dubults rēķins.", "detected_on": on.isoformat()}, today=on)
    irregularities.act_on_irregularity(confirmed, "confirm", officer, comment="Apstiprināts.")
    ids["recovery_order"] = irregularities.issue_recovery_order(confirmed, officer, {
        "amount": "50.00", "due_on": date(on.year + 1, 1, 31).isoformat()}, today=on).id
    ids["relation"] = declare_relation(people["evaluator"], ids["other_organisation"], "Valdes loceklis.").id
    export = exports.request_export(officer, "applications", "csv", {})
    exports.run_export(export.id)
    ids["export"] = export.id
    run, _new = verifications.request_verification(people["auditor"], "api")
    ids["verification"] = run.id
    queue_message("test", owner, "Paziņojums", "Teksts.", language="lv")  # its in-app copy: the owner's notice
    ids["notice"] = _one(sa.select(sa.func.max(Notice.id)).where(Notice.user_id == owner.id))
    db.session.flush()
    return World(people=people, ids=ids)
