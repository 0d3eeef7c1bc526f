"""client_access_token_alg: the algorithm of a client's JWT access tokens

Revision ID: 0024_client_access_token_alg
Revises: 0023_deliveries_pending_index
Create Date: 2026-12-03 12:30:00

``clients.access_token_signed_response_alg``: RS256 or ES256 for the access tokens issued
to that client, for a partner whose resource servers accept ES256 (a fraction of RS256's
signing cost). NULL, as every existing client gets, follows the server's
``access_token_signing_alg``.
"""

from alembic import op
import sqlalchemy as sa


revision = '0024_client_access_token_alg'
down_revision = '0023_deliveries_pending_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'clients', sa.Column('access_token_signed_response_alg', sa.String(length=10), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('access_token_signed_response_alg')
