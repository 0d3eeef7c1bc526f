"""admin API: its OAuth clients, and the API client as an actor in the audit log

Revision ID: 0019_admin_api
Revises: 0015_email_lower_index
Create Date: 2026-12-02 16:05:00

An admin API client is an OAuth client (client credentials) with a row of its own saying
which role it acts in (idp/admin/api_clients.py). The audit log's entries gain the client
that acted; the column is added in place (ALTER TABLE ... ADD COLUMN), which fires no
UPDATE trigger, so the append-only triggers stay as they are. Going down on SQLite
rebuilds the table, and with it its triggers.
"""

from alembic import op
import sqlalchemy as sa

from idp.models.admins import append_only_ddl, drop_append_only_ddl


revision = '0019_admin_api'
down_revision = '0015_email_lower_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_api_clients',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('dangerous', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.client_id'], name=op.f('fk_admin_api_clients_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_admin_api_clients'))
    )
    op.add_column('admin_audit_entries', sa.Column('api_client_id', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_admin_audit_entries_api_client_id'), 'admin_audit_entries', ['api_client_id'], unique=False)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index(op.f('ix_admin_audit_entries_api_client_id'), table_name='admin_audit_entries')
    if dialect == 'sqlite':
        for stmt in drop_append_only_ddl(dialect):
            op.execute(stmt)
        with op.batch_alter_table('admin_audit_entries', schema=None) as batch_op:
            batch_op.drop_column('api_client_id')
        for stmt in append_only_ddl(dialect):
            op.execute(stmt)
    else:
        op.drop_column('admin_audit_entries', 'api_client_id')
    op.drop_table('admin_api_clients')
