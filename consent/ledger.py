"""The ledger service: append events, read states, checkpoint, prove, verify, erase.

Functions take a SQLAlchemy ``Session`` first and never commit; the caller's unit of
work does. A unit of work that appends should end with :func:`checkpoint`, so that
every entry is covered by a signed checkpoint: an entry beyond the newest checkpoint
is reported by :func:`verify` as unsealed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    Table,
    TextClause,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent import merkle, tiles

# the key functions that callers reach through the ledger are re-exported (``as``)
from consent.keys import (
    LOG_KEY_NAME as LOG_KEY_NAME,
    CustomerKey as CustomerKey,
    LedgerKeys as LedgerKeys,
    customer_key as customer_key,
    customer_keys,
    known,
    lock_id,
    log_key as log_key,
    log_public_key as log_public_key,
    unwrap_cached,
)
from consent.model import Actor, ConsentEvent, ConsentState
from consent.projection import NARROWING, apply, changes, project
from consent.proofs import consistency as consistency, inclusion as inclusion
from consent.sealing import canonical, open_sealed, seal
from consent.store import (
    CheckpointRow,
    CustomerKeyRow,
    EventRow,
    IntakeRow,
    LogHead,
    SubtreeRow,
)

_EVENTS = cast(Table, EventRow.__table__)
_INTAKE = cast(Table, IntakeRow.__table__)
_SUBTREES = cast(Table, SubtreeRow.__table__)
# set in ``session.info`` by :func:`submit_many`: the session's commit left events to sequence
QUEUED = "consent.queued"


def _aware(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without a zone."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


# -- appending -------------------------------------------------------------------------


def leaf_data(row: EventRow) -> bytes:
    """What the Merkle leaf commits to: every column but the stored hashes of itself."""
    return _leaf_data({name: getattr(row, name) for name in _LEAF_COLUMNS})


_LEAF_COLUMNS = (
    "seq",
    "subject",
    "recipient_id",
    "purpose_id",
    "purpose_version",
    "type",
    "at",
    "actor",
    "channel",
    "claims",
    "expires_at",
    "details_commitment",
    "prev_leaf_hash",
)


def _leaf_data(values: Mapping[str, Any]) -> bytes:
    expires_at = values["expires_at"]
    return canonical(
        {
            "v": 1,
            "seq": values["seq"],
            "subject": values["subject"],
            "recipient": values["recipient_id"],
            "purpose": values["purpose_id"],
            "version": values["purpose_version"],
            "type": values["type"],
            "at": _aware(values["at"]).isoformat(),
            "actor": values["actor"],
            "channel": values["channel"],
            "claims": sorted(values["claims"]),
            "expires_at": _aware(expires_at).isoformat() if expires_at else None,
            "details": values["details_commitment"],
            "prev": values["prev_leaf_hash"],
        }
    )


def _head(session: Session, wait: bool = True) -> LogHead | None:
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


def _sealed_details(event: ConsentEvent, details: dict[str, Any]) -> dict[str, Any]:
    """The event's own notice, language, offers and session always go in with the details."""
    own: dict[str, Any] = {
        "language": event.language,
        "notice_version": event.notice_version,
        "notice_hash": event.notice_hash,
        "session": event.session_id,
        "offered": [{"claim": c, "default": d} for c, d in event.offered],
    }
    return {**details, **{k: v for k, v in own.items() if v not in (None, [])}}


_INTAKE_INSERT = insert(_INTAKE)


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


def _fields(event: ConsentEvent) -> dict[str, Any]:
    """The columns an event row and an intake row share, from the event."""
    return {
        "recipient_id": event.recipient_id,
        "purpose_id": event.purpose_id,
        "purpose_version": event.purpose_version,
        "type": str(event.type),
        "at": _aware(event.at),
        "actor": str(event.actor),
        "channel": str(event.channel),
        "claims": sorted(event.claims),
        "expires_at": _aware(event.expires_at) if event.expires_at else None,
    }


@dataclass(frozen=True)
class _Entry:
    """An event ready for the log: its subject, key, columns and the details to seal."""

    subject: str
    key: bytes
    fields: dict[str, Any]
    details: dict[str, Any]


def _write(session: Session, head: LogHead, entries: Sequence[_Entry]) -> list[dict[str, Any]]:
    """Give ``entries`` the next sequence numbers, chain and hash them, move the head."""
    if not entries:
        return []
    tree = _tree(head)
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
        leaf = merkle.leaf_hash(_leaf_data(row))
        row["leaf_hash"] = last[entry.subject] = leaf.hex()
        for t, h in tiles.completed(seq, tree.append(leaf)):
            stored.append({"height": t.height, "idx": t.index, "hash": h.hex()})
        head.size = seq
        rows.append(row)
    head.frontier = [h.hex() for h in tree.frontier]
    session.execute(insert(_EVENTS), rows)
    if stored:
        session.execute(insert(_SUBTREES), stored)
    session.flush()
    return rows


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
    the commit, so one request at a time. Requests use :func:`submit_many` instead.
    """
    if not items:
        return []
    head = _locked_head(session)
    while _drain(session, keys, head, DRAIN_BATCH):
        pass
    cks = customer_keys(session, keys, {event.customer_id for event, _ in items})
    entries = [
        _Entry(
            cks[event.customer_id].subject,
            cks[event.customer_id].key,
            _fields(event),
            _sealed_details(event, details),
        )
        for event, details in items
    ]
    return [EventRow(**row) for row in _write(session, head, entries)]


def _locked_head(session: Session) -> LogHead:
    head = _head(session)
    assert head is not None
    return head


# -- the intake and its sequencer ------------------------------------------------------

DRAIN_BATCH = 1000


def submit(session: Session, keys: LedgerKeys, event: ConsentEvent, details: dict[str, Any]) -> str:
    """Accept one event for the log; see :func:`submit_many`."""
    return submit_many(session, keys, [(event, details)])[0]


def submit_many(
    session: Session, keys: LedgerKeys, items: Sequence[tuple[ConsentEvent, dict[str, Any]]]
) -> list[str]:
    """Accept events for the log without taking its global lock.

    The events are durable with the caller's commit and count in :func:`states` at once;
    :func:`sequence` later gives them their place in the log and a checkpoint. Each customer
    stays locked until the commit, so one customer's events enter the intake (and so the log)
    in the order their transactions commit; customers are locked in a fixed order. Marks
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


@dataclass(frozen=True)
class RateLimit:
    """At most ``events`` events by the customer themselves (actor ``customer``) within any
    ``window``, counted by the events' times, unless all that is recorded narrows what
    recipients may have (:data:`consent.projection.NARROWING`): a withdrawal is never
    refused."""

    events: int
    window: timedelta = timedelta(minutes=1)


class TooFast(Exception):
    """Recording these events would exceed the customer's :class:`RateLimit`; none was
    recorded. ``retry_after``: seconds until they fit."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many consent events; they fit in {retry_after} s")
        self.retry_after = retry_after


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
    same change record it once. With ``limit``, raises :class:`TooFast` and records nothing
    when the changes would exceed it and are not all narrowing (``now``, default the current
    time, is when they are counted from). Returns each item's intake token, or None for an
    item not recorded.
    """
    when = now or datetime.now(UTC)
    mine: dict[str, list[int]] = {}
    for i, (event, _) in enumerate(items):
        mine.setdefault(event.customer_id, []).append(i)
    tokens: dict[int, str] = {}
    for customer_id in sorted(mine):
        ck = lock_customer(session, keys, customer_id)
        events = _events(session, customer_id, ck.subject)
        current = project(events)
        kept = []
        for i in mine[customer_id]:
            event = items[i][0]
            key = (customer_id, event.recipient_id, event.purpose_id)
            if changes(current.get(key), event):
                current[key] = apply(current.get(key), event)
                kept.append(i)
        if limit is not None and any(items[i][0].type not in NARROWING for i in kept):
            _check_rate(events, len(kept), limit, when)
        rows = _intake_rows({customer_id: ck}, [items[i] for i in kept])
        if rows:
            session.execute(_INTAKE_INSERT, rows)
            session.info[QUEUED] = True
        tokens.update(zip(kept, (row["token"] for row in rows), strict=True))
    return [tokens.get(i) for i in range(len(items))]


def _check_rate(events: list[ConsentEvent], adding: int, limit: RateLimit, now: datetime) -> None:
    recent = sorted(
        e.at for e in events if e.actor is Actor.CUSTOMER and now - limit.window < e.at <= now
    )
    over = len(recent) + adding - limit.events
    if over > 0:
        # the ``over`` oldest must leave the window first; more than the limit never fits
        wait = recent[over - 1] + limit.window - now if over <= len(recent) else limit.window
        raise TooFast(max(1, math.ceil(wait.total_seconds())))


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
        params.update({f"{name}_{i}": row[name] for name in _QUEUED_COLUMNS})
    queued = session.scalars(_guarded_insert(len(rows)), params).all()
    if not queued:
        return False
    assert sorted(queued) == sorted(row["token"] for row in rows)
    return True


# what an intake row holds besides its id and subject, with the PostgreSQL type to cast to
_QUEUED_COLUMNS = {
    "token": "varchar",
    "recipient_id": "varchar",
    "purpose_id": "varchar",
    "purpose_version": "integer",
    "type": "varchar",
    "at": "timestamptz",
    "actor": "varchar",
    "channel": "varchar",
    "claims": "json",
    "expires_at": "timestamptz",
    "details": "bytea",
    "details_commitment": "varchar",
    "received_at": "timestamptz",
}


@lru_cache(maxsize=16)
def _guarded_insert(n: int) -> TextClause:
    """The customer's lock is taken before any row, so before any row's id, is made.

    Text, not a Core ``values()`` construct: SQLAlchemy cannot cache the compiled form of
    the latter, and compiling it would cost more than running it.
    """
    names = ", ".join(_QUEUED_COLUMNS)
    row = ", ".join(f"CAST(:{name}_{{i}} AS {to})" for name, to in _QUEUED_COLUMNS.items())
    rows = ", ".join("(" + row.format(i=i) + ")" for i in range(n))
    # only the ledger's own column names and numbered placeholders go into the text
    sql = (
        f"INSERT INTO consent_intake (subject, {names}) "  # noqa: S608
        f"SELECT k.subject, {', '.join('q.' + name for name in _QUEUED_COLUMNS)} "
        "FROM (SELECT pg_advisory_xact_lock(:lock)) AS customer_lock "
        "JOIN consent_customer_keys AS k ON k.customer_id = :customer AND k.subject = :subject "
        f"CROSS JOIN (VALUES {rows}) AS q ({names}) "
        "RETURNING token"
    )
    typed = [bindparam(f"claims_{i}", type_=_INTAKE.c.claims.type) for i in range(n)]
    return text(sql).bindparams(*typed)


def _intake_rows(
    cks: dict[str, CustomerKey], items: Sequence[tuple[ConsentEvent, dict[str, Any]]]
) -> list[dict[str, Any]]:
    received = datetime.now(UTC)
    rows = []
    for event, details in items:
        ck = cks[event.customer_id]
        token = os.urandom(16).hex()
        sealed = seal(
            ck.key, _sealed_details(event, details), associated=f"intake:{token}".encode()
        )
        rows.append(
            {
                "token": token,
                "subject": ck.subject,
                **_fields(event),
                "details": sealed.ciphertext,
                "details_commitment": sealed.commitment,
                "received_at": received,
            }
        )
    return rows


def sequence(
    session: Session, keys: LedgerKeys, limit: int = DRAIN_BATCH, wait: bool = True
) -> int:
    """Move up to ``limit`` queued events into the log, oldest first, and sign a checkpoint.

    Returns how many moved. With ``wait=False``, returns 0 at once when another transaction
    holds the log (PostgreSQL; it will drain what is queued). The caller commits.
    """
    head = _head(session, wait=wait)
    if head is None:
        return 0
    moved = _drain(session, keys, head, limit)
    if moved:
        _sign(session, keys, head)  # a size no checkpoint can have yet: the log just grew
    return moved


def _drain(session: Session, keys: LedgerKeys, head: LogHead, limit: int) -> int:
    queued = session.execute(select(_INTAKE).order_by(_INTAKE.c.id).limit(limit)).all()
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
        fields = {name: getattr(q, name) for name in _INTAKE_FIELDS}
        fields["at"] = _aware(fields["at"])
        if fields["expires_at"] is not None:
            fields["expires_at"] = _aware(fields["expires_at"])
        entries.append(_Entry(q.subject, key, fields, body))
    _write(session, head, entries)
    session.execute(delete(_INTAKE).where(_INTAKE.c.id.in_([q.id for q in queued])))
    return len(queued)


_INTAKE_FIELDS = (
    "recipient_id",
    "purpose_id",
    "purpose_version",
    "type",
    "at",
    "actor",
    "channel",
    "claims",
    "expires_at",
)


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


def _tree(head: LogHead) -> merkle.CompactTree:
    return merkle.CompactTree.restore(head.size, [bytes.fromhex(h) for h in head.frontier or []])


def checkpoint(
    session: Session, keys: LedgerKeys, head: LogHead | None = None
) -> merkle.Checkpoint:
    """Sign the log's current root (once per size); O(log n) from the stored right edge.

    ``head``: the log head this transaction already holds locked, if any.
    """
    head = head or _locked_head(session)
    size = head.size
    existing = session.get(CheckpointRow, size)
    if existing is not None:
        return merkle.Checkpoint(keys.origin, size, bytes.fromhex(existing.root))
    return _sign(session, keys, head)


def _sign(session: Session, keys: LedgerKeys, head: LogHead) -> merkle.Checkpoint:
    size = head.size
    root = _tree(head).root()
    cp = merkle.Checkpoint(keys.origin, size, root)
    note = merkle.sign_checkpoint(cp, log_key(session, keys), LOG_KEY_NAME)
    session.add(CheckpointRow(size=size, root=root.hex(), note=note))
    session.flush()
    return cp


def latest_checkpoint(session: Session) -> CheckpointRow | None:
    return session.scalar(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1))


# -- reading ---------------------------------------------------------------------------


def _as_event(row: Any, customer_id: str) -> ConsentEvent:
    """The event of a log or intake row (or a result row with their columns)."""
    from consent.model import Actor, Channel, EventType

    return ConsentEvent(
        customer_id=customer_id,
        recipient_id=row.recipient_id,
        purpose_id=row.purpose_id,
        purpose_version=row.purpose_version,
        type=EventType(row.type),
        at=_aware(row.at),
        actor=Actor(row.actor),
        channel=Channel(row.channel),
        claims=frozenset(row.claims),
        expires_at=_aware(row.expires_at) if row.expires_at else None,
    )


def customer_rows(session: Session, keys: LedgerKeys, customer_id: str) -> list[EventRow]:
    ck = customer_key(session, keys, customer_id)
    if ck is None:
        return []
    return list(
        session.scalars(
            select(EventRow).where(EventRow.subject == ck.subject).order_by(EventRow.seq)
        )
    )


def _event_columns(table: type[EventRow] | type[IntakeRow]) -> list[Any]:
    return [getattr(table, name) for name in _INTAKE_FIELDS]


def states(
    session: Session, keys: LedgerKeys, customer_id: str, recipient_id: str | None = None
) -> dict[tuple[str, str], ConsentState]:
    """Current states keyed by (recipient, purpose), queued events included.

    One statement reads the log and the intake, so an event the sequencer moves meanwhile
    is seen exactly once (each statement has one snapshot).
    """
    ck = customer_key(session, keys, customer_id)
    if ck is None:
        return {}
    events = _events(session, customer_id, ck.subject, recipient_id)
    return {(k[1], k[2]): v for k, v in project(events).items()}


def _events(
    session: Session, customer_id: str, subject: str, recipient_id: str | None = None
) -> list[ConsentEvent]:
    """The customer's events in order, logged then queued, in one statement."""
    logged = select(
        literal(0).label("queued"), EventRow.seq.label("pos"), *_event_columns(EventRow)
    ).where(EventRow.subject == subject)
    waiting = select(literal(1), IntakeRow.id, *_event_columns(IntakeRow)).where(
        IntakeRow.subject == subject
    )
    if recipient_id is not None:
        logged = logged.where(EventRow.recipient_id == recipient_id)
        waiting = waiting.where(IntakeRow.recipient_id == recipient_id)
    both = union_all(logged, waiting).subquery()
    return [
        _as_event(r, customer_id)
        for r in session.execute(select(both).order_by(both.c.queued, both.c.pos))
    ]


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


# -- verification ----------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    seq: int
    what: str


@dataclass(frozen=True)
class Report:
    entries: int  # entries checked
    checkpoints: int
    problems: list[Problem]
    added_during: int = 0  # entries the sequencer added (with their checkpoint) meanwhile
    queued: int = 0  # events accepted but not yet in the log
    subtrees: int = 0  # stored subtree hashes checked (the ones proofs are made of)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(session: Session, upto: int, batch: int = 20_000) -> Iterator[Any]:
    """The log's rows up to ``upto`` in order: plain result rows of the columns a check
    needs (no ORM objects, no sealed details), ``batch`` per query."""
    columns = [_EVENTS.c[name] for name in (*_LEAF_COLUMNS, "leaf_hash")]
    last = 0
    while True:
        chunk = session.execute(
            select(*columns)
            .where(_EVENTS.c.seq > last, _EVENTS.c.seq <= upto)
            .order_by(_EVENTS.c.seq)
            .limit(batch)
        ).all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq


def verify(session: Session, origin: str) -> Report:
    """Recompute every leaf, chain, checkpoint and stored subtree hash; report the first bad
    entry first.

    Checks the log up to its newest checkpoint when the check starts, so that it can run
    while the sequencer appends; entries after that count as added during the check when
    a checkpoint signed meanwhile covers them, and as unsealed when none does.
    """
    public = log_public_key(session)
    checkpoints = {c.size: c for c in session.scalars(select(CheckpointRow))}
    newest = max(checkpoints, default=0)
    tree = merkle.CompactTree()
    last_of_subject: dict[str, str] = {}
    problems: list[Problem] = []
    subtrees: dict[tuple[int, int], str] = {}  # recomputed, not yet compared with the stored
    stored_problems: list[Problem] = []
    checked = 0
    expected = 1
    for row in _rows(session, upto=newest):
        if row.seq != expected:
            problems.append(Problem(expected, f"entry {expected} is missing (next is {row.seq})"))
            break
        if merkle.leaf_hash(_leaf_data(row._mapping)).hex() != row.leaf_hash:
            problems.append(Problem(row.seq, f"entry {row.seq} was altered"))
        if row.prev_leaf_hash != last_of_subject.get(row.subject):
            problems.append(
                Problem(
                    row.seq,
                    f"entry {row.seq} does not follow its customer's "
                    "previous entry (one was removed or reordered)",
                )
            )
        last_of_subject[row.subject] = row.leaf_hash
        for t, h in tiles.completed(row.seq, tree.append(bytes.fromhex(row.leaf_hash))):
            subtrees[(t.height, t.index)] = h.hex()
        cp = checkpoints.get(row.seq)
        if cp is not None:
            problems.extend(_check_checkpoint(cp, tree.root(), public, origin))
        if problems:
            break
        if len(subtrees) >= _SUBTREE_BATCH:
            stored_problems.extend(_check_subtrees(session, subtrees))
            checked += len(subtrees)
            subtrees.clear()
        expected += 1
    if not problems:
        stored_problems.extend(_check_subtrees(session, subtrees))
        checked += len(subtrees)
    size = expected - 1 if not problems else problems[0].seq
    added = 0
    if not problems:
        if newest > size:
            problems.append(
                Problem(
                    size + 1,
                    f"checkpoint {newest} covers entries that are gone (the log has {size})",
                )
            )
        else:
            tops = session.execute(
                select(SubtreeRow.height, func.max(SubtreeRow.idx)).group_by(SubtreeRow.height)
            ).all()
            last = session.scalar(select(func.max(EventRow.seq))) or 0  # read after the tops
            stored_problems.extend(_stray_subtrees(tops, last))
            signed = session.scalar(select(func.max(CheckpointRow.size))) or 0
            if last > signed:
                problems.append(
                    Problem(
                        signed + 1,
                        f"entries {signed + 1}..{last} are not covered by a signed checkpoint",
                    )
                )
            else:
                added = last - size
    return Report(
        entries=size,
        checkpoints=len(checkpoints),
        problems=sorted(problems + stored_problems, key=lambda p: p.seq),
        added_during=added,
        queued=queued(session),
        subtrees=checked,
    )


_SUBTREE_BATCH = 1000  # recomputed subtree hashes compared with the stored ones per query


def _check_subtrees(session: Session, recomputed: dict[tuple[int, int], str]) -> list[Problem]:
    """Compare stored subtree hashes with the ones recomputed from the leaves; at each
    height the recomputed ones are consecutive, so one range per height is read."""
    if not recomputed:
        return []
    spans: dict[int, tuple[int, int]] = {}
    for height, idx in recomputed:
        low, high = spans.get(height, (idx, idx))
        spans[height] = (min(low, idx), max(high, idx))
    wanted = or_(
        *(
            and_(SubtreeRow.height == height, SubtreeRow.idx.between(low, high))
            for height, (low, high) in spans.items()
        )
    )
    stored = {
        (height, idx): value
        for height, idx, value in session.execute(
            select(SubtreeRow.height, SubtreeRow.idx, SubtreeRow.hash).where(wanted)
        )
    }
    problems = []
    for key, value in recomputed.items():
        found = stored.get(key)
        if found != value:
            t = tiles.Subtree(*key)
            what = "is missing" if found is None else "was altered"
            problems.append(
                Problem(t.end, f"the stored hash of entries {t.start + 1}..{t.end} {what}")
            )
    return problems


def _stray_subtrees(tops: Sequence[Any], last: int) -> list[Problem]:
    """Stored subtree hashes of heights the log does not keep, or past its last entry (the
    sequencer could not store the real one there)."""
    problems = []
    for height, top in tops:
        if not tiles.is_stored(height):
            problems.append(Problem(last, f"a stored subtree hash of height {height} is foreign"))
        elif (top + 1) << height > last:
            t = tiles.Subtree(height, top)
            problems.append(
                Problem(
                    last,
                    f"a stored subtree hash covers entries {t.start + 1}..{t.end}, "
                    f"past the log's last entry {last}",
                )
            )
    return problems


def _check_checkpoint(
    cp: CheckpointRow, root: bytes, public: Ed25519PublicKey | None, origin: str
) -> list[Problem]:
    if cp.root != root.hex():
        return [Problem(cp.size, f"the log's root at size {cp.size} differs from its checkpoint")]
    if public is None:
        return [Problem(cp.size, "the log's signing key is missing")]
    try:
        signed = merkle.verify_checkpoint(cp.note, public, LOG_KEY_NAME)
    except ValueError as exc:
        return [Problem(cp.size, f"checkpoint {cp.size}: {exc}")]
    if signed.size != cp.size or signed.root != root or signed.origin != origin:
        return [Problem(cp.size, f"checkpoint {cp.size}'s signed note does not match it")]
    return []


# -- erasure ---------------------------------------------------------------------------


def erase_customer(session: Session, customer_id: str) -> bool:
    """Destroy the customer's key: their details become unreadable, the log still verifies.

    Events still queued for the log go with it: nothing of theirs enters the log after.
    """
    if session.get_bind().dialect.name == "postgresql":  # after any intake of theirs
        session.execute(select(func.pg_advisory_xact_lock(lock_id(customer_id))))
    row = session.get(CustomerKeyRow, customer_id, with_for_update=True)
    if row is None:
        return False
    session.execute(delete(IntakeRow).where(IntakeRow.subject == row.subject))
    session.execute(delete(CustomerKeyRow).where(CustomerKeyRow.customer_id == customer_id))
    session.expunge(row)
    known.drop(customer_id)
    return True


def random_master() -> bytes:
    return os.urandom(32)


def expire_due(session: Session, keys: LedgerKeys, now: datetime) -> int:
    """Write an ``expired`` event (by the system) for each consent whose validity has run out.

    ``decide()`` already refuses an expired consent; the event makes the expiry part of the
    customer's provable history. Returns how many events were written.
    """
    from consent.model import Actor, Channel, EventType

    # One expiry run at a time, and after everything queued: a second run sees the first
    # one's events, and no expiry lands before an event that was accepted before it.
    head = _locked_head(session)
    drained = 0
    while moved := _drain(session, keys, head, DRAIN_BATCH):
        drained += moved
    items: list[tuple[ConsentEvent, dict[str, Any]]] = []
    for customer_id in session.scalars(select(CustomerKeyRow.customer_id)):
        for (recipient_id, purpose_id), state in states(session, keys, customer_id).items():
            if state.status == "active" and state.expires_at and state.expires_at <= now:
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
