"""log tiles: stored hashes of complete subtrees, so proofs read O(log n) hashes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 06:00:00

``consent_log_subtrees`` holds, for every height that is a multiple of 8 (C2SP tlog-tiles'
tile height), the hash of every complete, aligned subtree of the log (see consent/tiles.py).
The backfill streams the log's leaf hashes in order, a batch at a time, through the same
builder the sequencer uses, so it holds O(log n) hashes and one batch in memory. It takes the
log head's lock first: stop the workers (their sequencers) before upgrading, or anything
they append after this commit and before they run the new code has no stored subtrees
(`idp ledger verify` names them).
"""

from alembic import op
import sqlalchemy as sa

from consent.merkle import CompactTree
from consent.store import append_only_ddl, drop_append_only_ddl
from consent.tiles import subtrees


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TABLE = 'consent_log_subtrees'
BATCH = 20_000


def upgrade() -> None:
    op.create_table(TABLE,
    sa.Column('height', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('height', 'idx', name=op.f('pk_consent_log_subtrees'))
    )
    _backfill(op.get_bind())
    # Like the log itself, the database refuses UPDATE and DELETE of these rows.
    for stmt in append_only_ddl(op.get_bind().dialect.name, (TABLE,)):
        op.execute(stmt)


def _backfill(conn: sa.engine.Connection) -> None:
    events = sa.table('consent_events', sa.column('seq', sa.Integer), sa.column('leaf_hash'))
    head = sa.table('consent_log_head', sa.column('id', sa.Integer), sa.column('size'))
    stored = sa.table(
        TABLE, sa.column('height', sa.Integer), sa.column('idx', sa.Integer), sa.column('hash')
    )
    # hold the log still: a sequencer of the old code waits until this commits
    if conn.dialect.name == 'postgresql':
        conn.execute(sa.select(head.c.size).where(head.c.id == 1).with_for_update())
    else:
        conn.execute(sa.update(head).where(head.c.id == 1).values(size=head.c.size))
    tree = CompactTree()
    last = 0
    while True:
        chunk = conn.execute(
            sa.select(events.c.seq, events.c.leaf_hash)
            .where(events.c.seq > last)
            .order_by(events.c.seq)
            .limit(BATCH)
        ).all()
        if not chunk:
            return
        for seq, _ in chunk:
            last += 1
            if seq != last:
                raise RuntimeError(
                    f"consent_events has no entry {last} (the next is {seq}): the log is "
                    "broken; run `idp ledger verify` on the previous version and restore it"
                )
        rows = [
            {'height': t.height, 'idx': t.index, 'hash': h.hex()}
            for t, h in subtrees((bytes.fromhex(leaf) for _, leaf in chunk), tree)
        ]
        if rows:
            conn.execute(sa.insert(stored), rows)


def downgrade() -> None:
    for stmt in drop_append_only_ddl(op.get_bind().dialect.name, (TABLE,), function=False):
        op.execute(stmt)
    op.drop_table(TABLE)
