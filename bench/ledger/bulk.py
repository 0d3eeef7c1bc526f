"""A ledger built in bulk for ``verify`` (and ``bench/proof_bench.py``): rows computed with
the ledger's own code path, inserted with ``COPY`` on PostgreSQL and an executemany INSERT
on SQLite.

Details are sealed with ``consent.sealing.seal`` under each customer's key, leaves are
``ledger.leaf_data`` + ``merkle.leaf_hash`` with the customer's previous leaf hash chained
in, and a checkpoint from ``merkle.CompactTree`` is signed by ``merkle.sign_checkpoint``
every ``cp_every`` entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from bench.ledger.workload import ORIGIN, T0, EventGen
from consent import ConsentEvent, ledger as L, merkle, tiles
from consent.sealing import new_key, seal, wrap
from consent.store import CheckpointRow, CustomerKeyRow, EventRow, LogHead, SubtreeRow

EVENT_COLUMNS = [c.name for c in EventRow.__table__.columns]

Chunk = tuple[list[dict], list[dict], list[dict]]  # event rows, checkpoint rows, new customers


class BulkLog:
    """Rows of a ledger, computed exactly as ``ledger.append`` would."""

    def __init__(self, customers: int, master: bytes, private_key: Any) -> None:
        self.gen = EventGen(seed=2, customers=customers)
        self.customers = customers
        self.master = master
        self.private_key = private_key
        self.keys: dict[str, tuple[bytes, str]] = {}
        self.last: dict[str, str] = {}
        self.tree = merkle.CompactTree()
        self.sample = ""  # the latest new customer, to check their key resolves

    def chunks(self, n: int, cp_every: int) -> Iterator[Chunk]:
        """``n`` events; yields (event rows, checkpoint rows, new customer-key rows) per
        ``cp_every`` events."""
        rows: list[dict] = []
        new_customers: list[dict] = []
        for seq in range(1, n + 1):
            cid = self.gen.customer(self.gen.rng.randrange(self.customers))
            event, details = self.gen.event(cid, T0 + timedelta(seconds=seq))
            key, subject = self._customer_key(cid, new_customers)
            rows.append(self._row(seq, event, details, key, subject))
            if seq % cp_every == 0 or seq == n:
                yield rows, [self._checkpoint(seq)], new_customers
                rows, new_customers = [], []

    def _customer_key(self, cid: str, new_customers: list[dict]) -> tuple[bytes, str]:
        """The customer's key and subject, made as ``ledger.customer_key(create=True)`` does."""
        known = self.keys.get(cid)
        if known is not None:
            return known
        key = new_key()
        subject = hashlib.sha256(key + b"|subject|" + cid.encode()).hexdigest()
        self.keys[cid] = (key, subject)
        self.sample = cid
        new_customers.append(
            {"customer_id": cid, "subject": subject, "wrapped_key": wrap(self.master, key, cid)}
        )
        return key, subject

    def _row(
        self, seq: int, event: ConsentEvent, details: dict, key: bytes, subject: str
    ) -> dict[str, Any]:
        sealed = seal(key, details, associated=f"event:{seq}".encode())
        row = SimpleNamespace(
            seq=seq,
            subject=subject,
            recipient_id=event.recipient_id,
            purpose_id=event.purpose_id,
            purpose_version=event.purpose_version,
            type=str(event.type),
            at=event.at,
            actor=str(event.actor),
            channel=str(event.channel),
            claims=sorted(event.claims),
            expires_at=event.expires_at,
            details=sealed.ciphertext,
            details_commitment=sealed.commitment,
            prev_leaf_hash=self.last.get(subject),
            leaf_hash="",
        )
        leaf = merkle.leaf_hash(L.leaf_data(row))
        row.leaf_hash = leaf.hex()
        self.last[subject] = row.leaf_hash
        self.tree.append(leaf)
        return {c: getattr(row, c) for c in EVENT_COLUMNS}

    def _checkpoint(self, seq: int) -> dict[str, Any]:
        cp = merkle.Checkpoint(ORIGIN, seq, self.tree.root())
        note = merkle.sign_checkpoint(cp, self.private_key, L.LOG_KEY_NAME)
        return {"size": seq, "root": cp.root.hex(), "note": note}


def insert_rows(engine: Engine, table: Any, rows: list[dict]) -> None:
    if not rows:
        return
    with engine.begin() as conn:
        conn.execute(insert(table), rows)


def copy_events_pg(engine: Engine, rows: list[dict]) -> None:
    """PostgreSQL COPY (psycopg adapts the Python values; JSON as text)."""
    cols = EVENT_COLUMNS
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY consent_events ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([json.dumps(r[c]) if c == "claims" else r[c] for c in cols])
        raw.commit()
    finally:
        raw.close()


def insert_chunk(name: str, engine: Engine, chunk: Chunk) -> None:
    rows, checkpoints, customers = chunk
    insert_rows(engine, CustomerKeyRow.__table__, customers)
    if name == "postgresql":
        copy_events_pg(engine, rows)
    else:
        insert_rows(engine, EventRow.__table__, rows)
    insert_rows(engine, CheckpointRow.__table__, checkpoints)


def head_values(tree: merkle.CompactTree) -> dict[str, Any]:
    """The log head row for a log built in bulk (size, and the stored right edge if any)."""
    values: dict[str, Any] = {"id": 1, "size": tree.size}
    if "frontier" in LogHead.__table__.columns:
        values["frontier"] = [h.hex() for h in tree.frontier]
    return values


def store_subtrees(engine: Engine, batch: int = 50_000) -> int:
    """The log's stored subtree hashes (``consent.tiles``), from its leaves in order, as
    migration 0007's backfill computes them; returns how many."""
    tree = merkle.CompactTree()
    last = stored = 0
    with engine.begin() as conn:
        while chunk := conn.execute(
            select(EventRow.seq, EventRow.leaf_hash)
            .where(EventRow.seq > last)
            .order_by(EventRow.seq)
            .limit(batch)
        ).all():
            last = chunk[-1].seq
            leaves = (bytes.fromhex(leaf) for _, leaf in chunk)
            rows = [
                {"height": t.height, "idx": t.index, "hash": h.hex()}
                for t, h in tiles.subtrees(leaves, tree)
            ]
            if rows:
                conn.execute(insert(SubtreeRow), rows)
            stored += len(rows)
    return stored


def finish(name: str, engine: Engine, tree: merkle.CompactTree) -> None:
    """The stored subtree hashes and the log head written last, then ``VACUUM ANALYZE`` /
    ``ANALYZE``."""
    store_subtrees(engine)
    insert_rows(engine, LogHead.__table__, [head_values(tree)])
    if name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as c:
            c.execute(text("ANALYZE"))
            c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
