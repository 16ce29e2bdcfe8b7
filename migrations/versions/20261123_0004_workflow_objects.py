"""Initiatives run their own workflow; applications track the stage an award funds.

Revision ID: 0004_workflow_objects
Revises: 0003_appeal_origin
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004_workflow_objects'
down_revision = '0003_appeal_origin'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.add_column(sa.Column('workflow_name', sa.String(length=60), nullable=False,
                                      server_default='initiative'))
        batch_op.add_column(sa.Column('workflow_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.alter_column('workflow_name', server_default=None)
        batch_op.alter_column('workflow_version', server_default=None)
        batch_op.alter_column('version', server_default=None)

    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('award_stage', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('proven_stages', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
                                      nullable=False, server_default='[]'))
    op.execute("UPDATE applications SET award_stage = si_stage")
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.alter_column('award_stage', existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column('proven_stages', server_default=None)


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('proven_stages')
        batch_op.drop_column('award_stage')
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('workflow_version')
        batch_op.drop_column('workflow_name')
