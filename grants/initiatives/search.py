"""Searching initiatives by their words (``grants.core.search``; the public registry's search): the title,
the description and the organisation's name, diacritics and case folded, the last word as a prefix.

``Initiative.search_text`` is kept at every flush, in the transaction of the change it mirrors, whoever
makes it: a new initiative, a changed title, description or organisation, an organisation renamed. Rows
written without the ORM (the bench builder's bulk inserts) fill it with :func:`initiative_search_text`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, attributes

from grants.core import search
from grants.initiatives.models import Initiative
from grants.organisations.models import Organisation

#: Attributes of an initiative its search text is made of.
_OWN = ("title", "description", "organisation", "organisation_id")


def initiative_search_text(title: str | None, description: str | None, organisation_name: str | None) -> str:
    """What ``initiatives.search_text`` holds for an initiative."""
    return search.search_text(title, description, organisation_name)


def matches(query: str) -> sa.ColumnElement[bool]:
    """A condition on ``Initiative``: it matches the search ``query``."""
    return search.matches(Initiative.__table__, query)


def _changed(obj, names) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@sa.event.listens_for(Session, "before_flush")
def _keep_search_text(session: Session, flush_context, instances) -> None:
    written: set[int] = set()
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, Initiative) or not (obj in session.new or _changed(obj, _OWN)):
            continue
        organisation = obj.organisation
        if organisation is None and obj.organisation_id is not None:
            organisation = session.get(Organisation, obj.organisation_id)
        obj.search_text = initiative_search_text(obj.title, obj.description, getattr(organisation, "name", None))
        if obj.id is not None:
            written.add(obj.id)
    renamed = {obj.id for obj in session.dirty if isinstance(obj, Organisation) and _changed(obj, ("name",))}
    if renamed:
        _rewrite(session, renamed, written)


def _rewrite(session: Session, organisation_ids: set[int], written: set[int]) -> None:
    """The search text of the stored initiatives of renamed organisations: one read, one write (their
    version does not move: the initiative itself did not change)."""
    names = {obj.id: obj.name for obj in session.dirty if isinstance(obj, Organisation) and obj.id in organisation_ids}
    values = []
    for initiative_id, title, description, organisation_id in session.execute(
            sa.select(Initiative.id, Initiative.title, Initiative.description, Initiative.organisation_id)
            .where(Initiative.organisation_id.in_(organisation_ids))):
        if initiative_id in written:
            continue
        obj = session.identity_map.get(session.identity_key(Initiative, initiative_id))
        if obj is not None:  # not changed itself (else it would be written), so as stored
            title, description = obj.title, obj.description
        text = initiative_search_text(title, description, names[organisation_id])
        values.append({"_id": initiative_id, "_text": text})
        if obj is not None:
            attributes.set_committed_value(obj, "search_text", text)
    if values:
        table = Initiative.__table__
        session.execute(table.update().where(table.c.id == sa.bindparam("_id"))
                        .values(search_text=sa.bindparam("_text")), values)
