"""The sequencer's step: move queued events from the intake into the log, oldest first."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consent.keys import LedgerKeys, unwrap_cached
from consent.ledger.columns import INTAKE, stored_columns
from consent.ledger.log import Entry, lock_head, sign, write
from consent.sealing import open_sealed
from consent.store import CustomerKeyRow, LogHead

DRAIN_BATCH = 1000


def sequence(
    session: Session, keys: LedgerKeys, limit: int = DRAIN_BATCH, wait: bool = True
) -> int:
    """Move up to ``limit`` queued events into the log, oldest first, and sign a checkpoint.

    Returns how many moved. With ``wait=False``, returns 0 at once when another transaction
    holds the log (PostgreSQL; it will drain what is queued). The caller commits.
    """
    head = lock_head(session, wait=wait)
    if head is None:
        return 0
    moved = drain(session, keys, head, limit)
    if moved:
        sign(session, keys, head)  # a size no checkpoint can have yet: the log just grew
    return moved


def drain(session: Session, keys: LedgerKeys, head: LogHead, limit: int) -> int:
    """Move up to ``limit`` queued events into the log under ``head`` (held locked); an
    erased customer's are dropped. Returns how many left the intake."""
    queued = session.execute(select(INTAKE).order_by(INTAKE.c.id).limit(limit)).all()
    if not queued:
        return 0
    owners = {
        subject: (customer_id, wrapped)
        for customer_id, wrapped, subject in session.execute(
            select(
                CustomerKeyRow.customer_id, CustomerKeyRow.wrapped_key, CustomerKeyRow.subject
            ).where(CustomerKeyRow.subject.in_({q.subject for q in queued}))
        )
    }
    entries = []
    for q in queued:
        owner = owners.get(q.subject)
        if owner is None:  # erased while queued: nothing of it may enter the log
            continue
        key = unwrap_cached(keys.master, owner[1], owner[0])
        body = open_sealed(key, q.details, q.details_commitment, f"intake:{q.token}".encode())
        entries.append(Entry(q.subject, key, stored_columns(q), body))
    write(session, head, entries)
    session.execute(delete(INTAKE).where(INTAKE.c.id.in_([q.id for q in queued])))
    return len(queued)
