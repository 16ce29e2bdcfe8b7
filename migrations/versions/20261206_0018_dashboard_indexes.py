"""Indexes the officers' dashboards need at 100,000 applications (issue 15 item 2):

- ``grant_reports (state, submitted_at, id)``: the reports waiting for review, oldest first, stop after the
  page instead of sorting every submitted report (31 ms to 0.1 ms on the bench dataset), and their count;
- ``assignments (evaluator_id, state, call_id)``: an evaluator pool's open work per call from the index alone
  (10.7 ms to 2.7 ms);
- ``assignments (call_id, due_at, id) WHERE state IN ('assigned', 'accepted')``: a call's overdue open
  assignments, soonest due first, without a sort (8.8 ms to 1.5 ms under load).

Revision ID: 0018_dashboard_indexes
Revises: 0017_notices
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_dashboard_indexes'
down_revision = '0017_notices'
branch_labels = None
depends_on = None

OPEN = "state IN ('assigned', 'accepted')"


def upgrade():
    op.create_index("ix_grant_reports_state_submitted_at_id", "grant_reports", ["state", "submitted_at", "id"])
    op.create_index("ix_assignments_evaluator_id_state_call_id", "assignments", ["evaluator_id", "state", "call_id"])
    op.create_index("ix_assignments_open_call_id_due_at_id", "assignments", ["call_id", "due_at", "id"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade():
    op.drop_index("ix_assignments_open_call_id_due_at_id", table_name="assignments")
    op.drop_index("ix_assignments_evaluator_id_state_call_id", table_name="assignments")
    op.drop_index("ix_grant_reports_state_submitted_at_id", table_name="grant_reports")
