"""When a person's data was erased: the account stays (pseudonymous) for the records retention keeps.

Revision ID: 0013_user_erasure
Revises: 0012_two_factor
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0013_user_erasure'
down_revision = '0012_two_factor'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
