"""handoff: RFC 9396 authorization_details on codes and grants, single-use handoff tokens

Revision ID: 0011_handoff
Revises: 0010_contributed_claims
Create Date: 2026-12-02 13:30:00

The shop's authorization request carries the order as authorization_details; they stay
with its code and grant. A handoff token (RFC 8693) is one ``handoffs`` row keyed by its
``jti``; redeeming it sets ``used_at`` once. Deleted with the customer or either client.
"""

from alembic import op
import sqlalchemy as sa


revision = '0011_handoff'
down_revision = '0010_contributed_claims'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handoffs',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('audience', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('agreement_id', sa.String(length=100), nullable=False),
    sa.Column('purpose_id', sa.String(length=100), nullable=False),
    sa.Column('source_grant_id', sa.String(length=36), nullable=False),
    sa.Column('authorization_details', sa.JSON(), nullable=False),
    sa.Column('claims', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redeemed_grant_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['audience'], ['clients.client_id'], name=op.f('fk_handoffs_audience_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.client_id'], name=op.f('fk_handoffs_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_handoffs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_handoffs'))
    )
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_handoffs_user_id_audience', ['user_id', 'audience'], unique=False)
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authorization_details', sa.JSON(), nullable=True))
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authorization_details', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_column('authorization_details')
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('authorization_details')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_handoffs_user_id_audience')
    op.drop_table('handoffs')
