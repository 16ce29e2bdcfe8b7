"""Applications remember the state an appeal came from.

Revision ID: 0003_appeal_origin
Revises: 0002_audit
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_appeal_origin'
down_revision = '0002_audit'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appealed_from', sa.String(length=40), nullable=True))
        batch_op.create_check_constraint('appeal_origin', "state <> 'appealed' OR appealed_from IS NOT NULL")


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_constraint('appeal_origin', type_='check')
        batch_op.drop_column('appealed_from')
