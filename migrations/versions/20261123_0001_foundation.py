"""Foundation: accounts, roles, tokens, organisations, programmes, calls, initiatives, applications.

Money columns hold whole cents (``*_cents``); datetimes are UTC.

Revision ID: 0001_foundation
Revises: 
Create Date: 2026-11-23 14:18:42.701672

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0001_foundation'
down_revision = None
branch_labels = None
depends_on = None

ROLE_CODES = ("applicant", "evaluator", "officer", "committee", "finance", "auditor", "admin")


def upgrade():
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('registration_number', sa.String(length=50), nullable=False),
    sa.Column('legal_form', sa.Enum('association', 'foundation', 'religious_organisation', 'social_enterprise', 'company', 'municipality', 'public_institution', 'informal_group', name='legal_form', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('region', sa.Enum('riga', 'vidzeme', 'kurzeme', 'zemgale', 'latgale', name='region', native_enum=False, create_constraint=True, length=40), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_phone', sa.String(length=50), nullable=False),
    sa.Column('website', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(country) = 2', name=op.f('ck_organisations_country_code')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('country', 'registration_number', name=op.f('uq_organisations_country_registration_number'))
    )
    op.create_table('programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('title_lv', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('fund_source', sa.Enum('esf_plus', 'eea_norway', 'national', 'municipal', 'private', name='fund_source', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('budget_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('stage_model', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('budget_cents >= 0', name=op.f('ck_programmes_budget_not_negative')),
    sa.CheckConstraint('starts_on <= ends_on', name=op.f('ck_programmes_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programmes')),
    sa.UniqueConstraint('code', name=op.f('uq_programmes_code'))
    )
    roles = op.create_table('roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.Enum('applicant', 'evaluator', 'officer', 'committee', 'finance', 'auditor', 'admin', name='role_code', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles')),
    sa.UniqueConstraint('code', name=op.f('uq_roles_code'))
    )
    op.bulk_insert(roles, [{"code": code} for code in ROLE_CODES])
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("locale IN ('lv', 'en')", name=op.f('ck_users_locale')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('title_lv', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('description_lv', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('budget_cents', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'closed', name='call_status', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('workflow_name', sa.String(length=60), nullable=False),
    sa.Column('workflow_version', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name=op.f('ck_calls_published_at')),
    sa.CheckConstraint('budget_cents >= 0', name=op.f('ck_calls_budget_not_negative')),
    sa.CheckConstraint('opens_at < closes_at', name=op.f('ck_calls_dates')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_calls_programme_id_programmes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('code', name=op.f('uq_calls_code'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index('ix_calls_status_closes_at', ['status', 'closes_at'], unique=False)

    op.create_table('initiatives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('stage_model', sa.String(length=40), nullable=False),
    sa.Column('current_stage', sa.String(length=40), nullable=False),
    sa.Column('theme', sa.String(length=120), nullable=False),
    sa.Column('target_groups', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('region', sa.Enum('riga', 'vidzeme', 'kurzeme', 'zemgale', 'latgale', name='region', native_enum=False, create_constraint=True, length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_initiatives_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_initiatives'))
    )
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.create_index('ix_initiatives_current_stage', ['current_stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_initiatives_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('owner', 'member', name='member_role', native_enum=False, create_constraint=True, length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_memberships_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('user_id', 'organisation_id', name=op.f('uq_memberships_user_id_organisation_id'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_user_id'), ['user_id'], unique=False)

    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['roles.id'], name=op.f('fk_user_roles_role_id_roles'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_id', name=op.f('pk_user_roles'))
    )
    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('si_stage', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('requested_amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('duration_months', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('workflow_name', sa.String(length=60), nullable=False),
    sa.Column('workflow_version', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('duration_months > 0', name=op.f('ck_applications_duration_positive')),
    sa.CheckConstraint('requested_amount_cents >= 0', name=op.f('ck_applications_amount_not_negative')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_applications_call_id_calls'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_applications_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_applications_initiative_id_initiatives'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_applications_organisation_id_organisations'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index('ix_applications_call_id_state', ['call_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_initiative_id'), ['initiative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('call_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('si_stage', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('envelope_cents', sa.BigInteger(), nullable=False),
    sa.Column('min_grant_cents', sa.BigInteger(), nullable=False),
    sa.Column('max_grant_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('0 <= min_grant_cents AND min_grant_cents <= max_grant_cents', name=op.f('ck_call_stages_grant_limits')),
    sa.CheckConstraint('max_grant_cents <= envelope_cents', name=op.f('ck_call_stages_max_within_envelope')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_stages_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_stages')),
    sa.UniqueConstraint('call_id', 'si_stage', name=op.f('uq_call_stages_call_id_si_stage'))
    )
    with op.batch_alter_table('call_stages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_stages_call_id'), ['call_id'], unique=False)



def downgrade():
    with op.batch_alter_table('call_stages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_stages_call_id'))

    op.drop_table('call_stages')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_applications_initiative_id'))
        batch_op.drop_index('ix_applications_call_id_state')

    op.drop_table('applications')
    op.drop_table('user_roles')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_user_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_organisation_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('initiatives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_initiatives_organisation_id'))
        batch_op.drop_index('ix_initiatives_current_stage')

    op.drop_table('initiatives')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_status_closes_at')
        batch_op.drop_index(batch_op.f('ix_calls_programme_id'))

    op.drop_table('calls')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('roles')
    op.drop_table('programmes')
    op.drop_table('organisations')
