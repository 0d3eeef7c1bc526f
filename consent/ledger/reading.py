"""Reading the ledger: a customer's events and states (queued ones included), their sealed
details, the log's leaves and its newest checkpoint, what waits in the intake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from consent.keys import LedgerKeys, customer_key
from consent.ledger.columns import EVENT_FIELDS, as_event
from consent.model import ConsentEvent, ConsentState
from consent.projection import project
from consent.sealing import open_sealed
from consent.store import CheckpointRow, CustomerKeyRow, EventRow, IntakeRow


def customer_rows(session: Session, keys: LedgerKeys, customer_id: str) -> list[EventRow]:
    ck = customer_key(session, keys, customer_id)
    if ck is None:
        return []
    return list(
        session.scalars(
            select(EventRow).where(EventRow.subject == ck.subject).order_by(EventRow.seq)
        )
    )


def states(
    session: Session, keys: LedgerKeys, customer_id: str, recipient_id: str | None = None
) -> dict[tuple[str, str], ConsentState]:
    """Current states keyed by (recipient, purpose), queued events included.

    One statement finds the customer's subject and reads the log and the intake, so an
    event the sequencer moves meanwhile is seen exactly once (each statement has one
    snapshot), and a request that decides claims pays one round trip for it. The key
    itself is not needed to project states (``keys`` is for the callers that also open
    details, and keeps one signature across the readers).
    """
    params = {"customer_id": customer_id, "recipient_id": recipient_id}
    stmt = STATES_BY_CUSTOMER[recipient_id is not None]
    return states_of_rows(session.execute(stmt, params), customer_id)


def states_of_rows(rows: Any, customer_id: str) -> dict[tuple[str, str], ConsentState]:
    """The states of the rows :data:`STATES_BY_CUSTOMER` reads (by the columns' names), for
    a caller that sends that statement its own way."""
    found = [as_event(r, customer_id, _pos(r)) for r in rows]
    return {(k[1], k[2]): v for k, v in project(found).items()}


def _event_columns(table: type[EventRow] | type[IntakeRow]) -> list[Any]:
    return [getattr(table, name) for name in EVENT_FIELDS]


def _pos(row: Any) -> int | None:
    return None if row.queued else row.pos


def events(
    session: Session, customer_id: str, subject: str, recipient_id: str | None = None
) -> list[ConsentEvent]:
    """The customer's events in order, logged then queued, in one statement."""
    params = {"subject": subject, "recipient_id": recipient_id}
    stmt = _BY_SUBJECT[recipient_id is not None]
    return [as_event(r, customer_id, _pos(r)) for r in session.execute(stmt, params)]


def _events_of(subject: Any, of_recipient: bool) -> Any:
    """The statement of a subject's events, logged then queued (one recipient's, or all);
    built once, as it runs on every release of claims."""
    recipient: Any = bindparam("recipient_id") if of_recipient else None
    both = _both(subject, recipient).subquery()
    return select(both).order_by(both.c.queued, both.c.pos)


def _both(subject: Any, recipient: Any | None) -> Any:
    """The log's rows and the intake's, in the columns :data:`EVENT_COLUMNS` names."""
    logged = select(
        literal(0).label("queued"), EventRow.seq.label("pos"), *_event_columns(EventRow)
    ).where(EventRow.subject == subject)
    waiting = select(literal(1), IntakeRow.id, *_event_columns(IntakeRow)).where(
        IntakeRow.subject == subject
    )
    if recipient is not None:
        logged = logged.where(EventRow.recipient_id == recipient)
        waiting = waiting.where(IntakeRow.recipient_id == recipient)
    return union_all(logged, waiting)


#: the columns of the rows :data:`STATES_BY_CUSTOMER` reads, in order
EVENT_COLUMNS = ("queued", "pos", *EVENT_FIELDS)


def recipient_events(customer_id: Any, recipient_id: Any) -> Any:
    """The rows of ``STATES_BY_CUSTOMER[True]``, unordered, with the customer and the
    recipient given as SQL expressions: for a caller that reads them in the same statement
    as the row that names both (a ``LATERAL`` join; order by ``queued``, then ``pos``)."""
    subject = (
        select(CustomerKeyRow.subject)
        .where(CustomerKeyRow.customer_id == customer_id)
        .correlate_except(CustomerKeyRow)  # the caller's row, not a table of its own
        .scalar_subquery()
    )
    return _both(subject, recipient_id)


_SUBJECT_OF_CUSTOMER = (
    select(CustomerKeyRow.subject)
    .where(CustomerKeyRow.customer_id == bindparam("customer_id"))
    .scalar_subquery()
)
#: a customer's events, logged then queued (``customer_id``; with True, of ``recipient_id``)
STATES_BY_CUSTOMER = {flag: _events_of(_SUBJECT_OF_CUSTOMER, flag) for flag in (False, True)}
_BY_SUBJECT = {flag: _events_of(bindparam("subject"), flag) for flag in (False, True)}


def details(session: Session, keys: LedgerKeys, customer_id: str, row: EventRow) -> dict[str, Any]:
    ck = customer_key(session, keys, customer_id)
    if ck is None or ck.subject != row.subject:
        raise LookupError("this event does not belong to that customer")
    return open_sealed(ck.key, row.details, row.details_commitment, f"event:{row.seq}".encode())


def leaf_hashes(session: Session, size: int) -> list[bytes]:
    """Every leaf hash of the tree of ``size``: O(size), for checks, not for proofs."""
    return [
        bytes.fromhex(h)
        for h in session.scalars(
            select(EventRow.leaf_hash).where(EventRow.seq <= size).order_by(EventRow.seq)
        )
    ]


def latest_checkpoint(session: Session) -> CheckpointRow | None:
    return session.scalar(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1))


@dataclass(frozen=True)
class Backlog:
    """What waits in the intake: how many events, and when the oldest was received (None
    when nothing waits): the sequencer is that far behind."""

    queued: int
    oldest: datetime | None


def backlog(session: Session) -> Backlog:
    """One pass over the intake, which holds only the queue (rows leave when sequenced)."""
    count, oldest = session.execute(
        select(func.count(), func.min(IntakeRow.received_at)).select_from(IntakeRow)
    ).one()
    return Backlog(int(count), oldest)


def queued(session: Session, keys: LedgerKeys | None = None, customer_id: str | None = None) -> int:
    """How many events wait for the sequencer (all, or one customer's)."""
    stmt = select(func.count()).select_from(IntakeRow)
    if customer_id is not None:
        assert keys is not None
        ck = customer_key(session, keys, customer_id)
        if ck is None:
            return 0
        stmt = stmt.where(IntakeRow.subject == ck.subject)
    return session.scalar(stmt) or 0
