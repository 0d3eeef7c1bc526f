"""disclosures: the log of every release of customer claims to a partner

Revision ID: 0012_disclosures
Revises: 0009
Create Date: 2026-12-02 13:00:00

One row per release (ID token, userinfo, introspection, token exchange) that let at least
one customer claim out: the recipient, the channel, the claim names (never values), the
purposes and the consent events they rested on, and the time. Rows go with the account.
Nothing to carry over: releases before this revision were not recorded.
"""

from alembic import op
import sqlalchemy as sa


revision = '0012_disclosures'
down_revision = '0011_handoff'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('disclosures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('recipient_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('claims', sa.JSON(), nullable=False),
    sa.Column('grounds', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_disclosures_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosures'))
    )
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.create_index('ix_disclosures_user_id_at', ['user_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.drop_index('ix_disclosures_user_id_at')

    op.drop_table('disclosures')
