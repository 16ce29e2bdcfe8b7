"""The Alembic migrations build exactly the schema the models describe, on both databases."""

import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from grants import create_app
from grants.core.db import db
from grants.core.search import include_name
from tests.conftest import throwaway_database


def _differences(connection):
    # The SQLite FTS5 tables of the full-text search are made by a migration and are not models.
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
    with warnings.catch_warnings():
        if connection.dialect.name == "sqlite":  # it cannot reflect the (PostgreSQL-only) expression indexes
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_models(app):
    with db.engine.connect() as connection:
        assert _differences(connection) == []


def test_upgrade_downgrade_upgrade(tmp_path):
    with throwaway_database(tmp_path) as url:
        app = create_app("testing", DATABASE_URL=url)
        with app.app_context():
            upgrade()
            downgrade(revision="base")
            assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            with db.engine.connect() as connection:
                assert _differences(connection) == []
                roles = connection.execute(sa.text("SELECT code FROM roles ORDER BY id")).scalars().all()
            assert roles == ["applicant", "evaluator", "officer", "committee", "finance", "auditor", "admin"]
            db.engine.dispose()


def test_check_constraints_refuse_impossible_rows(app, session):
    from tests.factories import make_call

    call = make_call()
    call.stages[0].min_grant = call.stages[0].max_grant + 1
    try:
        session.flush()
    except sa.exc.IntegrityError:
        session.rollback()
    else:  # pragma: no cover - the assertion explains
        raise AssertionError("min_grant above max_grant was stored")
