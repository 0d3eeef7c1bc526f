"""complaints: customers' complaints, which pause marketing while open

Revision ID: 0017_complaints
Revises: 0018_partner_admin
Create Date: 2026-12-02 16:00:00

One row per complaint a privacy admin (or an admin API client) opens (issue 12). The pause itself is in the consent
ledger (complaint_opened / complaint_closed events); a partial unique index keeps at most one
complaint per customer open, on SQLite and PostgreSQL alike.
"""

from alembic import op
import sqlalchemy as sa


revision = '0017_complaints'
down_revision = '0018_partner_admin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('complaints',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.String(length=36), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=36), nullable=True),
    sa.Column('opened_by_client', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('purposes', sa.JSON(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=36), nullable=True),
    sa.Column('closed_by_client', sa.String(length=64), nullable=True),
    sa.Column('closing_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by'], ['admins.id'], name=op.f('fk_complaints_closed_by_admins'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['closed_by_client'], ['admin_api_clients.client_id'], name=op.f('fk_complaints_closed_by_client_admin_api_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_complaints_customer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['opened_by'], ['admins.id'], name=op.f('fk_complaints_opened_by_admins'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opened_by_client'], ['admin_api_clients.client_id'], name=op.f('fk_complaints_opened_by_client_admin_api_clients'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_complaints_opened_at', ['opened_at'], unique=False)
        batch_op.create_index(
            'ux_complaints_open_customer',
            ['customer_id'],
            unique=True,
            sqlite_where=sa.text('closed_at IS NULL'),
            postgresql_where=sa.text('closed_at IS NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ux_complaints_open_customer')
        batch_op.drop_index('ix_complaints_opened_at')
        batch_op.drop_index(batch_op.f('ix_complaints_customer_id'))
    op.drop_table('complaints')
