"""contributed claims: values partners add to a customer's profile (the tire purchase)

Revision ID: 0010_contributed_claims
Revises: 0009
Create Date: 2026-12-02 13:00:00

Written by a partner with the customer's access token (``POST /claims/tire_purchase``);
one row per (customer, claim, partner, partner's reference) so a retried write is
idempotent. Deleted with the customer (and with the partner's client registration).
"""

from alembic import op
import sqlalchemy as sa


revision = '0010_contributed_claims'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contributed_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('claim', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('source_client_id', sa.String(length=64), nullable=False),
    sa.Column('source_ref', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_client_id'], ['clients.client_id'], name=op.f('fk_contributed_claims_source_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_contributed_claims_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contributed_claims')),
    sa.UniqueConstraint('user_id', 'claim', 'source_client_id', 'source_ref', name='uq_contributed_claims_source')
    )
    with op.batch_alter_table('contributed_claims', schema=None) as batch_op:
        batch_op.create_index('ix_contributed_claims_user_id_claim', ['user_id', 'claim', 'recorded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_contributed_claims_source_client_id'), ['source_client_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contributed_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contributed_claims_source_client_id'))
        batch_op.drop_index('ix_contributed_claims_user_id_claim')

    op.drop_table('contributed_claims')
