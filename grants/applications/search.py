"""Searching applications by their words (``grants.core.search``): the title, the organisation's name and
the initiative's title, diacritics and case folded, the last word as a prefix.

``Application.search_text`` is kept at every flush, in the transaction of the change it mirrors, whoever
makes it (a service, the demo, a test's factory): a new application, a changed title, organisation or
initiative, an organisation renamed, an initiative renamed. Rows written without the ORM (the bench
builder's bulk inserts) fill it with :func:`application_search_text`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, attributes

from grants.applications.models import Application
from grants.core import search
from grants.initiatives.models import Initiative
from grants.organisations.models import Organisation

#: Attributes of an application its search text is made of.
_OWN = ("title", "organisation", "organisation_id", "initiative", "initiative_id")


def application_search_text(title: str | None, organisation_name: str | None, initiative_title: str | None) -> str:
    """What ``applications.search_text`` holds for an application."""
    return search.search_text(title, organisation_name, initiative_title)


def matches(query: str) -> sa.ColumnElement[bool]:
    """A condition on ``Application``: it matches the search ``query``."""
    return search.matches(Application.__table__, query)


def newest_first_matching(select: sa.Select, query: str) -> sa.Select:
    """A list of applications, newest change first (``select``), narrowed to those matching ``query`` and
    sorted after the full-text index found them (see :func:`grants.core.search.unindexed`)."""
    return (select.where(matches(query)).order_by(None)
            .order_by(search.unindexed(Application.updated_at).desc(), Application.id.desc()))


def matching_ids(query: str) -> sa.Select:
    """The ids of the applications matching ``query`` (a select for ``IN``)."""
    return search.matching_ids(Application.__table__, query)


def _changed(obj, names) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _related(session: Session, obj, relation: str, model, key: str):
    """``obj.<relation>``, loaded by its key when only the key was set on a new object."""
    value = getattr(obj, relation)
    if value is None and getattr(obj, key) is not None:
        value = session.get(model, getattr(obj, key))
    return value


def _loaded(session: Session, model, ident, name: str, stored):
    """The value the flush will write: the object's in this session if it is there, else the stored one."""
    obj = session.identity_map.get(session.identity_key(model, ident))
    return sa.inspect(obj).dict.get(name, stored) if obj is not None else stored


@sa.event.listens_for(Session, "before_flush")
def _keep_search_text(session: Session, flush_context, instances) -> None:
    written: set[int] = set()
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, Application) or not (obj in session.new or _changed(obj, _OWN)):
            continue
        organisation = _related(session, obj, "organisation", Organisation, "organisation_id")
        initiative = _related(session, obj, "initiative", Initiative, "initiative_id")
        obj.search_text = application_search_text(obj.title, getattr(organisation, "name", None),
                                                  getattr(initiative, "title", None))
        if obj.id is not None:
            written.add(obj.id)
    renamed_organisations = {obj.id for obj in session.dirty
                             if isinstance(obj, Organisation) and _changed(obj, ("name",))}
    renamed_initiatives = {obj.id for obj in session.dirty if isinstance(obj, Initiative) and _changed(obj, ("title",))}
    if renamed_organisations or renamed_initiatives:
        _rewrite(session, renamed_organisations, renamed_initiatives, written)


def _rewrite(session: Session, organisation_ids: set[int], initiative_ids: set[int], written: set[int]) -> None:
    """The search text of the stored applications of renamed organisations and initiatives: one read, one
    write (neither their version nor their time of change moves: the application itself did not change)."""
    rows = session.execute(
        sa.select(Application.id, Application.title, Application.organisation_id, Organisation.name,
                  Application.initiative_id, Initiative.title)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .join(Initiative, Initiative.id == Application.initiative_id)
        .where(sa.or_(Application.organisation_id.in_(organisation_ids),
                      Application.initiative_id.in_(initiative_ids)))).all()
    values = []
    for app_id, title, organisation_id, name, initiative_id, initiative_title in rows:
        if app_id in written:
            continue
        text = application_search_text(_loaded(session, Application, app_id, "title", title),
                                       _loaded(session, Organisation, organisation_id, "name", name),
                                       _loaded(session, Initiative, initiative_id, "title", initiative_title))
        values.append({"_id": app_id, "_text": text})
        obj = session.identity_map.get(session.identity_key(Application, app_id))
        if obj is not None:
            attributes.set_committed_value(obj, "search_text", text)
    if values:
        table = Application.__table__
        session.execute(table.update().where(table.c.id == sa.bindparam("_id"))
                        .values(search_text=sa.bindparam("_text"), updated_at=table.c.updated_at), values)
