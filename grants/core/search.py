"""Full-text search, the same on both databases (DESIGN §9, §11; issue 15 item 2).

A searchable table keeps a ``search_text`` column: the words of what a search should find, folded
(lower case, no diacritics: "Sieviešu" is kept as "sieviesu") and separated by single spaces. The
domain that owns the table keeps the column right in the same flush as the change it mirrors (see
``grants.applications.search`` and ``grants.initiatives.search``). The databases index it:

- PostgreSQL: a GIN index on ``to_tsvector('simple', search_text)`` (the ``simple`` configuration: no
  stemming, no stop words; the text is already folded);
- SQLite: an FTS5 table ``<table>_fts`` whose content is the table itself (``content=<table>``),
  kept by triggers on insert, on update of ``search_text`` and on delete (migration 0015).

A search is folded the same way and split into words; every word must occur, the last one as a prefix
(as the person types: "darb" finds "darba"; from two letters on). Only the folded words (letters and digits) reach the
query syntax, each quoted, so quotes, ``*``, ``:``, ``&``, ``|``, ``!``, brackets, NEAR, AND or OR
typed in are plain text, never operators. A search without any word finds nothing.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

from grants.core.db import db

#: Words of a search that are used (a longer search is cut: every word must match anyway).
MAX_QUERY_WORDS = 12
#: A last word shorter than this is matched whole, not as a prefix (a one-letter prefix matches most rows and
#: finds nothing one would look for).
MIN_PREFIX = 2
#: Longer "words" are not indexed (PostgreSQL refuses to index words over 2,047 bytes; nobody searches
#: for a pasted hash or URL).
MAX_WORD_LENGTH = 100
#: The PostgreSQL text search configuration; written out so the index expression and the query's match.
PG_CONFIG = "'simple'::regconfig"
#: Letters and digits: anything else (punctuation, quotes, operators, underscores) separates words.
_WORD = re.compile(r"[^\W_]+")


def fold(text: str | None) -> str:
    """``text`` without diacritics, in lower case (ā→a, č→c, ģ→g, ķ→k, ļ→l, ņ→n, ŗ→r, ō→o, š→s, ž→z …)."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def words(text: str | None) -> list[str]:
    """The folded words of ``text``."""
    return [word for word in _WORD.findall(fold(text)) if len(word) <= MAX_WORD_LENGTH]


def search_text(*parts: str | None) -> str:
    """What a ``search_text`` column holds for a row whose searchable texts are ``parts``."""
    return " ".join(word for part in parts for word in words(part))


def query_words(query: str | None) -> list[str]:
    """The words a search looks for (at most :data:`MAX_QUERY_WORDS`)."""
    return words(query)[:MAX_QUERY_WORDS]


def tsquery(terms: list[str]) -> str:
    """PostgreSQL ``to_tsquery`` text: every word, quoted, the last as a prefix."""
    quoted = ["'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in terms]
    if len(terms[-1]) >= MIN_PREFIX:
        quoted[-1] += ":*"
    return " & ".join(quoted)


def fts5_query(terms: list[str]) -> str:
    """SQLite FTS5 ``MATCH`` text: every word as a quoted string, the last as a prefix."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
    if len(terms[-1]) >= MIN_PREFIX:
        quoted[-1] += "*"
    return " AND ".join(quoted)


def fts_table_name(table: sa.Table) -> str:
    """The SQLite FTS5 table indexing ``table``'s ``search_text``."""
    return f"{table.name}_fts"


def matching_ids(table: sa.Table, query: str) -> sa.Select:
    """The ids of ``table``'s rows matching ``query`` (a select for ``IN``; empty when it has no word)."""
    terms = query_words(query)
    if not terms:
        return sa.select(table.c.id).where(sa.false())
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.select(table.c.id).where(_pg_match(table, terms))
    name = fts_table_name(table)
    fts = sa.table(name, sa.column(name), sa.column("rowid"))
    return sa.select(fts.c.rowid).where(fts.c[name].op("MATCH")(sa.literal(fts5_query(terms), sa.String)))


def matches(table: sa.Table, query: str) -> sa.ColumnElement[bool]:
    """A condition on ``table``'s rows: they match ``query``. PostgreSQL tests the row itself (the GIN
    index answers it), SQLite looks the ids up in the FTS5 table."""
    terms = query_words(query)
    if not terms:
        return sa.false()
    if db.session.get_bind().dialect.name == "postgresql":
        return _pg_match(table, terms)
    return table.c.id.in_(matching_ids(table, query))


def unindexed(column) -> sa.ColumnElement:
    """``column`` as an expression no index serves (its value unchanged), for the order of a searched list:
    the database then finds the matches by the full-text index and sorts them, at a cost bounded by the
    matches. Ordered by the column itself, PostgreSQL may read the column's index instead and test every
    row until it has a page: it expects a prefix search to match a fixed share of the rows, and a word
    nobody used then reads the whole table, testing each row (two seconds at 100,000 applications)."""
    return sa.func.coalesce(column, column)


def _pg_match(table: sa.Table, terms: list[str]) -> sa.ColumnElement[bool]:
    config = sa.literal_column(PG_CONFIG)
    vector = sa.func.to_tsvector(config, table.c.search_text)
    return vector.op("@@")(sa.func.to_tsquery(config, sa.literal(tsquery(terms), sa.String)))


def pg_index(name: str) -> sa.Index:
    """The GIN index over a table's ``search_text`` (PostgreSQL only; SQLite has its FTS5 table)."""
    return sa.Index(name, sa.text(f"to_tsvector({PG_CONFIG}, search_text)"),
                    postgresql_using="gin").ddl_if(dialect="postgresql")


#: The shadow tables FTS5 keeps beside a virtual table.
_FTS5_SHADOWS = ("_data", "_idx", "_docsize", "_config", "_content")


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's filter: the SQLite FTS5 tables (and their shadow tables) are made by migration 0015 and
    are not models; autogenerate and the models-against-migrations test leave them out."""
    if type_ != "table" or not name:
        return True
    base = name
    for suffix in _FTS5_SHADOWS:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            break
    return not base.endswith("_fts")

