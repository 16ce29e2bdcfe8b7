"""Initiatives: reading, listing, creating and editing the profile.

The SI stage is set once, when the initiative is created; after that it moves only by the
initiative workflow (grants.workflows.services.act), never by an edit. Applications sit above
initiatives in the layers: what the initiative pages show of them comes through
:class:`ApplicationsOfInitiatives`, which grants.applications registers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from grants.audit.changes import changes, snapshot
from grants.audit.services import record_event
from grants.core.codes import Region
from grants.core.db import db
from grants.core.errors import Conflict, NotFound, PermissionDenied, UserInputError
from grants.core.roles import RoleCode
from grants.initiatives.models import Initiative
from grants.initiatives.stages import DEFAULT_STAGE_MODEL, STAGE_MODELS
from grants.organisations.models import Membership, Organisation
from grants.workflows.engine import state_def

#: The profile an applicant keeps; the SI stage is not among them (the workflow moves it).
PROFILE_FIELDS = ("title", "description", "theme", "target_groups", "region")
TITLE_MAX, DESCRIPTION_MAX, THEME_MAX = 300, 5000, 120
TARGET_GROUP_MAX, TARGET_GROUPS_MAX_ITEMS = 80, 20
#: Application states (by their workflow tag) that make the application a grant.
GRANT_TAGS = frozenset({"grant", "closed_positive"})


@dataclass(frozen=True)
class ApplicationsOfInitiatives:
    """What the initiative pages show of the applications, registered by grants.applications."""

    #: A subquery of ``(initiative_id, n)``: how many applications each initiative has.
    counts: Callable[[], sa.Subquery]
    #: The initiative's applications, oldest first, with what their rows show loaded.
    of: Callable[[Initiative], list]
    #: The stages its grants proved: ``[{si_stage, application_id, accepted_at}]``, oldest first.
    proven: Callable[[Initiative], list[dict[str, Any]]]


_applications: list[ApplicationsOfInitiatives] = []


def register_applications(provider: ApplicationsOfInitiatives) -> None:
    if _applications:
        raise ValueError("the applications of initiatives are registered twice")
    _applications.append(provider)


def _provider() -> ApplicationsOfInitiatives:
    if not _applications:
        raise RuntimeError("grants.applications registers the applications of initiatives; create the app first")
    return _applications[0]


def _reads_all(user) -> bool:
    return user.is_authenticated and user.is_staff


def can_read(user, initiative: Initiative) -> bool:
    """Programme staff and the members of the owning organisation (the public registry
    shows a public view of its own)."""
    return user.is_authenticated and (_reads_all(user) or user.is_member_of(initiative.organisation_id))


def can_edit(user, initiative: Initiative) -> bool:
    """Only the members of the owning organisation keep the profile; staff read it."""
    return user.is_authenticated and user.is_member_of(initiative.organisation_id)


def get_readable(user, initiative_id: int) -> Initiative:
    initiative = db.session.get(Initiative, initiative_id)
    if initiative is None or not can_read(user, initiative):
        raise NotFound()
    return initiative


def readable(user) -> sa.ColumnElement[bool]:
    """:func:`can_read` as a WHERE clause, for lists."""
    if _reads_all(user):
        return sa.true()
    return Initiative.organisation_id.in_(sa.select(Membership.organisation_id)
                                          .where(Membership.user_id == user.id))


def list_query(user, *, organisation_id: int | None = None, si_stage: str | None = None) -> sa.Select:
    """The initiatives ``user`` may read, by title; filters by organisation and SI stage."""
    query = sa.select(Initiative).where(readable(user)).order_by(Initiative.title, Initiative.id)
    if organisation_id is not None:
        query = query.where(Initiative.organisation_id == organisation_id)
    if si_stage:
        query = query.where(Initiative.current_stage == si_stage)
    return query


def page_with_counts(query: sa.Select, page: int, per_page: int) -> tuple[list[tuple[Initiative, int]], int]:
    """One page of ``query`` as ``(initiative, number of applications)`` rows, and the total.

    Two queries whatever the size: the count, then the rows. The page's initiatives are chosen
    first from the initiatives alone (an index of the order walked, or a sort of narrow rows);
    only they are read with their organisation (joined by the model) and their application
    count, a subquery correlated to the row (the applications' initiative index: joining the
    counts of every initiative grouped first read every application on every page)."""
    total = db.session.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    chosen = query.with_only_columns(Initiative.id).limit(per_page).offset((page - 1) * per_page).subquery("page")
    counts = _provider().counts()
    count = (sa.select(counts.c.n).where(counts.c.initiative_id == Initiative.id).correlate(Initiative)
             .scalar_subquery())
    rows = db.session.execute(
        query.add_columns(sa.func.coalesce(count, 0)).join(chosen, chosen.c.id == Initiative.id)).unique().all()
    return [(initiative, int(count)) for initiative, count in rows], total


def applications_of(initiative: Initiative) -> tuple[list, list]:
    """The initiative's applications, oldest first, split into those still applications and
    the grants (states tagged ``grant`` or ``closed_positive`` in their workflow)."""
    grants, others = [], []
    for application in _provider().of(initiative):
        state = state_def(application)
        (grants if state is not None and state.tag in GRANT_TAGS else others).append(application)
    return others, grants


def proven_stages(initiative: Initiative) -> list[dict[str, Any]]:
    """The SI stages the initiative's grants proved (accepted final report or passed stage gate)."""
    return _provider().proven(initiative)


def _clean_profile(data: dict[str, Any], errors: dict[str, list[str]], *, creating: bool) -> dict[str, Any]:
    """The profile fields of ``data``, stripped and checked; problems go to ``errors`` by field."""
    cleaned: dict[str, Any] = {}
    for key, limit in (("title", TITLE_MAX), ("description", DESCRIPTION_MAX), ("theme", THEME_MAX)):
        if key not in data:
            continue
        value = ("" if data[key] is None else str(data[key])).strip()
        if len(value) > limit:
            errors[key] = [_("Use at most %(max)d characters.", max=limit)]
        cleaned[key] = value
    if (creating or "title" in data) and not cleaned.get("title"):
        errors["title"] = [_("Enter the initiative's title.")]
    if "target_groups" in data:
        groups = data["target_groups"] or []
        if isinstance(groups, str):
            groups = groups.splitlines()
        groups = [str(group).strip() for group in groups]
        groups = list(dict.fromkeys(group for group in groups if group))  # no blanks, no repeats
        messages = []
        if len(groups) > TARGET_GROUPS_MAX_ITEMS:
            messages.append(_("Name at most %(max)d target groups.", max=TARGET_GROUPS_MAX_ITEMS))
        if any(len(group) > TARGET_GROUP_MAX for group in groups):
            messages.append(_("Keep each target group to at most %(max)d characters.", max=TARGET_GROUP_MAX))
        if messages:
            errors["target_groups"] = messages
        cleaned["target_groups"] = groups
    if "region" in data:
        region = data["region"]
        if region in (None, ""):
            cleaned["region"] = None
        else:
            try:
                cleaned["region"] = Region(region)
            except ValueError:
                errors["region"] = [_("Choose one of the planning regions.")]
    return cleaned


def create_initiative(user, data: dict[str, Any]) -> Initiative:
    """Create an initiative of one of the user's organisations, at the SI stage it has reached
    (``si_stage``; the first stage of the model when not given).

    Everything is checked before anything is written, and reported by field."""
    errors: dict[str, list[str]] = {}
    organisation = db.session.get(Organisation, data.get("organisation_id") or 0)
    if organisation is None or not user.is_member_of(organisation.id):
        errors["organisation_id"] = [_("Choose an organisation you belong to.")]
    cleaned = _clean_profile(data, errors, creating=True)
    model = STAGE_MODELS[DEFAULT_STAGE_MODEL]
    stage = data.get("si_stage") or model.codes[0]
    if stage not in model.codes:
        errors["si_stage"] = [_("Choose one of the SI stages.")]
    if errors:
        raise UserInputError(fields=errors)
    initiative = Initiative(organisation=organisation, stage_model=model.code, current_stage=stage,
                            **{"description": "", "theme": "", "target_groups": [], "region": None, **cleaned})
    db.session.add(initiative)
    db.session.flush()
    record_event(action="initiative.create", object_type="initiative", object_id=initiative.id, actor=user,
                 role=RoleCode.APPLICANT,
                 payload={"after": {**snapshot(initiative, PROFILE_FIELDS), "current_stage": stage,
                                    "organisation_id": organisation.id}})
    return initiative


def update_initiative(initiative: Initiative, user, data: dict[str, Any], version: int) -> Initiative:
    """Change the profile (not the SI stage); ``version`` is the one the user saw: a stale one
    is a conflict, never a silent overwrite. What changed is audited field by field."""
    if not can_edit(user, initiative):
        raise PermissionDenied()
    if version != initiative.version:
        raise Conflict()
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise UserInputError(fields={key: [_("This field cannot be changed here.")] for key in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    cleaned = _clean_profile(data, errors, creating=False)
    if errors:
        raise UserInputError(fields=errors)
    before = snapshot(initiative, PROFILE_FIELDS)
    for key, value in cleaned.items():
        setattr(initiative, key, value)
    changed = changes(before, snapshot(initiative, PROFILE_FIELDS))
    if changed:
        try:
            db.session.flush()
        except StaleDataError:
            raise Conflict() from None
        record_event(action="initiative.update", object_type="initiative", object_id=initiative.id, actor=user,
                     role=RoleCode.APPLICANT, payload={"changes": changed})
    return initiative
