"""Evaluation: the evaluator pool of a call, evaluators' declared relations, assignments (a
workflow object: declaration, review, submission), reviews and the consolidated result.

The rubric itself is plain JSON on the call (``Call.rubric``, grants.evaluations.rubrics),
frozen with the call version.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from grants.applications.models import Application, Submission
from grants.core.db import JSONType, Points, TimestampMixin, UTCDateTime, db, utcnow
from grants.organisations.models import Organisation
from grants.users.models import User
from grants.workflows.engine import protect_state


class PoolMember(TimestampMixin, db.Model):
    """An evaluator an officer added to a call's pool: only they are assigned its applications."""

    __tablename__ = "call_evaluators"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")

    __table_args__ = (sa.UniqueConstraint("call_id", "user_id"),)


class Relation(TimestampMixin, db.Model):
    """A relation an evaluator declared with an organisation (board member, employee, relative,
    recent contract…): they are never assigned its applications."""

    __tablename__ = "evaluator_relations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(sa.Text, default="")

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_id"),)


#: Every state of the assignment workflow (grants/workflows/definitions/assignment_v1.yaml), in its order.
ASSIGNMENT_STATES = ("assigned", "accepted", "submitted", "recused", "withdrawn")
#: Assignment states that still count: the evaluator is expected to (or did) review.
ACTIVE_STATES = ("assigned", "accepted", "submitted")
#: Assignment states in which the evaluator may read the application (declared no conflict).
READING_STATES = ("accepted", "submitted")
#: Assignment states with work still to do.
OPEN_STATES = ("assigned", "accepted")


class Assignment(TimestampMixin, db.Model):
    """One evaluator asked to score one application; moved by the ``assignment`` workflow:
    ``assigned`` (declaration pending) → ``accepted`` (no conflict declared: may read and score) →
    ``submitted`` (review locked); or ``recused`` (conflict declared) or ``withdrawn`` (an
    officer reassigned it)."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"))
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="RESTRICT"))
    evaluator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    #: The submitted snapshot the evaluator is asked to judge.
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id", ondelete="RESTRICT"))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Who assigned it (None: the system, e.g. a third evaluator after a discrepancy).
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: Why: ``auto`` (auto-assignment), ``third`` (discrepancy), ``replacement`` (after a recusal or
    #: reassignment) or ``manual`` (an officer chose the evaluator).
    reason: Mapped[str] = mapped_column(sa.String(20), default="auto")
    #: The evaluation round: empty for the selection of the application; for a stage gate of a
    #: stage-gated award, the SI stage the gate opens (scored with that stage's rubric).
    gate_stage: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    #: The assignment this one replaces (recused or withdrawn).
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id", ondelete="SET NULL"))
    has_conflict: Mapped[bool | None] = mapped_column(sa.Boolean)
    statement: Mapped[str] = mapped_column(sa.Text, default="")
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(sa.String(40), default="assigned")
    workflow_name: Mapped[str] = mapped_column(sa.String(60), default="assignment")
    workflow_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    application: Mapped[Application] = relationship(lazy="joined", innerjoin=True)
    evaluator: Mapped[User] = relationship(foreign_keys=[evaluator_id], lazy="joined", innerjoin=True)
    submission: Mapped[Submission] = relationship()
    review: Mapped[Review | None] = relationship(back_populates="assignment", lazy="selectin", uselist=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.UniqueConstraint("application_id", "evaluator_id", "gate_stage"),
        sa.Index("ix_assignments_evaluator_id_state", "evaluator_id", "state"),
        sa.Index("ix_assignments_call_id_state", "call_id", "state"),
        # the call's assignments page, in the API's order (application, then assignment)
        sa.Index("ix_assignments_call_id_application_id_id", "call_id", "application_id", "id"),
        # an evaluator pool's open work per call, read from the index alone
        sa.Index("ix_assignments_evaluator_id_state_call_id", "evaluator_id", "state", "call_id"),
        # a call's overdue open assignments, soonest due first, without sorting them
        sa.Index("ix_assignments_open_call_id_due_at_id", "call_id", "due_at", "id",
                 postgresql_where=sa.text("state IN ('assigned', 'accepted')"),
                 sqlite_where=sa.text("state IN ('assigned', 'accepted')")),
        sa.Index("ix_assignments_application_id", "application_id"),
        sa.CheckConstraint("state NOT IN ('accepted', 'submitted') "
                           "OR (has_conflict IS NOT NULL AND has_conflict = false)",
                           name="declared_before_review"),
    )

    @property
    def is_overdue(self) -> bool:
        return self.state in OPEN_STATES and self.due_at < utcnow()

    def __repr__(self) -> str:
        return f"<Assignment {self.id} app={self.application_id} evaluator={self.evaluator_id} {self.state}>"


protect_state(Assignment.state)


class Review(TimestampMixin, db.Model):
    """An evaluator's scores and comments per criterion and a summary; a draft until the
    assignment's ``submit_review``, then locked (an officer may return it for correction)."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id", ondelete="RESTRICT"), unique=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"), index=True)
    #: Points per criterion code (numbers, at most two decimals).
    scores: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    comments: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    #: Weighted total of the scores.
    total: Mapped[Decimal] = mapped_column("total_x100", Points, default=Decimal(0))
    #: The snapshot judged (SHA-256 of the submission), fixed when the review is submitted.
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="review")

    __mapper_args__ = {"version_id_col": version}


class EvaluationResult(TimestampMixin, db.Model):
    """The consolidated result of an application's reviews (DESIGN §6): the final score, the
    per-criterion scores it rests on, the pass decision and whether a third evaluator is awaited."""

    __tablename__ = "evaluation_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id", ondelete="RESTRICT"))
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="RESTRICT"), index=True)
    #: The round (see :attr:`Assignment.gate_stage`): empty for the selection.
    gate_stage: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    #: Null while a third evaluation is awaited.
    final_score: Mapped[Decimal | None] = mapped_column("final_score_x100", Points)
    #: Criterion code → consolidated points (the average over the reviews used).
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: Final score at or above the threshold and every criterion minimum met.
    above_threshold: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: Codes of criteria below their minimum.
    failed_minima: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: The reviews' totals differed by more than the call's discrepancy share.
    discrepancy: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    needs_third: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: Ids of the reviews the final score averages.
    review_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    reviews_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    consolidated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.UniqueConstraint("application_id", "gate_stage"),)
