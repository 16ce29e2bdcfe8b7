"""The rules of the grant phase at their boundaries: the schedule's sum, separation of duties, money
following accepted reports, irregularities, overdue reports (and the eligibility check they feed),
retention."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.core.db import today
from grants.core.errors import TransitionNotAllowed, UserInputError
from grants.eligibility.models import Outcome
from grants.eligibility.rules import validate_ruleset
from grants.eligibility.services import check_application
from grants.grants_mgmt import agreements, irregularities, payments, reports
from grants.grants_mgmt.files import remove_file
from grants.grants_mgmt.listings import grant_records, overdue_reports
from grants.grants_mgmt.models import GrantFile, Payment, PaymentKind
from grants.grants_mgmt.retention import RetentionHold, retention_of
from grants.workflows.engine import fire
from tests.factories import (
    GRANT_END,
    GRANT_MIDDLE,
    GRANT_REPORTS,
    GRANT_SCHEDULE,
    GRANT_START,
    approved,
    bearer,
    make_application,
    make_evaluation_call,
    make_user,
    member_of,
    signed_grant,
    signed_pdf,
)


@pytest.fixture
def people(app):
    return {"officer": make_user("officer"), "committee": make_user("committee"),
            "finance1": make_user("finance"), "finance2": make_user("finance")}


START = date.fromisoformat(GRANT_START)
MIDDLE = date.fromisoformat(GRANT_MIDDLE)
END = date.fromisoformat(GRANT_END)
REPORTS, SCHEDULE = GRANT_REPORTS, GRANT_SCHEDULE


def _upload():
    return signed_pdf()


def signed(people, *, reports_=None, **kwargs):
    """An approved award with a signed agreement, in implementation (tests.factories.signed_grant)."""
    return signed_grant(people, reports=reports_, **kwargs)


def schedule_of(application) -> dict[str, Payment]:
    return {p.kind.value: p for p in payments.payments_of(application)}


def pay(payment, people, paid_on=None):
    payments.act_on_payment(payment, "request", people["officer"], today=today())
    payments.act_on_payment(payment, "verify", people["finance1"], today=today())
    payments.act_on_payment(payment, "pay", people["finance2"], today=today(), paid_on=paid_on)


def accepted_report(application, people, kind, period_end, **content):
    report = reports.create_report(application, member_of(application), {
        "kind": kind, "period_end": period_end, "narrative": "Paveikts.",
        "expenditure": [{"category": "staff", "amount": "100.00"}], **content})
    reports.act_on_report(report, "submit", member_of(application))
    reports.act_on_report(report, "accept", people["officer"])
    return report


def reason_codes(refused: TransitionNotAllowed) -> list[str]:
    return [reason["code"] for reason in refused.reasons]


# --- the schedule adds up to the award ----------------------------------------------------------------

def test_the_schedule_must_add_up_to_the_award_exactly(app, session, people):
    application = approved(make_evaluation_call(workflow_version=4), people["officer"], people["committee"],
                           amount="4000.00")
    one_cent_short = [{"kind": "advance", "amount": "3999.99", "due_on": "2025-01-10"}]
    with pytest.raises(UserInputError) as refused:
        agreements.save_agreement(application, people["officer"], {
            "start_date": "2025-01-01", "end_date": "2025-06-30", "schedule": one_cent_short}, today=today())
    assert "schedule" in refused.value.fields
    one_cent_over = [{"kind": "advance", "amount": "4000.01", "due_on": "2025-01-10"}]
    with pytest.raises(UserInputError):
        agreements.save_agreement(application, people["officer"], {
            "start_date": "2025-01-01", "end_date": "2025-06-30", "schedule": one_cent_over}, today=today())
    exact = [{"kind": "advance", "amount": "4000.00", "due_on": "2025-01-10"}]
    agreement = agreements.save_agreement(application, people["officer"], {
        "start_date": "2025-01-01", "end_date": "2025-06-30", "schedule": exact}, today=today())
    assert payments.scheduled_total(application) == agreement.awarded_amount == Decimal("4000.00")


def test_planning_an_instalment_stops_at_the_award(app, session, people):
    application = approved(make_evaluation_call(workflow_version=4), people["officer"], people["committee"],
                           amount="4000.00")
    agreements.save_agreement(application, people["officer"], {
        "start_date": "2025-01-01", "end_date": "2025-06-30",
        "schedule": [{"kind": "advance", "amount": "3000.00", "due_on": "2025-01-10"},
                     {"kind": "final", "amount": "1000.00", "due_on": "2025-07-10"}]}, today=today())
    payments.act_on_payment(schedule_of(application)["final"], "reject", people["officer"], today=today(),
                            comment="Pārplānojam.")
    assert payments.scheduled_total(application) == Decimal("3000.00")
    with pytest.raises(UserInputError) as refused:
        payments.plan_payment(application, people["officer"], {"kind": "final", "amount": "1000.01",
                                                               "due_on": "2025-07-01"})
    assert "amount" in refused.value.fields
    payments.plan_payment(application, people["officer"], {"kind": "final", "amount": "1000.00",
                                                           "due_on": "2025-07-01"})
    assert payments.scheduled_total(application) == Decimal("4000.00")
    with pytest.raises(UserInputError):
        payments.plan_payment(application, people["officer"], {"kind": "tranche", "amount": "1",
                                                               "due_on": "2025-07-01"})


def test_the_default_agreement_proposes_reports_and_a_schedule_that_add_up(app, session, people):
    application = approved(make_evaluation_call(workflow_version=4), people["officer"], people["committee"],
                           amount="3333.33", duration_months=12)
    agreements.save_agreement(application, people["officer"], {}, today=date(2026, 3, 15))
    agreement = agreements.agreement_of(application)
    assert (agreement.start_date, agreement.end_date) == (date(2026, 4, 1), date(2027, 3, 31))
    assert [due.kind.value for due in agreements.dues_of(application)] == ["progress", "final"]
    assert [p.kind.value for p in payments.payments_of(application)] == ["advance", "interim", "final"]
    assert payments.scheduled_total(application) == Decimal("3333.33")
    assert [code for code, _message in agreements.problems(application)] == ["signed_file_missing"]


# --- separation of duties ------------------------------------------------------------------------------

def test_the_verifier_never_pays_and_neither_does_an_evaluator_a_decider_or_the_grantee(app, session, people):
    application = signed(people)
    advance = schedule_of(application)["advance"]
    payments.act_on_payment(advance, "request", people["officer"], today=today())
    payments.act_on_payment(advance, "verify", people["finance1"], today=today())
    with pytest.raises(TransitionNotAllowed) as same:
        payments.act_on_payment(advance, "pay", people["finance1"], today=today())
    assert reason_codes(same.value) == ["separation_of_duties"]
    # The committee member who decided it, holding the finance role too.
    people["committee"].roles.append(make_user("finance").roles[0])
    with pytest.raises(TransitionNotAllowed) as decider:
        payments.act_on_payment(advance, "pay", people["committee"], today=today())
    assert reason_codes(decider.value) == ["separation_of_duties"]
    from grants.evaluations.models import Assignment

    evaluator = session.scalars(sa.select(Assignment).where(Assignment.application_id == application.id)).first()
    evaluator = evaluator.evaluator
    evaluator.roles.append(people["finance2"].roles[0])
    with pytest.raises(TransitionNotAllowed) as evaluated:
        payments.act_on_payment(advance, "pay", evaluator, today=today())
    assert reason_codes(evaluated.value) == ["separation_of_duties"]
    grantee = member_of(application)
    grantee.roles.append(people["finance2"].roles[0])
    with pytest.raises(TransitionNotAllowed):
        payments.act_on_payment(advance, "pay", grantee, today=today())
    payments.act_on_payment(advance, "pay", people["finance2"], today=today())
    assert advance.state == "paid" and advance.paid_by_id == people["finance2"].id
    # The database holds the rule too.
    advance.paid_by_id = advance.verified_by_id
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()
    session.rollback()


def test_what_is_paid_never_exceeds_the_award(app, session, people):
    application = signed(people, schedule=[{"kind": "advance", "amount": "4000.00", "due_on": "2025-01-10"}])
    advance = schedule_of(application)["advance"]
    pay(advance, people)
    # A payment outside the schedule's rules (written directly, as a bad import would) is still refused.
    extra = Payment(application_id=application.id, kind=PaymentKind.ADVANCE, si_stage=application.si_stage,
                    amount=Decimal("0.01"), due_on=today())
    session.add(extra)
    session.flush()
    payments.act_on_payment(extra, "request", people["officer"], today=today())
    payments.act_on_payment(extra, "verify", people["finance1"], today=today())
    with pytest.raises(TransitionNotAllowed) as refused:
        payments.act_on_payment(extra, "pay", people["finance2"], today=today())
    assert reason_codes(refused.value) == ["over_award"]


def test_a_payment_date_in_the_future_is_refused(app, session, people):
    application = signed(people)
    advance = schedule_of(application)["advance"]
    payments.act_on_payment(advance, "request", people["officer"], today=today())
    payments.act_on_payment(advance, "verify", people["finance1"], today=today())
    with pytest.raises(UserInputError) as refused:
        payments.act_on_payment(advance, "pay", people["finance2"], today=today(),
                                paid_on=today() + timedelta(days=1))
    assert "paid_on" in refused.value.fields
    assert advance.state == "verified"


# --- money follows accepted reports ----------------------------------------------------------------------

def test_interim_payments_need_an_accepted_progress_report_ending_by_their_due_date(app, session, people):
    reports_ = [{"kind": "progress", "period_end": "2025-05-30", "due_on": "2025-06-10"},
                {"kind": "final", "period_end": END.isoformat(), "due_on": "2025-07-30"}]
    application = signed(people, reports_=reports_)
    interim = schedule_of(application)["interim"]  # due 2025-05-30
    with pytest.raises(TransitionNotAllowed) as refused:
        payments.act_on_payment(interim, "request", people["officer"], today=today())
    assert reason_codes(refused.value) == ["report_missing"]
    report = reports.create_report(application, member_of(application), {"kind": "progress",
                                                                       "period_end": "2025-05-30",
                                                                       "narrative": "Darīts."})
    reports.act_on_report(report, "submit", member_of(application))
    with pytest.raises(TransitionNotAllowed):  # submitted is not enough: accepted
        payments.act_on_payment(interim, "request", people["officer"], today=today())
    reports.act_on_report(report, "accept", people["officer"])
    pay(interim, people)  # the period ends on the payment's due date exactly
    assert interim.state == "paid"


def test_a_progress_report_ending_after_the_interim_due_date_does_not_count(app, session, people):
    reports_ = [{"kind": "progress", "period_end": "2025-05-31", "due_on": "2025-06-10"},
                {"kind": "final", "period_end": END.isoformat(), "due_on": "2025-07-30"}]
    application = signed(people, reports_=reports_)
    interim = schedule_of(application)["interim"]  # due 2025-05-30, one day before the period ends
    accepted_report(application, people, "progress", "2025-05-31")
    with pytest.raises(TransitionNotAllowed) as refused:
        payments.act_on_payment(interim, "request", people["officer"], today=today())
    assert reason_codes(refused.value) == ["report_missing"]


def test_the_final_payment_needs_the_accepted_final_report(app, session, people):
    application = signed(people)
    final = schedule_of(application)["final"]
    with pytest.raises(TransitionNotAllowed) as refused:
        payments.act_on_payment(final, "request", people["officer"], today=today())
    assert reason_codes(refused.value) == ["report_missing"]
    accepted_report(application, people, "final", END.isoformat())
    assert application.state == "final_report_accepted"
    payments.act_on_payment(final, "request", people["officer"], today=today())
    assert final.state == "requested"


def test_a_grant_paid_in_full_in_advance_completes_when_its_final_report_is_accepted(app, session, people):
    application = signed(people, schedule=[{"kind": "advance", "amount": "4000.00", "due_on": "2025-01-10"}])
    pay(schedule_of(application)["advance"], people)
    accepted_report(application, people, "final", END.isoformat())
    assert application.state == "completed"


# --- reports ---------------------------------------------------------------------------------------------

def test_reports_are_checked_and_returned_with_comments(app, session, people):
    application = signed(people)
    grantee = member_of(application)
    with pytest.raises(UserInputError) as unknown_period:
        reports.create_report(application, grantee, {"kind": "progress", "period_end": "2025-04-29"})
    assert "period_end" in unknown_period.value.fields
    with pytest.raises(UserInputError) as bad:
        reports.create_report(application, grantee, {
            "kind": "progress", "period_end": MIDDLE.isoformat(), "indicators": {"nonexistent": 3},
            "expenditure": [{"category": "yachts", "amount": "10.00"},
                            {"category": "staff", "amount": "10.00", "co_financing": "10.01"}]})
    assert set(bad.value.fields) == {"indicators.nonexistent", "expenditure.0.category", "expenditure.1.co_financing"}
    report = reports.create_report(application, grantee, {"kind": "progress", "period_end": MIDDLE.isoformat()})
    with pytest.raises(TransitionNotAllowed) as incomplete:
        reports.act_on_report(report, "submit", grantee)
    assert reason_codes(incomplete.value) == ["report_incomplete"]
    reports.update_report(report, grantee, {"narrative": "Notika trīs darbnīcas."}, report.version)
    reports.act_on_report(report, "submit", grantee)
    assert report.content_hash and report.state == "submitted"
    with pytest.raises(TransitionNotAllowed) as no_comment:
        reports.act_on_report(report, "request_changes", people["officer"])
    assert reason_codes(no_comment.value) == ["comment_required"]
    reports.act_on_report(report, "request_changes", people["officer"], comment="Pievienojiet dalībnieku sarakstu.")
    assert report.state == "changes_requested"
    from grants.notifications.models import OutboxMessage

    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "report_returned", OutboxMessage.body.contains("dalībnieku sarakstu"))) == 1


def test_a_returned_final_report_puts_the_grant_back_in_implementation(app, session, people):
    application = signed(people)
    grantee = member_of(application)
    report = reports.create_report(application, grantee, {"kind": "final", "period_end": END.isoformat(),
                                                          "narrative": "Beigas.",
                                                          "expenditure": [{"category": "staff", "amount": "5"}]})
    reports.act_on_report(report, "submit", grantee)
    assert application.state == "final_report_submitted"
    reports.act_on_report(report, "request_changes", people["officer"], comment="Trūkst izdevumu.")
    assert application.state == "in_implementation"
    reports.act_on_report(report, "submit", grantee)
    assert application.state == "final_report_submitted"


# --- irregularities ---------------------------------------------------------------------------------------

def test_a_confirmed_irregularity_stops_payments_until_recovered(app, session, people):
    application = signed(people)
    advance = schedule_of(application)["advance"]
    irregularity = irregularities.record_irregularity(application, people["officer"], {
        "amount": "300.00", "description": "Dubults rēķins.", "detected_on": today().isoformat()}, today=today())
    payments.act_on_payment(advance, "request", people["officer"], today=today())  # only suspected: goes on
    irregularities.act_on_irregularity(irregularity, "confirm", people["officer"], comment="Apstiprināts.")
    with pytest.raises(TransitionNotAllowed) as blocked:
        payments.act_on_payment(advance, "verify", people["finance1"], today=today())
    assert reason_codes(blocked.value) == ["irregularity"]
    with pytest.raises(UserInputError):
        irregularities.issue_recovery_order(irregularity, people["officer"], {
            "amount": "300.01", "due_on": "2099-01-01"}, today=today())
    order = irregularities.issue_recovery_order(irregularity, people["officer"], {
        "amount": "300.00", "due_on": "2099-01-01"}, today=today())
    irregularities.record_recovery(order, people["finance1"], {"amount": "299.99"}, today=today())
    with pytest.raises(TransitionNotAllowed) as partly:
        irregularities.act_on_irregularity(irregularity, "recover", people["officer"])
    assert reason_codes(partly.value) == ["not_recovered"]
    with pytest.raises(UserInputError):
        irregularities.record_recovery(order, people["finance1"], {"amount": "0.02"}, today=today())
    irregularities.record_recovery(order, people["finance1"], {"amount": "0.01"}, today=today())
    irregularities.act_on_irregularity(irregularity, "recover", people["officer"])
    payments.act_on_payment(advance, "verify", people["finance1"], today=today())
    assert advance.state == "verified"


# --- overdue reports and the eligibility check they feed --------------------------------------------------

def _overdue_rule():
    return validate_ruleset([{"code": "record", "severity": "blocking", "title_lv": "Nav parādu",
                              "title_en": "No debts", "message_lv": "Parādi: {overdue} {irregularities}",
                              "message_en": "Debts: {overdue} {irregularities}", "check": "no_overdue_reports"}])


def test_a_report_is_overdue_the_day_after_its_due_date_until_delivered(app, session, people):
    application = signed(people)
    due = date(2025, 5, 20)  # the progress report
    organisation = application.organisation_id
    assert not grant_records({organisation}, due).get(organisation, None) or \
        not grant_records({organisation}, due)[organisation].overdue_reports
    late = grant_records({organisation}, due + timedelta(days=1))[organisation].overdue_reports
    assert [(app_id, day) for app_id, _code, day in late] == [(application.id, due)]
    assert [row.application_id for row in overdue_reports(due + timedelta(days=1))] == [application.id]
    later = make_application(application.call, application.organisation, state="draft")
    [result] = check_application(later, rules=_overdue_rule(), on=due + timedelta(days=1))
    assert result.outcome == Outcome.FAIL and f"#{application.id}" in result.inputs["overdue"]
    report = reports.create_report(application, member_of(application), {"kind": "progress",
                                                                       "period_end": MIDDLE.isoformat(),
                                                                       "narrative": "Vēlu, bet ir."})
    reports.act_on_report(report, "submit", member_of(application))
    [delivered] = check_application(later, rules=_overdue_rule(), on=due + timedelta(days=1))
    assert delivered.outcome == Outcome.PASS


def test_open_irregularities_count_against_later_applications(app, session, people):
    application = signed(people, reports_=[{"kind": "final", "period_end": END.isoformat(), "due_on": "2099-01-01"}],
                         schedule=[{"kind": "advance", "amount": "4000.00", "due_on": "2025-01-10"}])
    later = make_application(application.call, application.organisation, state="draft")
    irregularity = irregularities.record_irregularity(application, people["officer"], {
        "amount": "50.00", "description": "Neattiecināmi izdevumi.", "detected_on": today().isoformat()},
        today=today())
    [suspected] = check_application(later, rules=_overdue_rule(), on=today())
    assert suspected.outcome == Outcome.PASS
    irregularities.act_on_irregularity(irregularity, "confirm", people["officer"], comment="Jā.")
    [confirmed] = check_application(later, rules=_overdue_rule(), on=today())
    assert confirmed.outcome == Outcome.FAIL and "50.00 EUR" in confirmed.inputs["irregularities"]
    irregularities.act_on_irregularity(irregularity, "write_off", people["officer"], comment="Sīkums.")
    [written_off] = check_application(later, rules=_overdue_rule(), on=today())
    assert written_off.outcome == Outcome.PASS


# --- retention ---------------------------------------------------------------------------------------------

def test_retention_runs_five_years_from_the_end_of_the_last_payment_year(app, session, people):
    application = signed(people, schedule=[{"kind": "advance", "amount": "4000.00", "due_on": "2025-01-10"}])
    provisional = retention_of(application)
    assert provisional.provisional and provisional.keep_until == date(2030, 12, 31)  # from the agreement's end
    pay(schedule_of(application)["advance"], people, paid_on=date(2025, 12, 31))
    accepted_report(application, people, "final", END.isoformat())
    assert application.state == "completed"
    kept = retention_of(application)
    assert not kept.provisional and kept.keep_until == date(2030, 12, 31) and kept.years == 5


def test_de_minimis_grants_are_kept_ten_years(app, session, people):
    from grants.eligibility.presets import demo_ruleset

    call = make_evaluation_call(workflow_version=4, eligibility_rules=validate_ruleset(
        [rule for rule in demo_ruleset() if rule["code"] == "de_minimis"]))
    application = signed(people, call=call, schedule=[{"kind": "advance", "amount": "4000.00",
                                                       "due_on": "2025-01-10"}])
    from grants.eligibility.models import DeMinimisAid

    aid = session.scalars(sa.select(DeMinimisAid).where(DeMinimisAid.application_id == application.id)).one()
    assert aid.amount == Decimal("4000.00")  # the agreement's amount, not the requested 5000
    pay(schedule_of(application)["advance"], people, paid_on=date(2026, 1, 5))
    assert retention_of(application).keep_until == date(2036, 12, 31)


def test_nothing_of_a_signed_grant_is_deleted_before_its_date(app, client, session, people):
    application = signed(people)
    agreement = agreements.agreement_of(application)
    scan = agreement.signed_file
    response = client.delete(f"/api/v1/grant-files/{scan.id}", headers=bearer(people["officer"]))
    assert response.status_code == 409 and response.get_json()["error"] == "retention_period"
    assert "2030" in response.get_json()["message"]
    for record in (scan, schedule_of(application)["advance"], agreement, application):
        with pytest.raises(RetentionHold), session.begin_nested():
            session.delete(record)
            session.flush()
    # A draft report's file may be taken back (it is not yet part of the record).
    grantee = member_of(application)
    report = reports.create_report(application, grantee, {"kind": "progress", "period_end": MIDDLE.isoformat()})
    evidence = reports.attach_file(report, grantee, _upload())
    remove_file(evidence, application, grantee)
    assert session.get(GrantFile, evidence.id).removed_at is not None


def test_terminating_a_grant_rejects_its_open_payments(app, session, people):
    application = signed(people)
    pay(schedule_of(application)["advance"], people)
    fire(application, "terminate", people["officer"], comment="Līgums lauzts.")
    assert {p.kind.value: p.state for p in payments.payments_of(application)} == {
        "advance": "paid", "interim": "rejected", "final": "rejected"}


def test_sign_contract_is_refused_until_the_agreement_is_complete(app, session, people):
    application = approved(make_evaluation_call(workflow_version=4), people["officer"], people["committee"])
    with pytest.raises(TransitionNotAllowed) as nothing:
        fire(application, "sign_contract", people["officer"])
    assert reason_codes(nothing.value) == ["agreement_missing"]
    agreements.save_agreement(application, people["officer"], {"start_date": "2025-01-01",
                                                               "end_date": "2025-06-30"}, today=today())
    with pytest.raises(TransitionNotAllowed) as unsigned:
        fire(application, "sign_contract", people["officer"])
    assert reason_codes(unsigned.value) == ["signed_file_missing"]
    # Someone took an instalment out of the schedule behind the page's back: refused too.
    first = payments.payments_of(application)[0]
    session.delete(first)
    session.flush()
    agreements.attach_signed_file(application, people["officer"], _upload())
    with pytest.raises(TransitionNotAllowed) as short:
        fire(application, "sign_contract", people["officer"])
    assert reason_codes(short.value) == ["payment_schedule"]
