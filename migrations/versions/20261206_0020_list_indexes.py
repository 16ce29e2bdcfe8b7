"""Indexes for the staff lists at 100,000 applications (issue 15 item 2):

- ``initiatives (title, id)``: the initiatives list and ``GET /api/v1/initiatives``, by title, a page read in index
  order (50 ms sort to 1.6 ms on the bench dataset);
- ``de_minimis_aid (application_id)``: a grant's aid, for the grants list's de minimis flag (a foreign key without
  an index: 2.4 ms to 0.1 ms a page).

Revision ID: 0020_list_indexes
Revises: 0019_list_sort_indexes
"""
from alembic import op

revision = '0020_list_indexes'
down_revision = '0019_list_sort_indexes'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_initiatives_title_id", "initiatives", ["title", "id"]),
    ("ix_de_minimis_aid_application_id", "de_minimis_aid", ["application_id"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
