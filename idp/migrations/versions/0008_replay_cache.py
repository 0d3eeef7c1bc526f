"""replay cache: one-time values (client assertion jti, passkey challenges) until they expire

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:00:00

Used when no Redis is configured. Before, a ``jti`` was remembered only for the login
throttle window (in ``throttle_counters``); now each is kept until its ``exp``. Nothing is
carried over: the old entries lived at most 15 minutes, and an assertion accepted before
the upgrade with a longer life is refused by the new lifetime limit anyway.
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('replay_cache',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_replay_cache'))
    )
    with op.batch_alter_table('replay_cache', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replay_cache_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('replay_cache', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replay_cache_expires_at'))

    op.drop_table('replay_cache')
