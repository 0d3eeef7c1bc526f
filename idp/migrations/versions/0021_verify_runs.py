"""verify_runs: when each Merkle log was last verified, and what was found

Revision ID: 0021_verify_runs
Revises: 0019_admin_api
Create Date: 2026-12-02 16:20:00

Each full verification (``idp ledger verify``, ``idp audit verify``, the console's button)
leaves one row, so the console's overview can show the last result. Nothing to carry over.
"""

from alembic import op
import sqlalchemy as sa


revision = '0021_verify_runs'
down_revision = '0019_admin_api'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('verify_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('log', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('first_bad', sa.Integer(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=True),
    sa.Column('by', sa.String(length=400), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verify_runs'))
    )
    with op.batch_alter_table('verify_runs', schema=None) as batch_op:
        batch_op.create_index('ix_verify_runs_log_finished', ['log', 'finished_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('verify_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_verify_runs_log_finished')

    op.drop_table('verify_runs')
