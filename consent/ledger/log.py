"""The log itself: its head (locked by whoever appends), writing entries, signing checkpoints.

An entry gets the next sequence number, is chained to its customer's previous entry and
hashed as a Merkle leaf; the head keeps the tree's right edge, so appending and signing
cost O(log n) whatever the size of the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent import merkle, tiles
from consent.keys import LOG_KEY_NAME, LedgerKeys, log_key
from consent.ledger.columns import EVENTS, SUBTREES
from consent.ledger.leaves import leaf_data_of
from consent.model import ConsentEvent
from consent.sealing import seal
from consent.store import CheckpointRow, EventRow, LogHead


def lock_head(session: Session, wait: bool = True) -> LogHead | None:
    """The log head, locked for this transaction; made once, whoever comes first.

    With ``wait=False`` (PostgreSQL), None when another transaction holds the lock.
    """
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE: take its single write lock before reading the head.
        session.execute(update(LogHead).where(LogHead.id == 1).values(size=LogHead.size))
    elif not wait:
        head = session.scalar(
            select(LogHead)
            .where(LogHead.id == 1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if head is not None:
            return head
        exists = session.scalar(select(func.count()).select_from(LogHead).where(LogHead.id == 1))
        if exists:  # held by another transaction
            return None
    head = session.get(LogHead, 1, with_for_update=True)
    if head is None:
        try:
            with session.begin_nested():
                session.add(LogHead(id=1, size=0, frontier=[]))
        except IntegrityError:  # another transaction made it first
            pass
        head = session.get(LogHead, 1, with_for_update=True, populate_existing=True)
        assert head is not None
    return head


def locked_head(session: Session) -> LogHead:
    found = lock_head(session)
    assert found is not None
    return found


def tree(head: LogHead) -> merkle.CompactTree:
    return merkle.CompactTree.restore(head.size, [bytes.fromhex(h) for h in head.frontier or []])


def sealed_details(event: ConsentEvent, details: dict[str, Any]) -> dict[str, Any]:
    """The event's own notice, language, offers and session always go in with the details."""
    own: dict[str, Any] = {
        "language": event.language,
        "notice_version": event.notice_version,
        "notice_hash": event.notice_hash,
        "session": event.session_id,
        "offered": [{"claim": c, "default": d} for c, d in event.offered],
    }
    return {**details, **{k: v for k, v in own.items() if v not in (None, [])}}


@dataclass(frozen=True)
class Entry:
    """An event ready for the log: its subject, key, columns and the details to seal."""

    subject: str
    key: bytes
    fields: dict[str, Any]
    details: dict[str, Any]


def _last_leaves(session: Session, subjects: set[str]) -> dict[str, str]:
    newest = (
        select(EventRow.subject, func.max(EventRow.seq).label("seq"))
        .where(EventRow.subject.in_(subjects))
        .group_by(EventRow.subject)
        .subquery()
    )
    rows = session.execute(
        select(EventRow.subject, EventRow.leaf_hash).join(newest, EventRow.seq == newest.c.seq)
    )
    return {subject: leaf for subject, leaf in rows}


def write(session: Session, head: LogHead, entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """Give ``entries`` the next sequence numbers, chain and hash them, move the head."""
    if not entries:
        return []
    grown = tree(head)
    last = _last_leaves(session, {e.subject for e in entries})
    rows = []
    stored = []  # the complete subtrees these entries finish (consent.tiles)
    for entry in entries:
        seq = head.size + 1
        sealed = seal(entry.key, entry.details, associated=f"event:{seq}".encode())
        row = {
            "seq": seq,
            "subject": entry.subject,
            **entry.fields,
            "details": sealed.ciphertext,
            "details_commitment": sealed.commitment,
            "prev_leaf_hash": last.get(entry.subject),
        }
        leaf = merkle.leaf_hash(leaf_data_of(row))
        row["leaf_hash"] = last[entry.subject] = leaf.hex()
        for t, h in tiles.completed(seq, grown.append(leaf)):
            stored.append({"height": t.height, "idx": t.index, "hash": h.hex()})
        head.size = seq
        rows.append(row)
    head.frontier = [h.hex() for h in grown.frontier]
    session.execute(insert(EVENTS), rows)
    if stored:
        session.execute(insert(SUBTREES), stored)
    session.flush()
    return rows


def checkpoint(
    session: Session, keys: LedgerKeys, head: LogHead | None = None
) -> merkle.Checkpoint:
    """Sign the log's current root (once per size); O(log n) from the stored right edge.

    ``head``: the log head this transaction already holds locked, if any.
    """
    head = head or locked_head(session)
    size = head.size
    existing = session.get(CheckpointRow, size)
    if existing is not None:
        return merkle.Checkpoint(keys.origin, size, bytes.fromhex(existing.root))
    return sign(session, keys, head)


def sign(session: Session, keys: LedgerKeys, head: LogHead) -> merkle.Checkpoint:
    """Sign a checkpoint of the log at the head's size (which none may have yet)."""
    size = head.size
    root = tree(head).root()
    cp = merkle.Checkpoint(keys.origin, size, root)
    note = merkle.sign_checkpoint(cp, log_key(session, keys), LOG_KEY_NAME)
    session.add(CheckpointRow(size=size, root=root.hex(), note=note))
    session.flush()
    return cp
