"""The ranked list of a call, per SI-stage envelope (DESIGN §6): final score, threshold, tie-break,
cumulative requested amount, the funding line and the reserve list.

Within each stage envelope the scored applications are ordered by final score, highest first;
equal scores are ordered by the call's stated tie-break (by default the earlier submission),
then by application number. Walking down the list, each application that passes (threshold and
criterion minima) adds the amount it would take to the cumulative sum: the amount approved
when the committee approved it, nothing when the committee rejected it, otherwise the amount
requested. Applications are within the budget while the cumulative sum stays within the
envelope; the first that does not fit draws the funding line, and every passing application
below it goes to the reserve list (the line is not skipped to fit smaller requests). Failing
applications are recommended for rejection. Applications still in evaluation are listed
unranked at the end.

One query reads the whole list, whatever its length. Decisions use it. Pages and lists read a page of it and
the envelopes' totals instead (``ranking_slice``: the same walk done by the database, further below).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from grants.applications.models import Application, Submission
from grants.calls.models import Call, CallStage
from grants.core.db import Money, db
from grants.core.kept import Kept
from grants.decisions.models import Decision
from grants.evaluations.models import Assignment, EvaluationResult, Review
from grants.evaluations.rubrics import TIE_BREAKS, rubric_of
from grants.organisations.models import Organisation

#: States of applications that were (or are being) scored: the ranked list shows them.
RANKED_STATES = ("in_evaluation", "evaluated", "reserve", "approved", "rejected", "contracted", "in_implementation",
                 "final_report_submitted", "gate_review", "completed", "closed_at_gate", "terminated", "appealed")

def is_ranked() -> sa.ColumnElement[bool]:
    """Applications that were (or are being) scored: the ranked states, an appeal only against a
    rejection (one against ineligibility was never scored)."""
    return sa.or_(Application.state.in_([s for s in RANKED_STATES if s != "appealed"]),
                  sa.and_(Application.state == "appealed", Application.appealed_from == "rejected"))


#: What the ranking recommends the committee decide.
APPROVE, RESERVE, REJECT = "approved", "reserve", "rejected"


@dataclass
class RankRow:
    application_id: int
    title: str
    organisation: str
    si_stage: str
    state: str
    requested_amount: Decimal
    submitted_at: datetime | None
    final_score: Decimal | None
    reviews: int
    needs_third: bool
    discrepancy: bool
    above_threshold: bool
    failed_minima: list[str]
    decision: str | None
    decided_amount: Decimal | None
    envelope: Decimal
    rank: int | None = None
    cumulative_amount: Decimal = Decimal("0.00")
    within_budget: bool = False
    recommendation: str | None = None

    @property
    def departs(self) -> bool:
        """A decision was taken and it differs from what the ranking recommends now."""
        return self.decision is not None and self.recommendation is not None and self.decision != self.recommendation


def _query(call: Call, si_stage: str | None) -> sa.Select:
    # Each aggregate reads only this call's rows, however many other calls the database holds.
    in_call = sa.select(Application.id).where(Application.call_id == call.id).scalar_subquery()
    first = (sa.select(Submission.application_id, sa.func.min(Submission.submitted_at).label("first"))
             .where(Submission.application_id.in_(in_call)).group_by(Submission.application_id).subquery())
    # The selection's reviews and result only: a stage gate's (after award) do not move the ranking.
    reviews = (sa.select(Review.application_id, sa.func.count().label("n"))
               .join(Assignment, Assignment.id == Review.assignment_id)
               .where(Review.submitted_at.is_not(None), Review.application_id.in_(in_call),
                      Assignment.gate_stage == "")
               .group_by(Review.application_id).subquery())
    latest = (sa.select(Decision.application_id, sa.func.max(Decision.id).label("id"))
              .where(Decision.application_id.in_(in_call)).group_by(Decision.application_id).subquery())
    query = (
        sa.select(Application.id, Application.title, Organisation.name, Application.si_stage, Application.state,
                  Application.requested_amount, first.c.first,
                  EvaluationResult.final_score, EvaluationResult.above_threshold, EvaluationResult.needs_third,
                  EvaluationResult.discrepancy,
                  # As text: parsed only for the few rows that failed a minimum ("[]" for the others).
                  sa.cast(EvaluationResult.failed_minima, sa.Text), reviews.c.n, Decision.outcome,
                  Decision.amount)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(first, first.c.application_id == Application.id)
        .outerjoin(reviews, reviews.c.application_id == Application.id)
        .outerjoin(EvaluationResult, sa.and_(EvaluationResult.application_id == Application.id,
                                             EvaluationResult.gate_stage == ""))
        .outerjoin(latest, latest.c.application_id == Application.id)
        .outerjoin(Decision, Decision.id == latest.c.id)
        .where(Application.call_id == call.id, is_ranked())
    )
    if si_stage:
        query = query.where(Application.si_stage == si_stage)
    return query


def ranking(call: Call, si_stage: str | None = None) -> list[RankRow]:
    """The ranked list of ``call`` (one stage envelope when ``si_stage`` is given), stage by stage
    in the call's order."""
    envelopes = {stage.si_stage: stage.envelope for stage in call.stages}
    rows: list[RankRow] = []
    for (app_id, title, organisation, stage, state, requested, submitted_at, score, above, third,
         discrepancy, minima, reviews, outcome, amount) in db.session.execute(_query(call, si_stage)):
        rows.append(RankRow(application_id=app_id, title=title, organisation=organisation, si_stage=stage,
                            state=state, requested_amount=requested, submitted_at=submitted_at, final_score=score,
                            reviews=reviews or 0, needs_third=bool(third), discrepancy=bool(discrepancy),
                            above_threshold=bool(above) and score is not None, failed_minima=_codes(minima),
                            decision=outcome.value if outcome is not None else None, decided_amount=amount,
                            envelope=envelopes.get(stage, Decimal("0.00"))))
    tie_break = rubric_of(call.rubric).tie_break
    order = list(envelopes) + sorted({r.si_stage for r in rows} - set(envelopes))
    ranked: list[RankRow] = []
    for stage in order:
        in_stage = [r for r in rows if r.si_stage == stage]
        scored = sorted((r for r in in_stage if r.final_score is not None), key=lambda r: _key(r, tie_break))
        _walk(scored, envelopes.get(stage, Decimal("0.00")))
        ranked.extend(scored)
        ranked.extend(sorted((r for r in in_stage if r.final_score is None), key=lambda r: r.application_id))
    return ranked


def _codes(text: str | None) -> list[str]:
    if not text or text.replace(" ", "") in ("[]", "null"):
        return []
    return list(json.loads(text))


def _key(row: RankRow, tie_break: str):
    when = row.submitted_at.timestamp() if row.submitted_at is not None else float("inf")
    if tie_break == "lower_amount":
        return (-row.final_score, row.requested_amount, when, row.application_id)
    return (-row.final_score, when, row.application_id)


def _walk(scored: list[RankRow], envelope: Decimal) -> None:
    cumulative = Decimal("0.00")
    line_drawn = False
    for rank, row in enumerate(scored, start=1):
        row.rank = rank
        if not row.above_threshold:
            row.cumulative_amount, row.within_budget, row.recommendation = cumulative, False, REJECT
            continue
        if row.decision == REJECT:
            takes = Decimal("0.00")
        elif row.decision == APPROVE and row.decided_amount is not None:
            takes = row.decided_amount
        else:
            takes = row.requested_amount
        cumulative += takes
        row.cumulative_amount = cumulative
        row.within_budget = not line_drawn and cumulative <= envelope
        if not row.within_budget:
            line_drawn = True
        row.recommendation = APPROVE if row.within_budget else RESERVE


def row_for(call: Call, application_id: int) -> RankRow | None:
    """The application's row in its stage's ranking (the whole envelope has to be walked)."""
    application = db.session.get(Application, application_id)
    if application is None:
        return None
    return next((r for r in ranking(call, application.si_stage) if r.application_id == application_id), None)


# --- The paged read (pages and API lists) -------------------------------------------------------------
#
# ``ranking`` above walks the whole list in Python: the decisions and the decision page use it, since a
# decision must see the envelope as it stands. A page of a large call needs only a window of it and the
# envelopes' totals, so the same walk is done by the database with window functions: the place of each
# application (ROW_NUMBER over the same order as ``_key``) and the cumulative amount (SUM of what each
# passing application takes, down that order). Amounts never go negative, so the cumulative sum only grows:
# "within the envelope while the sum fits, the first that does not fit draws the line" is simply
# ``cumulative <= envelope``. tests/test_ranking_paged.py checks the two agree row by row.

@dataclass
class EnvelopeSummary:
    """One SI stage envelope of a call's ranking, as aggregates (no row loaded)."""

    si_stage: str
    envelope: Decimal
    #: Applications listed: scored (ranked) and still in evaluation.
    scored: int = 0
    unscored: int = 0
    passing: int = 0
    #: Passing applications above the funding line, and on the reserve list below it.
    within: int = 0
    reserve: int = 0
    #: The funding line comes after this rank (0: above the first ranked row).
    line_after: int = 0
    #: The cumulative amount at the funding line (what the applications above it take).
    committed: Decimal = Decimal("0.00")
    #: Requested by the scored applications, by those above the line, and approved by the committee.
    requested: Decimal = Decimal("0.00")
    recommended: Decimal = Decimal("0.00")
    approved: Decimal = Decimal("0.00")
    needs_third: int = 0
    #: Where the envelope's rows start in the call's whole list (stage by stage).
    start: int = 0

    @property
    def rows(self) -> int:
        return self.scored + self.unscored

    @property
    def remaining(self) -> Decimal:
        return self.envelope - self.committed


def _zero_money() -> sa.ColumnElement:
    return sa.literal(0, Money)


def _ordered(call: Call) -> sa.Subquery:
    """Every listed application of ``call`` with its envelope, its place in it (``position``: the rank
    for scored rows, which come first, then the unscored by id), the cumulative amount and the
    recommendation. Narrow columns only: what a page shows is joined on for the page's rows."""
    in_call = sa.select(Application.id).where(Application.call_id == call.id).scalar_subquery()
    first = (sa.select(Submission.application_id, sa.func.min(Submission.submitted_at).label("first"))
             .where(Submission.application_id.in_(in_call)).group_by(Submission.application_id).subquery())
    latest = (sa.select(Decision.application_id, sa.func.max(Decision.id).label("id"))
              .where(Decision.application_id.in_(in_call)).group_by(Decision.application_id).subquery())
    score = EvaluationResult.final_score
    unscored = score.is_(None)
    above = sa.and_(EvaluationResult.above_threshold.is_(True), score.is_not(None))
    takes = sa.case((sa.not_(above), _zero_money()), (Decision.outcome == REJECT, _zero_money()),
                    (sa.and_(Decision.outcome == APPROVE, Decision.amount.is_not(None)), Decision.amount),
                    else_=Application.requested_amount)
    keys = [sa.case((unscored, 1), else_=0), score.desc()]
    if rubric_of(call.rubric).tie_break == "lower_amount":
        keys.append(sa.case((unscored, sa.null()), else_=Application.requested_amount).asc())
    keys += [sa.case((unscored, sa.null()), else_=first.c.first).asc().nulls_last(), Application.id.asc()]
    position = sa.func.row_number().over(partition_by=Application.si_stage, order_by=keys)
    cumulative = sa.func.sum(takes).over(partition_by=Application.si_stage, order_by=keys, rows=(None, 0))
    envelope = sa.func.coalesce(CallStage.envelope, _zero_money())
    inner = (
        sa.select(Application.id.label("application_id"), Application.si_stage.label("si_stage"),
                  position.label("position"), score.label("final_score"), above.label("above"),
                  Application.requested_amount.label("requested"), cumulative.label("cumulative"),
                  envelope.label("envelope"), Decision.outcome.label("decision"),
                  Decision.amount.label("decided_amount"),
                  sa.func.coalesce(EvaluationResult.needs_third, False).label("needs_third"))
        .outerjoin(first, first.c.application_id == Application.id)
        .outerjoin(EvaluationResult, sa.and_(EvaluationResult.application_id == Application.id,
                                             EvaluationResult.gate_stage == ""))
        .outerjoin(latest, latest.c.application_id == Application.id)
        .outerjoin(Decision, Decision.id == latest.c.id)
        .outerjoin(CallStage, sa.and_(CallStage.call_id == call.id, CallStage.si_stage == Application.si_stage))
        .where(Application.call_id == call.id, is_ranked())
    ).subquery("ranked")
    return inner


@dataclass
class RankingSlice:
    """Some rows of a call's ranking with every listed envelope's totals."""

    envelopes: list[EnvelopeSummary]
    rows: list[RankRow]

    @property
    def total(self) -> int:
        return sum(e.rows for e in self.envelopes)


def _direct_slice(call: Call, *, places: dict[str, tuple[int, int]] | None = None,
                  span: tuple[int, int] | None = None, si_stage: str | None = None,
                  scored_only: bool = False) -> RankingSlice:
    """Rows of the ranking and the envelopes' totals, in one statement whatever the number of applications.

    ``places`` picks rows per envelope: stage code -> first and last position (from 1; the rank for scored
    rows, which come first); ``span`` picks the rows at those places (from 1) of the whole list, envelope after
    envelope in the call's order (only ``si_stage``'s envelope when given). The rows and their values are those
    ``ranking`` gives at these places. Totals come for every envelope with rows (each envelope's first row is
    read for them; it is returned only when asked for) and for the call's other envelopes as zeros."""
    ranked = _ordered(call)
    within = sa.and_(ranked.c.above.is_(True), ranked.c.cumulative <= ranked.c.envelope)
    stage = ranked.c.si_stage
    codes = call.stage_codes
    stage_order = sa.case({code: i for i, code in enumerate(codes)}, value=stage, else_=len(codes)) if codes \
        else sa.literal(0)
    scored = ranked.c.final_score.is_not(None)

    def per_stage(function) -> sa.ColumnElement:
        return function.over(partition_by=stage)

    def count(condition) -> sa.ColumnElement:
        return per_stage(sa.func.sum(sa.case((condition, 1), else_=0)))

    def money(condition, amount) -> sa.ColumnElement:
        return per_stage(sa.func.sum(sa.case((condition, amount), else_=_zero_money())))

    totals = (
        sa.select(ranked, within.label("within"),
                  per_stage(sa.func.count()).label("n_rows"), count(scored).label("n_scored"),
                  count(ranked.c.above.is_(True)).label("n_passing"), count(within).label("n_within"),
                  per_stage(sa.func.max(sa.case((within, ranked.c.position), else_=None))).label("line_after"),
                  per_stage(sa.func.max(sa.case((within, ranked.c.cumulative), else_=None))).label("committed"),
                  money(scored, ranked.c.requested).label("requested_total"),
                  money(within, ranked.c.requested).label("recommended_total"),
                  money(ranked.c.decision == APPROVE, sa.func.coalesce(ranked.c.decided_amount, ranked.c.requested))
                  .label("approved_total"),
                  count(sa.and_(sa.not_(scored), ranked.c.needs_third.is_(True))).label("n_third"),
                  sa.func.row_number().over(order_by=[stage_order, stage, ranked.c.position]).label("place"))
        .where(stage == si_stage if si_stage is not None else sa.true())
    ).subquery("totals")
    t = totals.c
    wanted = [t.position == 1]
    if places:
        wanted += [sa.and_(t.si_stage == code, t.position.between(low, high)) for code, (low, high) in places.items()
                   if low <= high]
    if span:
        wanted.append(t.place.between(*span))
    reviews = (sa.select(sa.func.count()).select_from(Review)
               .join(Assignment, Assignment.id == Review.assignment_id)
               .where(Review.application_id == t.application_id, Review.submitted_at.is_not(None),
                      Assignment.gate_stage == "")
               .correlate(totals).scalar_subquery())
    query = (sa.select(t.application_id, Application.title, Organisation.name, t.si_stage, Application.state,
                       t.requested, t.final_score, t.position, t.above, t.needs_third, EvaluationResult.discrepancy,
                       sa.cast(EvaluationResult.failed_minima, sa.Text), reviews, t.decision, t.decided_amount,
                       t.envelope, t.cumulative, t.within, t.place,
                       t.n_rows, t.n_scored, t.n_passing, t.n_within, t.line_after, t.committed, t.requested_total,
                       t.recommended_total, t.approved_total, t.n_third)
             .join(Application, Application.id == t.application_id)
             .join(Organisation, Organisation.id == Application.organisation_id)
             .outerjoin(EvaluationResult, sa.and_(EvaluationResult.application_id == t.application_id,
                                                  EvaluationResult.gate_stage == ""))
             .where(sa.or_(*wanted))
             .order_by(t.place))
    found: dict[str, EnvelopeSummary] = {}
    rows: list[RankRow] = []
    for (app_id, title, organisation, code, state, requested, score, position, above, third, discrepancy, minima,
         n_reviews, outcome, amount, envelope, cumulative, is_within, place, n_rows, n_scored, n_passing, n_within,
         line_after, committed, requested_total, recommended_total, approved_total,
         n_third) in db.session.execute(query):
        if code not in found:
            found[code] = EnvelopeSummary(code, envelope, scored=n_scored, unscored=n_rows - n_scored,
                                          passing=n_passing, within=n_within, reserve=n_passing - n_within,
                                          line_after=line_after or 0,
                                          committed=committed if committed is not None else Decimal("0.00"),
                                          requested=requested_total, recommended=recommended_total,
                                          approved=approved_total, needs_third=n_third, start=place - 1)
        if position == 1 and not ((places and code in places and places[code][0] <= 1 <= places[code][1])
                                  or (span and span[0] <= place <= span[1])):
            continue  # read for the totals only
        if scored_only and score is None:
            continue
        row = RankRow(application_id=app_id, title=title, organisation=organisation, si_stage=code, state=state,
                      requested_amount=requested, submitted_at=None, final_score=score, reviews=n_reviews or 0,
                      needs_third=bool(third), discrepancy=bool(discrepancy), above_threshold=bool(above),
                      failed_minima=_codes(minima), decision=outcome.value if outcome is not None else None,
                      decided_amount=amount, envelope=envelope)
        if score is not None:
            row.rank, row.cumulative_amount, row.within_budget = position, cumulative, bool(is_within)
            row.recommendation = REJECT if not row.above_threshold else APPROVE if row.within_budget else RESERVE
        rows.append(row)
    envelopes = [found.get(stage.si_stage) or EnvelopeSummary(stage.si_stage, stage.envelope)
                 for stage in call.stages if si_stage is None or stage.si_stage == si_stage]
    envelopes += [found[code] for code in sorted(set(found) - set(codes))]
    return RankingSlice(envelopes, rows)


# --- Large calls: the ordered list kept per process, checked against the data on every read ------------------
#
# Ordering a call of 10,000+ applications costs the database a few hundred milliseconds on each page. For such
# calls the narrow ordered list (ids, places, cumulative amounts: no titles) is kept in the process, keyed by a
# fingerprint of everything the order depends on, read on every request in one cheap statement: the call's
# applications (how many, the newest change: a state change, an appeal, an amount all touch ``updated_at`` and
# ``version``), its consolidated results (how many, the newest change, scores and flags), the committee decisions
# (the newest), the envelopes and the tie-break. Any change gives a new fingerprint, and the list is ordered
# again; nothing stale is ever shown. The rows of the page are then read by id with what the page shows.

#: Calls with at least this many applications are ordered once per change (smaller ones on every read).
CACHE_FROM = 2_000
#: Calls kept per process.
CACHE_CALLS = 8
# Handed out as a new list of copied envelopes (callers may change them) and the same ordered rows: tuples of
# immutable values, never changed.
_ordered_lists = Kept(CACHE_CALLS, share=lambda kept: ([replace(e) for e in kept[0]], kept[1]))


def _fingerprint(call: Call) -> tuple:
    """One statement: the size of the call and the newest change of every input of its order."""
    def flags(column) -> sa.ColumnElement:
        return sa.func.sum(sa.case((column.is_(True), 1), else_=0))

    # the versions and scores too, not only the newest time: app nodes' clocks may disagree
    apps = (sa.select(sa.func.count().label("n"), sa.func.max(Application.updated_at).label("changed"),
                      sa.func.max(Application.id).label("last"), sa.func.sum(Application.version).label("versions"))
            .where(Application.call_id == call.id).subquery())
    results = (sa.select(sa.func.count().label("n"), sa.func.max(EvaluationResult.updated_at).label("changed"),
                         sa.func.sum(sa.type_coerce(EvaluationResult.final_score, sa.BigInteger)).label("scores"),
                         flags(EvaluationResult.above_threshold).label("above"),
                         flags(EvaluationResult.needs_third).label("third"),
                         sa.func.sum(EvaluationResult.reviews_count).label("reviews"))
               .where(EvaluationResult.call_id == call.id).subquery())
    # any committee decision anywhere (the newest id, from the primary key): they are rare, and reading them per
    # call would cost more than ordering a call again now and then
    decisions = sa.select(sa.func.max(Decision.id).label("last")).subquery()
    row = db.session.execute(sa.select(apps, results, decisions).select_from(
        apps.join(results, sa.true()).join(decisions, sa.true()))).one()
    envelopes = tuple((stage.si_stage, stage.envelope) for stage in call.stages)
    return (call.id, tuple(row), envelopes, rubric_of(call.rubric).tie_break)


def _order_whole_call(call: Call) -> tuple[list[EnvelopeSummary], list[tuple]]:
    """The whole ordered list (narrow rows, envelope after envelope) and the envelopes' totals: one statement."""
    ranked = _ordered(call)
    rows = db.session.execute(sa.select(
        ranked.c.application_id, ranked.c.si_stage, ranked.c.position, ranked.c.final_score, ranked.c.above,
        ranked.c.requested, ranked.c.cumulative, ranked.c.envelope, ranked.c.decision, ranked.c.decided_amount,
        ranked.c.needs_third)).all()
    by_stage: dict[str, list[tuple]] = {}
    for row in rows:
        by_stage.setdefault(row[1], []).append(tuple(row))
    codes = call.stage_codes
    order = list(codes) + sorted(set(by_stage) - set(codes))
    envelopes, ordered = [], []
    zero = Decimal("0.00")
    for code in order:
        stage_rows = sorted(by_stage.get(code, []), key=lambda r: r[2])
        summary = EnvelopeSummary(code, call.stage(code).envelope if code in codes else
                                  (stage_rows[0][7] if stage_rows else zero), start=len(ordered))
        for (_id, _code, position, score, above, requested, cumulative, envelope, decision, amount,
             third) in stage_rows:
            within = bool(above) and cumulative <= envelope
            if score is None:
                summary.unscored += 1
                summary.needs_third += bool(third)
            else:
                summary.scored += 1
                summary.requested += requested
                summary.passing += bool(above)
            if within:
                summary.within += 1
                summary.line_after, summary.committed = position, cumulative
                summary.recommended += requested
            if decision is not None and decision.value == APPROVE:
                summary.approved += amount if amount is not None else requested
        summary.reserve = summary.passing - summary.within
        envelopes.append(summary)
        ordered += stage_rows
    return envelopes, ordered


def _cached_order(call: Call, key: tuple) -> tuple[list[EnvelopeSummary], list[tuple]]:
    return _ordered_lists.get(call.id, key, lambda: _order_whole_call(call))


def _cached_slice(call: Call, key: tuple, *, places, span, si_stage, scored_only) -> RankingSlice:
    envelopes, ordered = _cached_order(call, key)
    if si_stage is not None:  # that envelope's list alone: it starts at its first row
        envelopes = [replace(e, start=0) for e in envelopes if e.si_stage == si_stage]
        listed = [(row[2], row) for row in ordered if row[1] == si_stage]
    else:
        listed = list(enumerate(ordered, start=1))
    picked = []
    for place, row in listed:
        code, position, score = row[1], row[2], row[3]
        if ((places and code in places and places[code][0] <= position <= places[code][1])
                or (span and span[0] <= place <= span[1])) and not (scored_only and score is None):
            picked.append(row)
    if not picked:
        return RankingSlice(envelopes, [])
    ids = [row[0] for row in picked]
    reviews = (sa.select(sa.func.count()).select_from(Review)
               .join(Assignment, Assignment.id == Review.assignment_id)
               .where(Review.application_id == Application.id, Review.submitted_at.is_not(None),
                      Assignment.gate_stage == "")
               .correlate(Application).scalar_subquery())
    shown = {app_id: rest for app_id, *rest in db.session.execute(
        sa.select(Application.id, Application.title, Organisation.name, Application.state,
                  EvaluationResult.discrepancy, sa.cast(EvaluationResult.failed_minima, sa.Text), reviews)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(EvaluationResult, sa.and_(EvaluationResult.application_id == Application.id,
                                             EvaluationResult.gate_stage == ""))
        .where(Application.id.in_(ids)))}
    rows = []
    for (app_id, code, position, score, above, requested, cumulative, envelope, decision, amount, third) in picked:
        title, organisation, state, discrepancy, minima, n_reviews = shown[app_id]
        row = RankRow(application_id=app_id, title=title, organisation=organisation, si_stage=code, state=state,
                      requested_amount=requested, submitted_at=None, final_score=score, reviews=n_reviews or 0,
                      needs_third=bool(third), discrepancy=bool(discrepancy), above_threshold=bool(above),
                      failed_minima=_codes(minima), decision=decision.value if decision is not None else None,
                      decided_amount=amount, envelope=envelope)
        if score is not None:
            row.rank, row.cumulative_amount = position, cumulative
            row.within_budget = bool(above) and cumulative <= envelope
            row.recommendation = REJECT if not row.above_threshold else APPROVE if row.within_budget else RESERVE
        rows.append(row)
    return RankingSlice(envelopes, rows)


def ranking_slice(call: Call, *, places: dict[str, tuple[int, int]] | None = None,
                  span: tuple[int, int] | None = None, si_stage: str | None = None,
                  scored_only: bool = False) -> RankingSlice:
    """Rows of the ranking and the envelopes' totals (see ``_direct_slice`` for ``places``, ``span``,
    ``si_stage``): two statements for a small call (the fingerprint, then the slice), two for a large call whose
    order is kept (the fingerprint, then the page's rows), three when it has to be ordered again."""
    key = _fingerprint(call)
    if key[1][0] < CACHE_FROM:
        return _direct_slice(call, places=places, span=span, si_stage=si_stage, scored_only=scored_only)
    return _cached_slice(call, key, places=places, span=span, si_stage=si_stage, scored_only=scored_only)


def shown_row(call: Call, application_id: int) -> RankRow | None:
    """The application's row as the ranking page shows it (rank, cumulative amount, recommendation), for the
    decision page: a large call's kept order (see ``ranking_slice``) is looked up rather than ordered again on
    every read; a small call is walked (``row_for``). Deciding itself (the guard) walks with ``row_for``."""
    key = _fingerprint(call)
    if key[1][0] < CACHE_FROM:
        return row_for(call, application_id)
    _envelopes, ordered = _cached_order(call, key)
    found = next((row for row in ordered if row[0] == application_id), None)
    if found is None:
        return None
    code, position = found[1], found[2]
    sliced = _cached_slice(call, key, places={code: (position, position)}, span=None, si_stage=None,
                           scored_only=False)
    return next((row for row in sliced.rows if row.application_id == application_id), None)


def envelope_summaries(call: Call, si_stage: str | None = None) -> list[EnvelopeSummary]:
    """The call's envelopes in order (one when ``si_stage`` is given) with their counts, the funding line and
    the amounts."""
    return ranking_slice(call, si_stage=si_stage).envelopes


def tie_break_text(call: Call) -> str:
    return str(TIE_BREAKS[rubric_of(call.rubric).tie_break])
