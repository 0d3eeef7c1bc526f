"""ssf: Shared Signals Framework 1.0 streams, their subjects and queued SETs

Revision ID: 0013_ssf
Revises: 0009
Create Date: 2026-12-02 13:00:00

Partners register event streams (push, RFC 8935, or poll, RFC 8936); the Security Event
Tokens for each stream are queued in ``ssf_events`` in the transaction of the change they
report (idp/events/signals.py).
"""

from alembic import op
import sqlalchemy as sa


revision = '0013_ssf'
down_revision = '0012_disclosures'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ssf_streams',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('delivery_method', sa.String(length=40), nullable=False),
    sa.Column('endpoint_url', sa.Text(), nullable=True),
    sa.Column('authorization_header', sa.Text(), nullable=True),
    sa.Column('events_requested', sa.JSON(), nullable=False),
    sa.Column('events_delivered', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.client_id'], name=op.f('fk_ssf_streams_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ssf_streams'))
    )
    with op.batch_alter_table('ssf_streams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ssf_streams_client_id'), ['client_id'], unique=True)

    op.create_table('ssf_subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stream_id', sa.String(length=36), nullable=False),
    sa.Column('subject_key', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.JSON(), nullable=False),
    sa.Column('included', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['stream_id'], ['ssf_streams.id'], name=op.f('fk_ssf_subjects_stream_id_ssf_streams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ssf_subjects')),
    sa.UniqueConstraint('stream_id', 'subject_key', name=op.f('uq_ssf_subjects_stream_id'))
    )
    op.create_table('ssf_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stream_id', sa.String(length=36), nullable=False),
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=200), nullable=False),
    sa.Column('subject_key', sa.String(length=300), nullable=False),
    sa.Column('claims', sa.JSON(), nullable=False),
    sa.Column('token', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('attempt_log', sa.JSON(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['stream_id'], ['ssf_streams.id'], name=op.f('fk_ssf_events_stream_id_ssf_streams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ssf_events')),
    sa.UniqueConstraint('jti', name=op.f('uq_ssf_events_jti'))
    )
    with op.batch_alter_table('ssf_events', schema=None) as batch_op:
        batch_op.create_index('ix_ssf_events_stream_pending', ['stream_id', 'acknowledged_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ssf_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ssf_events_stream_pending')
    op.drop_table('ssf_events')
    op.drop_table('ssf_subjects')
    with op.batch_alter_table('ssf_streams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ssf_streams_client_id'))
    op.drop_table('ssf_streams')
