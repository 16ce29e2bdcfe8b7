"""Grants after award: agreements, the reports they require, grant files, payments, progress and
final reports, indicators with their targets, irregularities and recovery orders.

Revision ID: 0009_grants_after_award
Revises: 0008_evaluation
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0009_grants_after_award'
down_revision = '0008_evaluation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('title_lv', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('unit_lv', sa.String(length=60), nullable=False),
    sa.Column('unit_en', sa.String(length=60), nullable=False),
    sa.Column('target_x100', sa.BigInteger(), nullable=True),
    sa.Column('is_common', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('target_x100 IS NULL OR target_x100 >= 0', name=op.f('ck_indicators_target_not_negative')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_indicators_programme_id_programmes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicators')),
    sa.UniqueConstraint('programme_id', 'code', name=op.f('uq_indicators_programme_id_code'))
    )
    op.create_table('indicator_call_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('target_x100', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('target_x100 >= 0', name=op.f('ck_indicator_call_targets_target_not_negative')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_indicator_call_targets_call_id_calls'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], name=op.f('fk_indicator_call_targets_indicator_id_indicators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_call_targets')),
    sa.UniqueConstraint('indicator_id', 'call_id', name=op.f('uq_indicator_call_targets_indicator_id_call_id'))
    )
    with op.batch_alter_table('indicator_call_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_call_targets_call_id'), ['call_id'], unique=False)

    op.create_table('grant_report_dues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('progress', 'final', name='report_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('si_stage', sa.String(length=40), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.CheckConstraint('period_end <= due_on', name=op.f('ck_grant_report_dues_due_after_period')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_grant_report_dues_application_id_applications'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_report_dues')),
    sa.UniqueConstraint('application_id', 'kind', 'period_end', name=op.f('uq_grant_report_dues_application_id_kind_period_end'))
    )
    with op.batch_alter_table('grant_report_dues', schema=None) as batch_op:
        batch_op.create_index('ix_grant_report_dues_due_on', ['due_on'], unique=False)

    op.create_table('irregularities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('detected_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('workflow_name', sa.String(length=60), nullable=False),
    sa.Column('workflow_version', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reported_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_irregularities_amount_positive')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_irregularities_application_id_applications'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reported_by_id'], ['users.id'], name=op.f('fk_irregularities_reported_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_irregularities'))
    )
    with op.batch_alter_table('irregularities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_irregularities_application_id'), ['application_id'], unique=False)
        batch_op.create_index('ix_irregularities_state', ['state'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('advance', 'interim', 'final', 'tranche', name='payment_kind', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('si_stage', sa.String(length=40), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('workflow_name', sa.String(length=60), nullable=False),
    sa.Column('workflow_version', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state <> 'paid' OR (paid_by_id IS NOT NULL AND paid_on IS NOT NULL)", name=op.f('ck_payments_paid_by')),
    sa.CheckConstraint("state NOT IN ('verified', 'paid') OR verified_by_id IS NOT NULL", name=op.f('ck_payments_verified_by')),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_payments_amount_positive')),
    sa.CheckConstraint('paid_by_id IS NULL OR verified_by_id IS NULL OR paid_by_id <> verified_by_id', name=op.f('ck_payments_verifier_not_payer')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_payments_application_id_applications'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payments_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['paid_by_id'], ['users.id'], name=op.f('fk_payments_paid_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_payments_requested_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_payments_verified_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_application_id', ['application_id'], unique=False)
        batch_op.create_index('ix_payments_state_due_on', ['state', 'due_on'], unique=False)

    op.create_table('grant_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('due_id', sa.Integer(), nullable=False),
    sa.Column('narrative', sa.Text(), nullable=False),
    sa.Column('indicators', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('expenditure', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('workflow_name', sa.String(length=60), nullable=False),
    sa.Column('workflow_version', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state <> 'accepted' OR accepted_at IS NOT NULL", name=op.f('ck_grant_reports_accepted_at')),
    sa.CheckConstraint("state NOT IN ('submitted', 'accepted') OR content_hash IS NOT NULL", name=op.f('ck_grant_reports_frozen')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_grant_reports_accepted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_grant_reports_application_id_applications'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_grant_reports_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['due_id'], ['grant_report_dues.id'], name=op.f('fk_grant_reports_due_id_grant_report_dues'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_reports')),
    sa.UniqueConstraint('due_id', name=op.f('uq_grant_reports_due_id'))
    )
    with op.batch_alter_table('grant_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_reports_application_id'), ['application_id'], unique=False)

    op.create_table('recovery_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('irregularity_id', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('recovered_amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('recovered_on', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_recovery_orders_amount_positive')),
    sa.CheckConstraint('issued_on <= due_on', name=op.f('ck_recovery_orders_due_after_issue')),
    sa.CheckConstraint('recovered_amount_cents >= 0 AND recovered_amount_cents <= amount_cents', name=op.f('ck_recovery_orders_recovered_within_order')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_recovery_orders_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['irregularity_id'], ['irregularities.id'], name=op.f('fk_recovery_orders_irregularity_id_irregularities'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_orders'))
    )
    with op.batch_alter_table('recovery_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_orders_irregularity_id'), ['irregularity_id'], unique=False)

    op.create_table('grant_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('agreement', 'report', name='grant_file_purpose', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=120), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('size >= 0', name=op.f('ck_grant_files_size_not_negative')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_grant_files_application_id_applications'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['report_id'], ['grant_reports.id'], name=op.f('fk_grant_files_report_id_grant_reports'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_grant_files_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_files')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_grant_files_storage_key'))
    )
    with op.batch_alter_table('grant_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_files_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grant_files_report_id'), ['report_id'], unique=False)

    op.create_table('grant_agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('awarded_amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('co_financing_rate_x100', sa.BigInteger(), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=False),
    sa.Column('tranches', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('indicator_targets', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('signed_file_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('awarded_amount_cents > 0', name=op.f('ck_grant_agreements_awarded_positive')),
    sa.CheckConstraint('co_financing_rate_x100 >= 0 AND co_financing_rate_x100 <= 10000', name=op.f('ck_grant_agreements_co_financing_rate_range')),
    sa.CheckConstraint('start_date <= end_date', name=op.f('ck_grant_agreements_period')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_grant_agreements_application_id_applications'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_grant_agreements_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_grant_agreements_programme_id_programmes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['signed_file_id'], ['grant_files.id'], name=op.f('fk_grant_agreements_signed_file_id_grant_files'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_agreements')),
    sa.UniqueConstraint('application_id', name=op.f('uq_grant_agreements_application_id')),
    sa.UniqueConstraint('programme_id', 'number', name=op.f('uq_grant_agreements_programme_id_number')),
    sa.UniqueConstraint('programme_id', 'sequence', name=op.f('uq_grant_agreements_programme_id_sequence'))
    )


def downgrade():
    op.drop_table('grant_agreements')
    with op.batch_alter_table('grant_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_files_report_id'))
        batch_op.drop_index(batch_op.f('ix_grant_files_application_id'))

    op.drop_table('grant_files')
    with op.batch_alter_table('recovery_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_orders_irregularity_id'))

    op.drop_table('recovery_orders')
    with op.batch_alter_table('grant_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_reports_application_id'))

    op.drop_table('grant_reports')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_state_due_on')
        batch_op.drop_index('ix_payments_application_id')

    op.drop_table('payments')
    with op.batch_alter_table('irregularities', schema=None) as batch_op:
        batch_op.drop_index('ix_irregularities_state')
        batch_op.drop_index(batch_op.f('ix_irregularities_application_id'))

    op.drop_table('irregularities')
    with op.batch_alter_table('grant_report_dues', schema=None) as batch_op:
        batch_op.drop_index('ix_grant_report_dues_due_on')

    op.drop_table('grant_report_dues')
    with op.batch_alter_table('indicator_call_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_call_targets_call_id'))

    op.drop_table('indicator_call_targets')
    op.drop_table('indicators')
