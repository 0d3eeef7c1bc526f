"""cache_generations: tells every worker when its in-memory copies are out of date

Revision ID: 0022_cache_generations
Revises: 0016_customer_admin
Create Date: 2026-12-02 19:30:00

Workers keep clients, signing keys and instance secrets in memory (``idp/cache.py``); a
change to any of them moves the counter ``config`` in the same transaction, and each worker
reads the counter at most once a second.
"""

from alembic import op
import sqlalchemy as sa


revision = '0022_cache_generations'
down_revision = '0016_customer_admin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('cache_generations',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_generations'))
    )
    op.bulk_insert(table, [{'name': 'config', 'value': 0}])


def downgrade() -> None:
    op.drop_table('cache_generations')
