"""Eligibility: a ruleset on each call, results per rule and submission round, the de minimis register.

Revision ID: 0007_eligibility
Revises: 0006_invitations
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007_eligibility'
down_revision = '0006_invitations'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('de_minimis_aid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registration_number', sa.String(length=50), nullable=False),
    sa.Column('undertaking', sa.String(length=300), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('granted_on', sa.Date(), nullable=False),
    sa.Column('granting_authority', sa.String(length=300), nullable=False),
    sa.Column('source', sa.Enum('import', 'award', 'manual', name='aid_source', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_cents >= 0', name=op.f('ck_de_minimis_aid_amount_not_negative')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_de_minimis_aid_application_id_applications'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_de_minimis_aid'))
    )
    with op.batch_alter_table('de_minimis_aid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_de_minimis_aid_registration_number'), ['registration_number'], unique=False)

    op.create_table('eligibility_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('rule_code', sa.String(length=60), nullable=False),
    sa.Column('severity', sa.Enum('blocking', 'manual', 'warning', name='eligibility_severity', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('outcome', sa.Enum('pass', 'fail', 'manual', name='eligibility_outcome', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('title_lv', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('message_lv', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('inputs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('decided_outcome', sa.Enum('pass', 'fail', 'manual', name='eligibility_decision', native_enum=False, create_constraint=True, length=40), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('justification', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decided_outcome IS NULL OR decided_outcome <> 'manual'", name=op.f('ck_eligibility_results_decided_is_final')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_eligibility_results_application_id_applications'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_eligibility_results_decided_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_results')),
    sa.UniqueConstraint('application_id', 'round', 'rule_code', name=op.f('uq_eligibility_results_application_id_round_rule_code'))
    )
    with op.batch_alter_table('eligibility_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eligibility_results_application_id'), ['application_id'], unique=False)
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eligibility_rules',
                                      sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                      nullable=False, server_default='[]'))
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.alter_column('eligibility_rules', server_default=None)



def downgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('eligibility_rules')

    with op.batch_alter_table('eligibility_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eligibility_results_application_id'))
    op.drop_table('eligibility_results')
    with op.batch_alter_table('de_minimis_aid', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_de_minimis_aid_registration_number'))

    op.drop_table('de_minimis_aid')
