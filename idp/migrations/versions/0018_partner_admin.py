"""indexes for the console's data-sharing map: disclosures and consent events by recipient

Revision ID: 0018_partner_admin
Revises: 0021_verify_runs
Create Date: 2026-12-02 16:00:00

The admin console's data-sharing map (``idp.admin.sharing``) reads one partner's newest
disclosure and counts its consents in SQL. Both tables were indexed by customer only, so
each page view scanned the whole disclosure log and the whole consent log; these indexes
let it read the partner's rows alone. An index is not a write to the append-only log:
its triggers refuse UPDATE and DELETE, which creating an index is neither.
"""

from alembic import op


revision = '0018_partner_admin'
down_revision = '0021_verify_runs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.create_index('ix_disclosures_recipient_id_at', ['recipient_id', 'at'], unique=False)
    op.create_index(
        'ix_consent_events_recipient_id_purpose_id',
        'consent_events',
        ['recipient_id', 'purpose_id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_consent_events_recipient_id_purpose_id', table_name='consent_events')
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.drop_index('ix_disclosures_recipient_id_at')
