"""Evaluation rounds: assignments and consolidated results belong to the selection (empty
``gate_stage``) or to the stage gate of a stage-gated award (the stage the gate opens).

Revision ID: 0010_evaluation_rounds
Revises: 0009_grants_after_award
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010_evaluation_rounds'
down_revision = '0009_grants_after_award'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gate_stage', sa.String(length=40), server_default='', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_assignments_application_id_evaluator_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_assignments_application_id_evaluator_id_gate_stage'), ['application_id', 'evaluator_id', 'gate_stage'])

    with op.batch_alter_table('evaluation_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gate_stage', sa.String(length=40), server_default='', nullable=False))
        batch_op.drop_constraint(batch_op.f('uq_evaluation_results_application_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_evaluation_results_application_id_gate_stage'), ['application_id', 'gate_stage'])


def downgrade():
    with op.batch_alter_table('evaluation_results', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_evaluation_results_application_id_gate_stage'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_evaluation_results_application_id'), ['application_id'])
        batch_op.drop_column('gate_stage')

    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_assignments_application_id_evaluator_id_gate_stage'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_assignments_application_id_evaluator_id'), ['application_id', 'evaluator_id'])
        batch_op.drop_column('gate_stage')
