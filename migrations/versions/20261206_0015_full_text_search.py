"""Full-text search over applications and the public registry (issue 15 item 2).

``applications.search_text`` (the folded words of the title, the organisation's name and the initiative's
title) and ``initiatives.search_text`` (title, description, organisation's name), filled here for the rows
there are and kept by the application afterwards (``grants.core.search``). PostgreSQL indexes them with GIN
on ``to_tsvector('simple', search_text)``; SQLite with FTS5 tables whose content is the table itself,
kept in step by triggers.

The folding below is a copy of ``grants.core.search.search_text`` (migrations import nothing of the app).

Revision ID: 0015_full_text_search
Revises: 0014_audit_verifications
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '0015_full_text_search'
down_revision = '0014_audit_verifications'
branch_labels = None
depends_on = None

TABLES = ("applications", "initiatives")
BATCH = 2000
_WORD = re.compile(r"[^\W_]+")


def _search_text(*parts):
    words = []
    for part in parts:
        if not part:
            continue
        folded = "".join(c for c in unicodedata.normalize("NFKD", part) if not unicodedata.combining(c)).casefold()
        words.extend(word for word in _WORD.findall(folded) if len(word) <= 100)
    return " ".join(words)


def _sqlite_fts(table):
    fts = f"{table}_fts"
    return (
        f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    )


def _fill(bind, table, select):
    target = sa.table(table, sa.column("id"), sa.column("search_text"))
    update = target.update().where(target.c.id == sa.bindparam("_id")).values(search_text=sa.bindparam("_text"))
    last = 0
    while True:
        rows = bind.execute(sa.text(select), {"last": last, "batch": BATCH}).all()
        if not rows:
            return
        bind.execute(update, [{"_id": row[0], "_text": _search_text(*row[1:])} for row in rows])
        last = rows[-1][0]


def upgrade():
    for table in TABLES:
        op.add_column(table, sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    bind = op.get_bind()
    _fill(bind, "applications",
          "SELECT a.id, a.title, o.name, i.title FROM applications a JOIN organisations o ON o.id = a.organisation_id "
          "JOIN initiatives i ON i.id = a.initiative_id WHERE a.id > :last ORDER BY a.id LIMIT :batch")
    _fill(bind, "initiatives",
          "SELECT i.id, i.title, i.description, o.name FROM initiatives i "
          "JOIN organisations o ON o.id = i.organisation_id WHERE i.id > :last ORDER BY i.id LIMIT :batch")
    if bind.dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"CREATE INDEX ix_{table}_search ON {table} "
                       "USING gin (to_tsvector('simple'::regconfig, search_text))")
    else:
        for table in TABLES:
            for statement in _sqlite_fts(table):
                op.execute(statement)


def downgrade():
    bind = op.get_bind()
    for table in TABLES:
        if bind.dialect.name == "postgresql":
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
        else:
            for kind in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{kind}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        op.drop_column(table, "search_text")
