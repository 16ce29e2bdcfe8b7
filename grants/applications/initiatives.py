"""The applications of an initiative, as the initiative pages show them: registered with
grants.initiatives.services, which sits below applications and cannot ask for them itself."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.calls.models import Call
from grants.core.db import db
from grants.initiatives.models import Initiative
from grants.initiatives.services import ApplicationsOfInitiatives, register_applications


def application_counts() -> sa.Subquery:
    """``(initiative_id, n)``: how many applications each initiative has, one grouped subquery."""
    return (sa.select(Application.initiative_id, sa.func.count(Application.id).label("n"))
            .group_by(Application.initiative_id).subquery())


def applications_of(initiative: Initiative) -> list[Application]:
    """The initiative's applications, oldest first, with their calls and programmes (one query)."""
    return list(db.session.scalars(
        sa.select(Application).where(Application.initiative_id == initiative.id)
        .options(sa.orm.joinedload(Application.call).joinedload(Call.programme))
        .order_by(Application.created_at, Application.id)).unique().all())


#: The transitions that accept a stage's results (the application's ``record_stage_evidence``).
PROVING_ACTIONS = ("application.accept_final_report", "application.pass_gate")


def proven_stages(initiative: Initiative) -> list[dict[str, Any]]:
    """The SI stages the initiative's grants proved, oldest first: ``{si_stage, application_id,
    accepted_at}``, dated by the audited transition that accepted each (two queries)."""
    applications = db.session.execute(
        sa.select(Application.id, Application.proven_stages)
        .where(Application.initiative_id == initiative.id)).all()
    proving = {app_id: list(stages) for app_id, stages in applications if stages}
    if not proving:
        return []
    events: dict[int, list] = {}
    for object_id, occurred_at in db.session.execute(
            sa.select(AuditEvent.object_id, AuditEvent.occurred_at)
            .where(AuditEvent.object_type == "application", AuditEvent.object_id.in_([str(i) for i in proving]),
                   AuditEvent.action.in_(PROVING_ACTIONS))
            .order_by(AuditEvent.id)):
        events.setdefault(int(object_id), []).append(occurred_at)
    # Each accepting transition proved the next stage of the application's list, in order.
    proofs = [{"si_stage": stage, "application_id": app_id, "accepted_at": when}
              for app_id, stages in proving.items()
              for stage, when in zip(stages, events.get(app_id, []), strict=False)]
    return sorted(proofs, key=lambda proof: (proof["accepted_at"], proof["application_id"]))


register_applications(ApplicationsOfInitiatives(counts=application_counts, of=applications_of,
                                                proven=proven_stages))
