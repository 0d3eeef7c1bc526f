"""deliveries_pending_index: the deliveries still to be made, indexed apart

Revision ID: 0023_deliveries_pending_index
Revises: 0022_cache_generations
Create Date: 2026-12-03 10:00:00

The outbox keeps every delivery it made, so ``deliveries`` grows with every back-channel
logout and customer mail, while the few still pending are what the senders look for every
15 seconds and what /metrics counts on every scrape (``avain_outbox_pending``). Without an
index on them each of those read the whole table. A partial index over the pending rows
(neither delivered nor given up), by kind and next attempt, on PostgreSQL and SQLite alike;
it stays as small as the backlog.
"""

from alembic import op
import sqlalchemy as sa


revision = '0023_deliveries_pending_index'
down_revision = '0022_cache_generations'
branch_labels = None
depends_on = None

PENDING = 'delivered_at IS NULL AND failed_at IS NULL'


def upgrade() -> None:
    op.create_index(
        'ix_deliveries_pending',
        'deliveries',
        ['kind', 'next_attempt_at'],
        unique=False,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index('ix_deliveries_pending', table_name='deliveries')
