"""car registration: the customer's own car, a Finnish plate on their profile

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:00:00

The source of the ``car_registration`` claim that the ``garage_booking`` purpose shares.
Existing customers have none until they enter it on the account page.
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('car_registration', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('car_registration')
