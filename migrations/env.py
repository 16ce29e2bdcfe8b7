"""Alembic environment: the database URL and metadata come from the Flask app."""

from alembic import context
from flask import current_app

config = context.config
db = current_app.extensions["migrate"].db


def run_migrations_offline() -> None:
    context.configure(url=str(db.engine.url), target_metadata=db.metadata, literal_binds=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # Tests hand over their own connection so schema and data share one database session.
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with db.engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    options = {"compare_type": True, **current_app.extensions["migrate"].configure_args}
    options["render_as_batch"] = connection.dialect.name == "sqlite"  # SQLite cannot ALTER much
    context.configure(connection=connection, target_metadata=db.metadata, **options)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
