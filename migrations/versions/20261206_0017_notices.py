"""In-app notifications: ``notices`` (a copy of each message the outbox e-mails to a registered person) and
``users.unread_notices``, the number of them unread (shown on every page without a statement of its own).

Revision ID: 0017_notices
Revises: 0016_scale_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_notices'
down_revision = '0016_scale_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('object_type', sa.String(length=60), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices'))
    )
    op.create_index('ix_notices_user_id_id', 'notices', ['user_id', 'id'], unique=False)
    op.add_column('users', sa.Column('unread_notices', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    op.drop_column('users', 'unread_notices')
    op.drop_index('ix_notices_user_id_id', table_name='notices')
    op.drop_table('notices')
