"""Evaluation (DESIGN §6): the pool, conflicts, assignment, declarations, reviews, consolidation.

Every state change of an assignment goes through the ``assignment`` workflow (grants.workflows),
every other change writes its audit event here, in the caller's transaction. Nothing commits.

Assignment picks, for each application that needs evaluators, the pool members with the
fewest open assignments (across all calls), then the fewest in this call, then the lowest id;
never a member of the applicant organisation, never one who declared a relation with it, never
one already assigned to it (whatever became of that assignment).

Consolidation, once every assignment of an application is done and at least the required
number of reviews (two by default) are in: if the totals differ by more than the discrepancy
share (30 % by default) of the higher one, a third evaluator is assigned and the application
waits; the final score is then the average of the two closest totals (of two equally close
pairs, the higher pair); otherwise the average of the totals. Per-criterion points are averaged
over the same reviews; a criterion below its minimum, or a total below the threshold, fails.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.applications.models import Application
from grants.applications.services import next_award_stage
from grants.audit.changes import changes
from grants.audit.services import record_event
from grants.calls.models import Call, CallStatus
from grants.core.db import content_hash, db, utcnow
from grants.core.errors import Conflict, NotFound, PermissionDenied, UserInputError
from grants.core.roles import RoleCode
from grants.evaluations.models import (
    ACTIVE_STATES,
    OPEN_STATES,
    Assignment,
    EvaluationResult,
    PoolMember,
    Relation,
    Review,
)
from grants.evaluations.rubrics import Rubric, decimal, plain_number, rubric_for, two_places, validate_rubric
from grants.organisations.models import Membership, Organisation
from grants.users.models import Role as RoleRow
from grants.users.models import User, user_roles
from grants.workflows.definitions import SYSTEM
from grants.workflows.engine import fire

#: The state an application is scored in (the selection round).
EVALUATION_STATE = "in_evaluation"
#: The state a stage-gated award's results are scored in (the stage gate round).
GATE_STATE = "gate_review"
#: Both, for lists of applications with evaluation work.
ROUND_STATES = (EVALUATION_STATE, GATE_STATE)
#: What an evaluator signs when declaring no conflict without writing their own words.
STANDARD_DECLARATION = _l("I declare that I have no conflict of interest with this application, its applicant or "
                          "its partners, and that I will keep its content confidential.")


class ReviewLocked(Conflict):
    code = "review_locked"

    def __init__(self) -> None:
        super().__init__(_("The review has been submitted and is locked. An officer can return it for correction."))


def evaluation_round(application: Application) -> str | None:
    """The evaluation round the application is in: ``""`` for the selection (in evaluation), the SI
    stage a stage gate opens while its gate review runs, None when it is not being scored."""
    if application.state == EVALUATION_STATE:
        return ""
    if application.state == GATE_STATE:
        return next_award_stage(application)
    return None


#: What a stage gate judges: the content hash of the stage's accepted final report, given by the
#: domain that keeps the reports (grants.grants_mgmt registers it; it sits above evaluation).
_gate_evidence: list[Callable[[Application], str | None]] = []


def register_gate_evidence(provider: Callable[[Application], str | None]) -> None:
    if _gate_evidence:
        raise ValueError("the evidence of stage gates is registered twice")
    _gate_evidence.append(provider)


def gate_evidence_hash(application: Application) -> str | None:
    """The hash of what the stage gate of ``application`` judges (None when nothing is registered or
    there is no accepted final report)."""
    return _gate_evidence[0](application) if _gate_evidence else None


def _staff_role(actor) -> str:
    """The role an officer-side change is recorded under: officer, else admin; the system for None."""
    if actor is None:
        return SYSTEM
    return RoleCode.OFFICER if actor.has_role(RoleCode.OFFICER) else RoleCode.ADMIN


# --- the rubric ---------------------------------------------------------------------------------------

class RubricNotEditable(Conflict):
    """The call is published: its rubric is frozen with it (409 ``not_editable``)."""

    code = "not_editable"

    def __init__(self) -> None:
        super().__init__(_("The call is published: its rubric is frozen with it and can no longer be changed."))


def rubric_hash(call: Call) -> str:
    """SHA-256 of the call's rubric as stored: the editor posts it back to notice a stale edit."""
    return content_hash({"rubric": call.rubric or {}})


def is_rubric_editable(call: Call) -> bool:
    return call.status == CallStatus.DRAFT


def update_rubric(call: Call, actor, data: Any, expected_hash: str | None = None) -> Call:
    """Replace a draft call's rubric, validated (:class:`RubricError` names each field) and audited
    (``call.rubric_update`` with the changed parts); refused when the call is published (409
    ``not_editable``) or when the rubric changed since ``expected_hash`` was read (409). Flushes."""
    db.session.flush()
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update())
    db.session.refresh(call)
    if not is_rubric_editable(call):
        raise RubricNotEditable()
    if expected_hash is not None and expected_hash != rubric_hash(call):
        raise Conflict(_("Someone else changed this rubric in the meantime. Your change was not saved: "
                         "look at the rubric as it is now and make it again."))
    clean = validate_rubric(data, stage_codes=call.stage_codes)
    before = dict(call.rubric or {})
    changed = changes(before, clean)
    changed.update({key: [before[key], None] for key in before if key not in clean})
    call.rubric = clean
    db.session.flush()
    if changed:
        record_event(action="call.rubric_update", object_type="call", object_id=call.id, actor=actor,
                     role=_staff_role(actor), payload={"changes": changed})
    return call


# --- pool and relations -----------------------------------------------------------------------------

def evaluators() -> list[User]:
    """Every active user holding the evaluator role, by name."""
    return list(db.session.scalars(
        sa.select(User).join(user_roles, user_roles.c.user_id == User.id)
        .join(RoleRow, RoleRow.id == user_roles.c.role_id)
        .where(RoleRow.code == RoleCode.EVALUATOR).order_by(User.name, User.id)))


def pool_of(call: Call) -> list[PoolMember]:
    return list(db.session.scalars(sa.select(PoolMember).where(PoolMember.call_id == call.id)
                                   .order_by(PoolMember.id)).unique())


def add_to_pool(call: Call, user: User, actor) -> PoolMember:
    if not user.has_role(RoleCode.EVALUATOR):
        raise UserInputError(fields={"user_id": [_("Only evaluators can join a call's evaluator pool.")]})
    member = db.session.scalar(sa.select(PoolMember).where(PoolMember.call_id == call.id,
                                                           PoolMember.user_id == user.id))
    if member is not None:
        return member
    member = PoolMember(call_id=call.id, user_id=user.id, added_by_id=actor.id)
    db.session.add(member)
    db.session.flush()
    record_event(action="call.evaluator_added", object_type="call", object_id=call.id, actor=actor,
                 role=_staff_role(actor), payload={"evaluator_id": user.id, "evaluator": user.email})
    return member


def remove_from_pool(call: Call, user_id: int, actor) -> None:
    """Take an evaluator out of the pool; their open assignments stay until an officer reassigns them."""
    member = db.session.scalar(sa.select(PoolMember).where(PoolMember.call_id == call.id,
                                                           PoolMember.user_id == user_id))
    if member is None:
        raise NotFound()
    db.session.delete(member)
    db.session.flush()
    record_event(action="call.evaluator_removed", object_type="call", object_id=call.id, actor=actor,
                 role=_staff_role(actor), payload={"evaluator_id": user_id})


def relations_of(user: User) -> list[Relation]:
    return list(db.session.scalars(sa.select(Relation).where(Relation.user_id == user.id)
                                   .order_by(Relation.id)).unique())


def declare_relation(user: User, organisation_id: int | None, description: str,
                     registration_number: str | None = None, *, or_name: bool = False) -> Relation:
    """An evaluator's standing declaration: never assign me this organisation's applications. The
    organisation is given by id, or by registration number (a Latvian one first, should two
    countries share the number); with ``or_name`` (the page's one text input) the text may also be the
    organisation's full name (any case), if no other organisation has it."""
    description = (description or "").strip()
    errors: dict[str, list[str]] = {}
    number = (registration_number or "").strip()
    if number:
        organisation_id = db.session.scalar(
            sa.select(Organisation.id).where(Organisation.registration_number == number)
            .order_by(Organisation.country != "LV", Organisation.id).limit(1))
        if organisation_id is None and or_name:
            named = db.session.scalars(
                sa.select(Organisation.id).where(sa.func.lower(Organisation.name) == number.lower())
                .order_by(Organisation.id).limit(2)).all()
            if len(named) > 1:
                errors["registration_number"] = [_("Several organisations have this name: enter the "
                                                   "registration number.")]
            elif named:
                organisation_id = named[0]
            else:
                errors["registration_number"] = [_("No organisation with this registration number or name is "
                                                   "registered.")]
        elif organisation_id is None:
            errors["registration_number"] = [_("No organisation with this registration number is registered.")]
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None and not errors:
        errors["organisation_id"] = [_("Choose an organisation.")]
    if not description:
        errors["description"] = [_("Describe the relation (for example: board member, employee, relative).")]
    elif len(description) > 2000:
        errors["description"] = [_("At most 2000 characters.")]
    if errors:
        raise UserInputError(fields=errors)
    relation = db.session.scalar(sa.select(Relation).where(Relation.user_id == user.id,
                                                           Relation.organisation_id == organisation_id))
    if relation is None:
        relation = Relation(user_id=user.id, organisation_id=organisation_id, description=description)
        db.session.add(relation)
    else:
        relation.description = description
    db.session.flush()
    record_event(action="evaluator.relation_declared", object_type="user", object_id=user.id, actor=user,
                 role=RoleCode.EVALUATOR, payload={"organisation_id": organisation_id, "description": description})
    return relation


def remove_relation(user: User, relation_id: int) -> None:
    relation = db.session.get(Relation, relation_id)
    if relation is None or relation.user_id != user.id:
        raise NotFound()
    db.session.delete(relation)
    db.session.flush()
    record_event(action="evaluator.relation_removed", object_type="user", object_id=user.id, actor=user,
                 role=RoleCode.EVALUATOR, payload={"organisation_id": relation.organisation_id})


# --- assignment -------------------------------------------------------------------------------------

@dataclass
class AssignmentReport:
    """What an auto-assignment did: the assignments made and, per application, how many
    evaluators it still lacks because the pool has no one else free of conflicts."""

    created: list[Assignment] = field(default_factory=list)
    short: dict[int, int] = field(default_factory=dict)
    #: The applications it looked at: those being scored (of those asked for), except a stage gate with no
    #: further stage (which cannot be scored).
    considered: list[int] = field(default_factory=list)


class _Planner:
    """Who may evaluate what, loaded once for a set of applications (a fixed number of queries).

    ``rounds`` gives each application's evaluation round: what was assigned in another round (the
    selection, an earlier stage gate) neither counts nor excludes anyone in this one."""

    def __init__(self, call: Call, applications: list[Application], rounds: dict[int, str]):
        self.call = call
        self.pool = [member.user for member in pool_of(call) if member.user.is_active_account]
        ids = [user.id for user in self.pool]
        app_ids = [application.id for application in applications]
        self.taken: dict[int, set[int]] = defaultdict(set)  # application → evaluators ever assigned
        self.active: Counter[int] = Counter()  # application → assignments still counting
        if app_ids:
            for app_id, evaluator_id, state, gate_stage in db.session.execute(
                    sa.select(Assignment.application_id, Assignment.evaluator_id, Assignment.state,
                              Assignment.gate_stage)
                    .where(Assignment.application_id.in_(app_ids))):
                if gate_stage != rounds.get(app_id, ""):
                    continue
                self.taken[app_id].add(evaluator_id)
                if state in ACTIVE_STATES:
                    self.active[app_id] += 1
        self.conflicts: set[tuple[int, int]] = set()  # (evaluator, organisation)
        self.workload: Counter[int] = Counter()
        self.in_call: Counter[int] = Counter()
        if ids:
            self.conflicts.update((u, o) for u, o in db.session.execute(
                sa.select(Membership.user_id, Membership.organisation_id).where(Membership.user_id.in_(ids))).all())
            self.conflicts.update((u, o) for u, o in db.session.execute(
                sa.select(Relation.user_id, Relation.organisation_id).where(Relation.user_id.in_(ids))).all())
            for evaluator_id, call_id, count in db.session.execute(
                    sa.select(Assignment.evaluator_id, Assignment.call_id, sa.func.count())
                    .where(Assignment.evaluator_id.in_(ids), Assignment.state.in_(OPEN_STATES))
                    .group_by(Assignment.evaluator_id, Assignment.call_id)):
                self.workload[evaluator_id] += count
                if call_id == call.id:
                    self.in_call[evaluator_id] += count

    def eligible(self, application: Application) -> list[User]:
        """Pool members who may evaluate ``application``, least loaded first."""
        free = [user for user in self.pool if user.id not in self.taken[application.id]
                and (user.id, application.organisation_id) not in self.conflicts]
        return sorted(free, key=lambda user: (self.workload[user.id], self.in_call[user.id], user.id))

    def take(self, application: Application, user: User) -> None:
        self.taken[application.id].add(user.id)
        self.active[application.id] += 1
        self.workload[user.id] += 1
        self.in_call[user.id] += 1


def is_conflicted(user: User, organisation_id: int) -> bool:
    if user.is_member_of(organisation_id):
        return True
    return db.session.scalar(sa.select(sa.func.count()).select_from(Relation).where(
        Relation.user_id == user.id, Relation.organisation_id == organisation_id)) > 0


def _create(application: Application, evaluator: User, actor, reason: str, replaces: Assignment | None = None,
            due_at=None, gate_stage: str = "") -> Assignment:
    """One assignment in the round ``gate_stage``. A selection assignment judges the latest submitted
    snapshot; a stage gate's judges the stage's accepted final report (its hash)."""
    submission = application.latest_submission
    if submission is None:
        raise Conflict(_("The application has no submitted version to evaluate."))
    judged = submission.content_hash
    if gate_stage:
        judged = gate_evidence_hash(application)
        if judged is None:
            raise Conflict(_("The stage's final report has not been accepted, so there is nothing to review yet."))
    rubric = rubric_for(application, gate_stage)
    assignment = Assignment(application=application, call_id=application.call_id, evaluator=evaluator,
                            submission_id=submission.id, content_hash=judged, gate_stage=gate_stage,
                            due_at=due_at or utcnow() + timedelta(days=rubric.review_days),
                            assigned_by_id=actor.id if actor is not None else None, reason=reason,
                            replaces_id=replaces.id if replaces is not None else None,
                            workflow_name="assignment", workflow_version=1)
    db.session.add(assignment)
    db.session.flush()
    record_event(action="assignment.create", object_type="assignment", object_id=assignment.id, actor=actor,
                 role=_staff_role(actor),
                 payload={"application_id": application.id, "evaluator_id": evaluator.id, "reason": reason,
                          "due_at": assignment.due_at, "content_hash": assignment.content_hash,
                          "replaces": assignment.replaces_id, **({"gate_stage": gate_stage} if gate_stage else {})})
    return assignment


def wanted(required: int, needs_third: bool) -> int:
    """Evaluators an application wants: the call's number, plus one while a discrepancy waits for a third."""
    return required + (1 if needs_third else 0)


def needed(application: Application, result: EvaluationResult | None, active: int, gate_stage: str = "") -> int:
    """How many more evaluators ``application`` needs in round ``gate_stage`` than the ``active``
    assignments it has."""
    required = rubric_for(application, gate_stage).evaluators_required
    return max(wanted(required, result is not None and result.needs_third) - active, 0)


def _lock_call(call: Call) -> None:
    """Serialise assignment per call (two officers pressing auto-assign at once)."""
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update())


def auto_assign(call: Call, actor, only: set[int] | None = None) -> AssignmentReport:
    """Give every application of ``call`` being scored (in evaluation, or at a stage gate) the
    evaluators its round still needs; ``only``: just those of these applications (a selection on the
    applications list), the others left as they are."""
    _lock_call(call)
    query = sa.select(Application).where(Application.call_id == call.id, Application.state.in_(ROUND_STATES))
    if only is not None:
        query = query.where(Application.id.in_(sorted(only)))
    applications = list(db.session.scalars(query.order_by(Application.id)).unique())
    rounds = {application.id: evaluation_round(application) or "" for application in applications}
    results = {(r.application_id, r.gate_stage): r for r in db.session.scalars(
        sa.select(EvaluationResult).where(EvaluationResult.call_id == call.id,
                                          EvaluationResult.needs_third.is_(True)))}
    planner = _Planner(call, applications, rounds)
    report = AssignmentReport()
    for application in applications:
        gate_stage = rounds[application.id]
        if application.state == GATE_STATE and not gate_stage:
            continue  # a gate with no further stage cannot be scored (the workflow's guards prevent it)
        report.considered.append(application.id)
        result = results.get((application.id, gate_stage))
        missing = needed(application, result, planner.active[application.id], gate_stage)
        for user in planner.eligible(application)[:missing]:
            reason = "third" if result is not None else "auto"
            report.created.append(_create(application, user, actor, reason, gate_stage=gate_stage))
            planner.take(application, user)
            missing -= 1
        if missing:
            report.short[application.id] = missing
    record_event(action="call.auto_assign", object_type="call", object_id=call.id, actor=actor,
                 role=_staff_role(actor), payload={"created": len(report.created),
                                                 "short": {str(k): v for k, v in report.short.items()},
                                                 **({"only": sorted(only)} if only is not None else {})})
    return report


@dataclass
class SelectedOutcome:
    """What automatic assignment did for one application of a selection: ``outcome`` is ``assigned`` (all it
    needed), ``partly_assigned`` and ``no_evaluator`` (the pool has too few free of conflicts: ``missing``),
    ``complete`` (it had its evaluators already) or ``not_in_evaluation`` (not being scored: nothing done)."""

    application_id: int
    outcome: str
    created: list[Assignment] = field(default_factory=list)
    missing: int = 0


def auto_assign_selected(application_ids: Iterable[int], actor) -> list[SelectedOutcome]:
    """:func:`auto_assign` for chosen applications, whatever their calls (each call's in turn, by id, so two
    officers never wait for each other's calls crosswise); ids naming no application are left out. Every
    assignment is audited, and each call's run (``call.auto_assign`` with the applications it was ``only``)."""
    ids = sorted(set(application_ids))
    found: set[int] = set()
    by_call: dict[int, set[int]] = defaultdict(set)  # those being scored (checked again under the call's lock)
    for app_id, call_id, state in db.session.execute(
            sa.select(Application.id, Application.call_id, Application.state).where(Application.id.in_(ids))):
        found.add(app_id)
        if state in ROUND_STATES:
            by_call[call_id].add(app_id)
    reports: dict[int, AssignmentReport] = {}
    calls = {call.id: call for call in db.session.scalars(
        sa.select(Call).where(Call.id.in_(sorted(by_call)))).unique()} if by_call else {}
    for call_id in sorted(by_call):
        report = auto_assign(calls[call_id], actor, only=by_call[call_id])
        reports.update(dict.fromkeys(by_call[call_id], report))
    outcomes = []
    for app_id in (app_id for app_id in ids if app_id in found):
        report = reports.get(app_id) or AssignmentReport()
        created = [assignment for assignment in report.created if assignment.application_id == app_id]
        missing = report.short.get(app_id, 0)
        if app_id not in report.considered:
            outcome = "not_in_evaluation"
        elif missing:
            outcome = "partly_assigned" if created else "no_evaluator"
        else:
            outcome = "assigned" if created else "complete"
        outcomes.append(SelectedOutcome(app_id, outcome, created, missing))
    return outcomes


def _assign_one(application: Application, actor, reason: str, replaces: Assignment | None = None) -> Assignment | None:
    """One more evaluator for ``application`` in its current round (a third, or a replacement), least
    loaded first; None when the pool has no one free of conflicts (officers see the shortfall on the
    call's dashboard)."""
    gate_stage = evaluation_round(application) or ""
    planner = _Planner(application.call, [application], {application.id: gate_stage})
    candidates = planner.eligible(application)
    if not candidates:
        return None
    return _create(application, candidates[0], actor, reason, replaces=replaces, gate_stage=gate_stage)


def open_gate_review(application: Application) -> AssignmentReport:
    """A stage gate opens: the system gives the application the evaluators its rubric wants (from the
    call's pool, free of conflicts); a shortfall shows on the call's evaluation pages."""
    gate_stage = evaluation_round(application)
    report = AssignmentReport()
    if not gate_stage:
        return report
    planner = _Planner(application.call, [application], {application.id: gate_stage})
    missing = needed(application, None, planner.active[application.id], gate_stage)
    for user in planner.eligible(application)[:missing]:
        report.created.append(_create(application, user, None, "auto", gate_stage=gate_stage))
        planner.take(application, user)
        missing -= 1
    if missing:
        report.short[application.id] = missing
    return report


def assign(application: Application, evaluator: User, actor, *, replaces: Assignment | None = None,
           due_at=None) -> Assignment:
    """An officer's own choice of evaluator, checked for conflicts like automatic assignment."""
    errors: list[str] = []
    if not evaluator.has_role(RoleCode.EVALUATOR) or not evaluator.is_active_account:
        errors.append(_("Choose an active evaluator."))
    elif is_conflicted(evaluator, application.organisation_id):
        errors.append(_("This evaluator belongs to the applicant organisation or declared a relation with it."))
    gate_stage = evaluation_round(application)
    if not errors and db.session.scalar(sa.select(sa.func.count()).select_from(Assignment).where(
            Assignment.application_id == application.id, Assignment.evaluator_id == evaluator.id,
            Assignment.gate_stage == (gate_stage or ""))):
        errors.append(_("This evaluator has already been assigned this application."))
    if errors:
        raise UserInputError(fields={"evaluator_id": errors})
    if gate_stage is None:
        raise Conflict(_("Evaluators are assigned while the application is in evaluation or at its stage gate."))
    return _create(application, evaluator, actor, "manual" if replaces is None else "replacement",
                   replaces=replaces, due_at=due_at, gate_stage=gate_stage)


def reassign(assignment: Assignment, actor, comment: str | None, evaluator: User | None = None) -> Assignment | None:
    """Withdraw an open assignment (the reason is required) and give the application another
    evaluator: the one chosen, or the least loaded free one."""
    if evaluator is not None:
        # Check the choice first, so a refused choice leaves the assignment as it was.
        problem = None
        if not evaluator.has_role(RoleCode.EVALUATOR) or not evaluator.is_active_account:
            problem = _("Choose an active evaluator.")
        elif evaluator.id == assignment.evaluator_id:
            problem = _("Choose another evaluator.")
        elif is_conflicted(evaluator, assignment.application.organisation_id):
            problem = _("This evaluator belongs to the applicant organisation or declared a relation with it.")
        if problem:
            raise UserInputError(fields={"evaluator_id": [problem]})
    fire(assignment, "withdraw_assignment", actor, comment=comment)
    if evaluator is not None:
        return assign(assignment.application, evaluator, actor, replaces=assignment)
    return _assign_one(assignment.application, actor, "replacement", replaces=assignment)


def assign_replacement(assignment: Assignment) -> Assignment | None:
    """After a recusal: the system assigns the next free evaluator (while that round is open)."""
    if evaluation_round(assignment.application) != assignment.gate_stage:
        return None
    return _assign_one(assignment.application, None, "replacement", replaces=assignment)


def withdraw_open(application: Application) -> None:
    """The application left evaluation for good (withdrawn): its open assignments are withdrawn."""
    for assignment in db.session.scalars(sa.select(Assignment).where(
            Assignment.application_id == application.id, Assignment.state.in_(OPEN_STATES))).unique():
        fire(assignment, "withdraw_assignment", None, comment="The application was withdrawn by the applicant.")


# --- declarations and reviews -----------------------------------------------------------------------

def declare(assignment: Assignment, actor, has_conflict: bool, statement: str | None) -> Assignment:
    """The evaluator's conflict-of-interest declaration for this application (before any access)."""
    statement = (statement or "").strip()
    if has_conflict and not statement:
        raise UserInputError(fields={"statement": [_("Describe the conflict of interest.")]})
    if len(statement) > 5000:
        raise UserInputError(fields={"statement": [_("At most 5000 characters.")]})
    trigger = "declare_conflict" if has_conflict else "declare_no_conflict"
    fire(assignment, trigger, actor, comment=statement or None, has_conflict=bool(has_conflict),
         statement=statement or str(STANDARD_DECLARATION))
    return assignment


def _clean_review(rubric: Rubric, scores: Any, comments: Any, summary: Any) -> tuple[dict, dict, str]:
    errors: dict[str, list[str]] = {}
    clean_scores: dict[str, Any] = {}
    if not isinstance(scores, dict):
        errors["scores"] = [_("Scores are given per criterion code.")]
        scores = {}
    for code, value in scores.items():
        criterion = rubric.criterion(str(code))
        if criterion is None:
            errors[f"scores.{code}"] = [_("The rubric has no such criterion.")]
            continue
        if value is None or value == "":
            continue
        number = decimal(value)
        if number is None or number < 0 or number > criterion.max_points or number != two_places(number):
            errors[f"scores.{code}"] = [_("Give a number from 0 to %(max)s (at most two decimals).",
                                          max=plain_number(criterion.max_points))]
            continue
        clean_scores[criterion.code] = plain_number(number)
    clean_comments: dict[str, str] = {}
    if not isinstance(comments, dict):
        errors["comments"] = [_("Comments are given per criterion code.")]
        comments = {}
    for code, text in comments.items():
        if rubric.criterion(str(code)) is None:
            errors[f"comments.{code}"] = [_("The rubric has no such criterion.")]
        elif not isinstance(text, str) or len(text) > 5000:
            errors[f"comments.{code}"] = [_("A comment is text of at most 5000 characters.")]
        elif text.strip():
            clean_comments[str(code)] = text.strip()
    if summary is not None and (not isinstance(summary, str) or len(summary) > 10000):
        errors["summary"] = [_("The summary is text of at most 10000 characters.")]
    if errors:
        raise UserInputError(fields=errors)
    return clean_scores, clean_comments, (summary or "").strip()



def review_for(assignment: Assignment) -> Review | None:
    return assignment.review


def save_review(assignment: Assignment, actor, *, scores: Any, comments: Any, summary: Any,
                expected_version: int | None = None) -> Review:
    """Save the evaluator's scores, comments and summary as a draft (checked against the rubric)."""
    if assignment.evaluator_id != actor.id:
        raise NotFound()
    if assignment.state == "assigned":
        raise PermissionDenied(_("Declare whether you have a conflict of interest before you read or score "
                                 "the application."))
    if assignment.state == "submitted":
        raise ReviewLocked()
    if assignment.state != "accepted":
        raise Conflict(_("This assignment is closed."))
    review = assignment.review
    if review is not None and expected_version is not None and review.version != expected_version:
        raise Conflict()
    rubric = rubric_for(assignment.application, assignment.gate_stage)
    clean_scores, clean_comments, clean_summary = _clean_review(rubric, scores, comments, summary)
    created = review is None
    if review is None:
        review = Review(assignment=assignment, application_id=assignment.application_id)
        db.session.add(review)
        before: dict[str, Any] = {"scores": {}, "comments": {}, "summary": ""}
    else:
        before = {"scores": dict(review.scores or {}), "comments": dict(review.comments or {}),
                  "summary": review.summary}
    review.scores, review.comments, review.summary = clean_scores, clean_comments, clean_summary
    review.total = rubric.total(clean_scores)
    after = {"scores": clean_scores, "comments": clean_comments, "summary": clean_summary}
    changed = changes(before, after)
    db.session.flush()
    if changed or created:
        record_event(action="review.save", object_type="assignment", object_id=assignment.id, actor=actor,
                     role=RoleCode.EVALUATOR, payload={"changes": changed, "total": review.total})
    return review


def submit_review(assignment: Assignment, actor) -> Assignment:
    """Lock the review (refused, with reasons, while a criterion is unscored or the summary empty)."""
    if assignment.evaluator_id != actor.id:
        raise NotFound()
    if assignment.state == "submitted":
        raise ReviewLocked()
    fire(assignment, "submit_review", actor)
    return assignment


def missing_by_field(assignment: Assignment) -> dict[str, list[str]]:
    """What the review still lacks before it can be submitted, by the field of the review API it is about
    (``scores.<criterion code>``, ``summary``), in translated messages."""
    review = assignment.review
    rubric = rubric_for(assignment.application, assignment.gate_stage)
    scores = review.scores if review is not None else {}
    problems = {f"scores.{c.code}": [_("Score “%(criterion)s”.", criterion=c.title)]
                for c in rubric.criteria if c.code not in scores}
    if review is None or not review.summary.strip():
        problems["summary"] = [_("Write the summary.")]
    return problems


def missing_parts(assignment: Assignment) -> list[str]:
    """What the review still lacks before it can be submitted (translated messages)."""
    return [message for messages in missing_by_field(assignment).values() for message in messages]


def return_review(assignment: Assignment, actor, comment: str | None) -> Assignment:
    fire(assignment, "return_review", actor, comment=comment)
    return assignment


# --- consolidation ----------------------------------------------------------------------------------

def discrepant(totals: list[Decimal], percent: Decimal) -> bool:
    """Totals differ by more than ``percent`` % of the highest (exactly that share is not a discrepancy)."""
    if len(totals) < 2:
        return False
    high, low = max(totals), min(totals)
    return (high - low) * 100 > percent * high


def two_closest(reviews: list[Review]) -> list[Review]:
    """The two reviews whose totals are closest; of equally close pairs, the higher pair."""
    ordered = sorted(reviews, key=lambda r: (r.total, r.id))
    pairs = [(ordered[i + 1].total - ordered[i].total, -(ordered[i].total + ordered[i + 1].total), i)
             for i in range(len(ordered) - 1)]
    _gap, _height, index = min(pairs)
    return [ordered[index], ordered[index + 1]]


def _average(values: list[Decimal]) -> Decimal:
    return two_places(sum(values, Decimal(0)) / len(values))


def consolidate(application: Application, gate_stage: str = "") -> EvaluationResult | None:
    """Combine the reviews of round ``gate_stage`` once every assignment of it is done; asks for a
    third evaluator on a discrepancy, otherwise records the result and completes the evaluation or
    the stage gate review (as the system)."""
    # Fresh rows: another evaluator's submission committed while this one waited for the audit lock.
    assignments = list(db.session.scalars(sa.select(Assignment).where(
        Assignment.application_id == application.id, Assignment.gate_stage == gate_stage)
        .execution_options(populate_existing=True)).unique())
    if any(a.state in OPEN_STATES for a in assignments):
        return None
    reviews = [a.review for a in assignments if a.state == "submitted" and a.review is not None]
    rubric = rubric_for(application, gate_stage)
    if len(reviews) < rubric.evaluators_required:
        return None
    result = result_of(application, gate_stage)
    if result is None:
        result = EvaluationResult(application_id=application.id, call_id=application.call_id, gate_stage=gate_stage)
        db.session.add(result)
    totals = [r.total for r in reviews]
    result.reviews_count = len(reviews)
    if len(reviews) == rubric.evaluators_required and discrepant(totals, rubric.discrepancy_percent):
        result.discrepancy, result.needs_third, result.final_score = True, True, None
        result.criteria, result.review_ids, result.failed_minima, result.above_threshold = {}, [], [], False
        db.session.flush()
        third = _assign_one(application, None, "third")
        record_event(action="application.discrepancy", object_type="application", object_id=application.id,
                     role=SYSTEM, payload={"totals": totals, "percent": rubric.discrepancy_percent,
                                           "third_assignment": third.id if third is not None else None,
                                           **({"gate_stage": gate_stage} if gate_stage else {})})
        return result
    used = two_closest(reviews) if len(reviews) > rubric.evaluators_required else reviews
    result.needs_third = False
    result.final_score = _average([r.total for r in used])
    result.criteria = {c.code: plain_number(_average([decimal(r.scores.get(c.code)) or Decimal(0) for r in used]))
                       for c in rubric.criteria}
    result.failed_minima = [c.code for c in rubric.criteria
                            if c.min_points is not None and decimal(result.criteria[c.code]) < c.min_points]
    result.above_threshold = result.final_score >= rubric.threshold and not result.failed_minima
    result.review_ids = sorted(r.id for r in used)
    result.consolidated_at = utcnow()
    db.session.flush()
    outcome = {"final_score": result.final_score, "above_threshold": result.above_threshold,
               "failed_minima": result.failed_minima, "reviews": len(reviews),
               "third_evaluation": len(reviews) > rubric.evaluators_required}
    if gate_stage == "" and application.state == EVALUATION_STATE:
        fire(application, "complete_evaluation", None, **outcome)
    elif gate_stage and evaluation_round(application) == gate_stage:
        fire(application, "complete_gate_review", None, gate_stage=gate_stage, **outcome)
    return result


def result_of(application: Application, gate_stage: str = "") -> EvaluationResult | None:
    """The consolidated result of round ``gate_stage`` (the selection by default)."""
    return db.session.scalar(sa.select(EvaluationResult).where(EvaluationResult.application_id == application.id,
                                                               EvaluationResult.gate_stage == gate_stage))


def is_consolidated(application: Application) -> bool:
    """The reviews of the round the application is in are all in and consolidated."""
    result = result_of(application, evaluation_round(application) or "")
    return result is not None and result.final_score is not None and not result.needs_third


# --- reading ----------------------------------------------------------------------------------------

def get_own_assignment(user, assignment_id: int) -> Assignment:
    """The evaluator's own assignment; anyone else's does not exist for them."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.evaluator_id != user.id:
        raise NotFound()
    return assignment


def may_read_application(user, application_id: int) -> bool | None:
    """For evaluators: True when an assignment with a "no conflict" declaration opens the
    application to them, False when they are assigned but have not (yet) declared so (403),
    None when they have no assignment for it (404)."""
    states = set(db.session.scalars(sa.select(Assignment.state).where(
        Assignment.application_id == application_id, Assignment.evaluator_id == user.id)))
    if not states:
        return None
    return bool(states & {"accepted", "submitted"})


def feedback(application: Application, gate_stage: str = "") -> dict[str, Any] | None:
    """Consolidated, anonymous feedback for the applicant on round ``gate_stage`` (the selection by
    default): per criterion the consolidated points and the comments of the reviews used, and the
    summaries, without evaluators' names."""
    result = result_of(application, gate_stage)
    if result is None or result.final_score is None:
        return None
    rubric = rubric_for(application, gate_stage)
    reviews = list(db.session.scalars(sa.select(Review).where(Review.id.in_(result.review_ids or [0]))
                                      .order_by(Review.id)))
    return {
        "final_score": result.final_score, "max_total": rubric.max_total, "threshold": rubric.threshold,
        "above_threshold": result.above_threshold,
        "criteria": [{"code": c.code, "title": c.title, "points": result.criteria.get(c.code),
                      "max_points": plain_number(c.max_points), "minimum": c.min_points,
                      "below_minimum": c.code in (result.failed_minima or []),
                      "comments": [r.comments[c.code] for r in reviews if (r.comments or {}).get(c.code)]}
                     for c in rubric.criteria],
        "summaries": [r.summary for r in reviews if r.summary],
    }
