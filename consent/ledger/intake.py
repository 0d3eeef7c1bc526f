"""The intake: how a request records events without the log's global lock.

Events wait in ``consent_intake``, sealed and counted in the customer's states at once,
until :func:`consent.ledger.sequencing.sequence` gives them their place in the log. Each
customer is locked until the commit, so one customer's events enter the intake (and so the
log) in the order their transactions commit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, bindparam, insert, text, update
from sqlalchemy.orm import Session

from consent.keys import CustomerKey, LedgerKeys, customer_keys, known, lock_id
from consent.ledger.columns import INTAKE, QUEUED_COLUMNS, event_columns
from consent.ledger.log import sealed_details
from consent.ledger.rate import RateLimit, check_rate
from consent.ledger.reading import events as customer_events
from consent.model import ConsentEvent
from consent.projection import NARROWING, apply, changes, project
from consent.sealing import seal
from consent.store import CustomerKeyRow

# set in ``session.info`` by :func:`submit_many`: the session's commit left events to sequence
QUEUED = "consent.queued"

_INTAKE_INSERT = insert(INTAKE)


def submit(session: Session, keys: LedgerKeys, event: ConsentEvent, details: dict[str, Any]) -> str:
    """Accept one event for the log; see :func:`submit_many`."""
    return submit_many(session, keys, [(event, details)])[0]


def submit_many(
    session: Session, keys: LedgerKeys, items: Sequence[tuple[ConsentEvent, dict[str, Any]]]
) -> list[str]:
    """Accept events for the log without taking its global lock.

    The events are durable with the caller's commit and count in
    :func:`consent.ledger.states` at once; :func:`consent.ledger.sequence` later gives them
    their place in the log and a checkpoint. Each customer stays locked until the commit, so
    one customer's events enter the intake (and so the log) in the order their transactions
    commit; customers are locked in a fixed order. Marks
    ``session.info[QUEUED]`` so that the caller can wake a sequencer after the commit.
    Returns the events' intake tokens, in the order of ``items``.
    """
    if not items:
        return []
    mine: dict[str, list[int]] = {}
    for i, (event, _) in enumerate(items):
        mine.setdefault(event.customer_id, []).append(i)
    postgresql = session.get_bind().dialect.name == "postgresql"
    tokens: dict[int, str] = {}
    for customer_id in sorted(mine):
        ours = [items[i] for i in mine[customer_id]]
        ck = known.get(keys.master, customer_id) if postgresql else None
        rows = _intake_rows({customer_id: ck}, ours) if ck else []
        if not (ck and _insert_if_key_stands(session, customer_id, ck, rows)):
            # unknown here, or erased or replaced elsewhere: read it (and remember it anew)
            rows = _intake_rows(customer_keys(session, keys, {customer_id}, lock=True), ours)
            session.execute(_INTAKE_INSERT, rows)
        tokens.update(zip(mine[customer_id], (row["token"] for row in rows), strict=True))
    session.info[QUEUED] = True
    return [tokens[i] for i in range(len(items))]


def submit_changes(
    session: Session,
    keys: LedgerKeys,
    items: Sequence[tuple[ConsentEvent, dict[str, Any]]],
    *,
    limit: RateLimit | None = None,
    now: datetime | None = None,
) -> list[str | None]:
    """Accept those of ``items`` that change their customer's state; drop the rest.

    What counts as a change is :func:`consent.projection.changes`, judged against the
    customer's events (logged and queued) and the items before it. The judgement is made
    under the customer's lock (taken, in the fixed order :func:`submit_many` uses, before
    their events are read, and held until the commit), so two transactions submitting the
    same change record it once. With ``limit``, raises :class:`~consent.ledger.TooFast` and
    records nothing when the changes would exceed it and are not all narrowing (``now``,
    default the current time, is when they are counted from). Returns each item's intake
    token, or None for an item not recorded.
    """
    when = now or datetime.now(UTC)
    mine: dict[str, list[int]] = {}
    for i, (event, _) in enumerate(items):
        mine.setdefault(event.customer_id, []).append(i)
    tokens: dict[int, str] = {}
    for customer_id in sorted(mine):
        ck = lock_customer(session, keys, customer_id)
        events = customer_events(session, customer_id, ck.subject)
        current = project(events)
        kept = []
        for i in mine[customer_id]:
            event = items[i][0]
            key = (customer_id, event.recipient_id, event.purpose_id)
            if changes(current.get(key), event):
                current[key] = apply(current.get(key), event)
                kept.append(i)
        if limit is not None and any(items[i][0].type not in NARROWING for i in kept):
            check_rate(events, len(kept), limit, when)
        rows = _intake_rows({customer_id: ck}, [items[i] for i in kept])
        if rows:
            session.execute(_INTAKE_INSERT, rows)
            session.info[QUEUED] = True
        tokens.update(zip(kept, (row["token"] for row in rows), strict=True))
    return [tokens.get(i) for i in range(len(items))]


def lock_customer(session: Session, keys: LedgerKeys, customer_id: str) -> CustomerKey:
    """Take the customer's lock until the commit and return their key (made if missing).

    What is read after it includes every event of theirs that another transaction queued,
    and no other transaction queues one, or erases the key, until this one ends. On
    PostgreSQL the advisory lock :func:`submit_many` takes; SQLite's one write lock, taken
    by a write before anything is read.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(CustomerKeyRow)
            .where(CustomerKeyRow.customer_id == customer_id)
            .values(subject=CustomerKeyRow.subject)
        )
    return customer_keys(session, keys, {customer_id}, lock=True)[customer_id]


def _insert_if_key_stands(
    session: Session, customer_id: str, ck: CustomerKey, rows: list[dict[str, Any]]
) -> bool:
    """PostgreSQL, one round trip: lock the customer, and queue ``rows`` only if their key
    row still has the subject they were sealed for (not erased or replaced meanwhile)."""
    params = {"customer": customer_id, "subject": ck.subject, "lock": lock_id(customer_id)}
    for i, row in enumerate(rows):
        params.update({f"{name}_{i}": row[name] for name in QUEUED_COLUMNS})
    queued = session.scalars(_guarded_insert(len(rows)), params).all()
    if not queued:
        return False
    assert sorted(queued) == sorted(row["token"] for row in rows)
    return True


@lru_cache(maxsize=16)
def _guarded_insert(n: int) -> TextClause:
    """The customer's lock is taken before any row, so before any row's id, is made.

    Text, not a Core ``values()`` construct: SQLAlchemy cannot cache the compiled form of
    the latter, and compiling it would cost more than running it.
    """
    names = ", ".join(QUEUED_COLUMNS)
    row = ", ".join(f"CAST(:{name}_{{i}} AS {to})" for name, to in QUEUED_COLUMNS.items())
    rows = ", ".join("(" + row.format(i=i) + ")" for i in range(n))
    # only the ledger's own column names and numbered placeholders go into the text
    sql = (
        f"INSERT INTO {INTAKE.name} (subject, {names}) "  # noqa: S608
        f"SELECT k.subject, {', '.join('q.' + name for name in QUEUED_COLUMNS)} "
        "FROM (SELECT pg_advisory_xact_lock(:lock)) AS customer_lock "
        "JOIN consent_customer_keys AS k ON k.customer_id = :customer AND k.subject = :subject "
        f"CROSS JOIN (VALUES {rows}) AS q ({names}) "
        "RETURNING token"
    )
    # parameters whose type converts the value (JSON) are bound with their column's type
    typed = [
        bindparam(f"{name}_{i}", type_=INTAKE.c[name].type)
        for name, to in QUEUED_COLUMNS.items()
        if to == "json"
        for i in range(n)
    ]
    return text(sql).bindparams(*typed)


def _intake_rows(
    cks: dict[str, CustomerKey], items: Sequence[tuple[ConsentEvent, dict[str, Any]]]
) -> list[dict[str, Any]]:
    received = datetime.now(UTC)
    rows = []
    for event, details in items:
        ck = cks[event.customer_id]
        token = os.urandom(16).hex()
        sealed = seal(ck.key, sealed_details(event, details), associated=f"intake:{token}".encode())
        rows.append(
            {
                "token": token,
                "subject": ck.subject,
                **event_columns(event),
                "details": sealed.ciphertext,
                "details_commitment": sealed.commitment,
                "received_at": received,
            }
        )
    return rows
