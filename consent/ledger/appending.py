"""The direct way into the log, for batches and the system's own runs (expiry).

It holds the log head's lock until the commit, so one transaction at a time, after
everything queued before it; requests use the intake (:mod:`consent.ledger.intake`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.keys import LedgerKeys, customer_keys
from consent.ledger.columns import event_columns
from consent.ledger.log import Entry, checkpoint, locked_head, sealed_details, write
from consent.ledger.reading import states
from consent.ledger.sequencing import DRAIN_BATCH, drain
from consent.model import Actor, Channel, ConsentEvent, ConsentStatus, EventType
from consent.store import CustomerKeyRow, EventRow


def append(
    session: Session, keys: LedgerKeys, event: ConsentEvent, details: dict[str, Any]
) -> EventRow:
    """Append one event; ``details`` (what was shown) are sealed under the customer's key."""
    return append_many(session, keys, [(event, details)])[0]


def append_many(
    session: Session, keys: LedgerKeys, items: Sequence[tuple[ConsentEvent, dict[str, Any]]]
) -> list[EventRow]:
    """Append events in order under the log head's lock, after everything queued before them.

    The direct way in, for batches and the system's own runs: it holds the head's lock until
    the commit, so one request at a time. Requests use
    :func:`consent.ledger.submit_many` instead.
    """
    if not items:
        return []
    head = locked_head(session)
    while drain(session, keys, head, DRAIN_BATCH):
        pass
    cks = customer_keys(session, keys, {event.customer_id for event, _ in items})
    entries = [
        Entry(
            cks[event.customer_id].subject,
            cks[event.customer_id].key,
            event_columns(event),
            sealed_details(event, details),
        )
        for event, details in items
    ]
    return [EventRow(**row) for row in write(session, head, entries)]


def expire_due(session: Session, keys: LedgerKeys, now: datetime) -> int:
    """Write an ``expired`` event (by the system) for each consent whose validity has run out.

    ``decide()`` already refuses an expired consent; the event makes the expiry part of the
    customer's provable history. Returns how many events were written.
    """
    # One expiry run at a time, and after everything queued: a second run sees the first
    # one's events, and no expiry lands before an event that was accepted before it.
    head = locked_head(session)
    drained = 0
    while moved := drain(session, keys, head, DRAIN_BATCH):
        drained += moved
    items: list[tuple[ConsentEvent, dict[str, Any]]] = []
    for customer_id in session.scalars(select(CustomerKeyRow.customer_id)):
        for (recipient_id, purpose_id), state in states(session, keys, customer_id).items():
            active = state.status == ConsentStatus.ACTIVE
            if active and state.expires_at and state.expires_at <= now:
                items.append(
                    (
                        ConsentEvent(
                            customer_id=customer_id,
                            recipient_id=recipient_id,
                            purpose_id=purpose_id,
                            purpose_version=state.purpose_version,
                            type=EventType.EXPIRED,
                            at=now,
                            actor=Actor.SYSTEM,
                            channel=Channel.SYSTEM,
                        ),
                        {"expired_at": state.expires_at},
                    )
                )
    append_many(session, keys, items)
    if items or drained:
        checkpoint(session, keys)
    return len(items)
