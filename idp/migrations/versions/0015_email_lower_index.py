"""an index on lower(email): sign-in looks customers up case-insensitively

Revision ID: 0015_email_lower_index
Revises: 0014_admins
Create Date: 2026-12-02 14:10:00

``idp.auth.accounts.find_by_email`` compares ``lower(email)``; the unique index on
``email`` cannot serve that, so every password login, reset and registration scanned the
customers (77 to 80 ms at 100,000 customers on PostgreSQL instead of 1 to 2). An expression
index, on PostgreSQL and SQLite alike. Not unique: a database from before registration
normalised addresses may hold two spellings of one address, and the upgrade must not fail
on it. SQLite cannot reflect an expression index: a later ``batch_alter_table('users')``
recreates the table without it there, so such a migration must create it again.
"""

from alembic import op
import sqlalchemy as sa


revision = '0015_email_lower_index'
down_revision = '0014_admins'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_users_email_lower', 'users', [sa.text('lower(email)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_users_email_lower', table_name='users')
