"""Indexes the pages need at 100,000 applications (issue 15 item 2).

- ``submissions (application_id, submitted_at)``: the latest (eligibility queue) and first (ranking tie-break)
  submission time of an application read from the index, without the snapshots' rows;
- ``applications (state, call_id)``: the eligibility queue across calls (and its list of calls) by state;
- ``applications (updated_at, id)``: the applications list, newest change first, read in index order (LIMIT
  and OFFSET stop early instead of sorting every readable application).

The plans before and after: bench/README.md, "Scale: plans and indexes".

Revision ID: 0016_scale_indexes
Revises: 0015_full_text_search
"""
from alembic import op

revision = '0016_scale_indexes'
down_revision = '0015_full_text_search'
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_submissions_application_id_submitted_at", "submissions", ["application_id", "submitted_at"]),
    ("ix_applications_state_call_id", "applications", ["state", "call_id"]),
    ("ix_applications_updated_at_id", "applications", ["updated_at", "id"]),
    ("ix_assignments_call_id_application_id_id", "assignments", ["call_id", "application_id", "id"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
