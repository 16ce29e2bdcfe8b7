"""Audit verifications (runs of the chain's check, made in the background) and the audit_head row protected.

Triggers on audit_head, as on audit_events: no DELETE (nor TRUNCATE on PostgreSQL), no second row, and an
UPDATE only when it changes nothing (a writer taking the append lock on SQLite) or advances the head to the
newest event: a larger event id, the largest in audit_events, with that event's hash. The head can then
never be moved back to hide the newest events, nor pointed at a hash that is not in the log.

Revision ID: 0014_audit_verifications
Revises: 0013_user_erasure
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014_audit_verifications'
down_revision = '0013_user_erasure'
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
ADVANCE_ONLY = "audit_head is append-only: it only advances to the newest event"

SQLITE_UPGRADE = (
    "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_head is append-only'); END;",
    # The seed row of a database built without it (grants.audit.services._lock_head) is the only insert.
    "CREATE TRIGGER audit_head_one_row BEFORE INSERT ON audit_head "
    f"WHEN EXISTS (SELECT 1 FROM audit_head) OR NEW.event_id IS NOT NULL OR NEW.hash IS NOT '{GENESIS_HASH}' "
    "BEGIN SELECT RAISE(ABORT, 'audit_head is append-only: it has one row'); END;",
    # coalesce: a comparison with NULL (an event id set to NULL) is refused, not let through.
    "CREATE TRIGGER audit_head_advance_only BEFORE UPDATE ON audit_head "
    "WHEN NOT coalesce(NEW.id IS OLD.id AND ((NEW.hash IS OLD.hash AND NEW.event_id IS OLD.event_id) "
    "OR (NEW.event_id > coalesce(OLD.event_id, 0) "
    "AND NEW.event_id = (SELECT max(id) FROM audit_events) "
    "AND NEW.hash = (SELECT hash FROM audit_events WHERE id = NEW.event_id))), 0) "
    f"BEGIN SELECT RAISE(ABORT, '{ADVANCE_ONLY}'); END;",
)

SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS audit_head_advance_only",
    "DROP TRIGGER IF EXISTS audit_head_one_row",
    "DROP TRIGGER IF EXISTS audit_head_no_delete",
)

POSTGRES_UPGRADE = (
    f"""
    CREATE FUNCTION audit_head_advance_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF NEW.id = OLD.id AND NEW.hash = OLD.hash AND NEW.event_id IS NOT DISTINCT FROM OLD.event_id THEN
                RETURN NEW;  -- nothing changes
            END IF;
            IF NEW.id = OLD.id AND NEW.event_id > coalesce(OLD.event_id, 0)
               AND NEW.event_id = (SELECT max(id) FROM audit_events)
               AND NEW.hash = (SELECT hash FROM audit_events WHERE id = NEW.event_id) THEN
                RETURN NEW;  -- an append: the head moves on to the newest event
            END IF;
            RAISE EXCEPTION '{ADVANCE_ONLY}' USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'INSERT' THEN
            IF NOT EXISTS (SELECT 1 FROM audit_head) AND NEW.event_id IS NULL AND NEW.hash = '{GENESIS_HASH}' THEN
                RETURN NEW;  -- the seed row of a database built without it
            END IF;
            RAISE EXCEPTION 'audit_head is append-only: it has one row' USING ERRCODE = 'restrict_violation';
        END IF;
        RAISE EXCEPTION 'audit_head is append-only' USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    "CREATE TRIGGER audit_head_advance_only BEFORE INSERT OR UPDATE OR DELETE ON audit_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_head_advance_only()",
    "CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_head_advance_only()",
)

POSTGRES_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_head",
    "DROP TRIGGER IF EXISTS audit_head_advance_only ON audit_head",
    "DROP FUNCTION IF EXISTS audit_head_advance_only()",
)


def upgrade():
    op.create_table('audit_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('events_checked', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=True),
    sa.Column('head_hash', sa.String(length=64), nullable=True),
    sa.Column('head_event_id', sa.Integer(), nullable=True),
    sa.Column('valid', sa.Boolean(), nullable=True),
    sa.Column('first_invalid_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("origin IN ('web', 'api', 'cli')", name=op.f('ck_audit_verifications_origin')),
    sa.CheckConstraint("state <> 'done' OR valid IS NOT NULL", name=op.f('ck_audit_verifications_done_has_verdict')),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_audit_verifications_state')),
    sa.CheckConstraint('events_checked >= 0', name=op.f('ck_audit_verifications_events_not_negative')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_audit_verifications_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_verifications'))
    )
    with op.batch_alter_table('audit_verifications', schema=None) as batch_op:
        batch_op.create_index('ix_audit_verifications_state', ['state'], unique=False)

    statements = POSTGRES_UPGRADE if op.get_bind().dialect.name == "postgresql" else SQLITE_UPGRADE
    for statement in statements:
        op.execute(statement)


def downgrade():
    statements = POSTGRES_DOWNGRADE if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWNGRADE
    for statement in statements:
        op.execute(statement)
    with op.batch_alter_table('audit_verifications', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_verifications_state')

    op.drop_table('audit_verifications')
