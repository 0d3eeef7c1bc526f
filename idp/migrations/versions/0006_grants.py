"""grants: the row that redemption, rotation and revocation serialise on

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:10:00

Existing customer tokens and codes get their grant rows, so refresh tokens issued before
the upgrade keep working and revocation still reaches them.
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grants',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=True),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.client_id'], name=op.f('fk_grants_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grants'))
    )
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index('ix_grants_user_id_client_id', ['user_id', 'client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grants_sid'), ['sid'], unique=False)

    # A grant is alive while any of its tokens is; offline when its scope had offline_access.
    op.execute(
        "INSERT INTO grants (id, client_id, user_id, sid, offline, created_at, used_at, revoked_at) "
        "SELECT grant_id, MIN(client_id), MIN(user_id), MIN(sid), "
        "MAX(CASE WHEN ' ' || grant_scope || ' ' LIKE '% offline_access %' THEN 1 ELSE 0 END) = 1, "
        "MIN(issued_at), MAX(issued_at), "
        "CASE WHEN COUNT(revoked_at) = COUNT(*) THEN MAX(revoked_at) END "
        "FROM tokens WHERE user_id IS NOT NULL GROUP BY grant_id"
    )
    op.execute(
        "INSERT INTO grants (id, client_id, user_id, sid, offline, created_at, used_at, revoked_at) "
        "SELECT c.grant_id, c.client_id, c.user_id, c.sid, "
        "' ' || c.scope || ' ' LIKE '% offline_access %', c.created_at, c.used_at, NULL "
        "FROM authorization_codes c "
        "WHERE NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = c.grant_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grants_sid'))
        batch_op.drop_index('ix_grants_user_id_client_id')

    op.drop_table('grants')
