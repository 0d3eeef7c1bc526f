"""The event columns, derived from the one declaration of the tables (:mod:`consent.store`).

A logged event and a queued one share the columns of ``consent.store._Event``; those of
them that a :class:`~consent.model.ConsentEvent` fills are :data:`EVENT_FIELDS`. Every list
the ledger writes or reads by name comes from here, so a column is added in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Column, Table
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Dialect

from consent.model import Actor, Channel, ConsentEvent, EventType
from consent.store import EventRow, IntakeRow, SubtreeRow

EVENTS = cast(Table, EventRow.__table__)
INTAKE = cast(Table, IntakeRow.__table__)
SUBTREES = cast(Table, SubtreeRow.__table__)

# the columns a ConsentEvent fills, the same in a log row and an intake row
EVENT_FIELDS = tuple(
    column.name
    for column in INTAKE.columns
    if column.name in EVENTS.c and column.name in {f.name for f in fields(ConsentEvent)}
)

# what a Merkle leaf commits to: every log column but the sealed details (committed to by
# ``details_commitment``) and the leaf's own hash
LEAF_COLUMNS = tuple(c.name for c in EVENTS.columns if c.name not in ("details", "leaf_hash"))


_POSTGRESQL: Dialect = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped


def _cast_to(column: Column[Any]) -> str:
    """The PostgreSQL type to cast a parameter to, without a length (a CAST to ``varchar(n)``
    would cut a longer value silently; the insert itself refuses it)."""
    return re.sub(r"\(\d+\)", "", column.type.compile(dialect=_POSTGRESQL)).lower()


# what an intake row holds besides its id and subject, with the PostgreSQL type to cast to
QUEUED_COLUMNS = {c.name: _cast_to(c) for c in INTAKE.columns if c.name not in ("id", "subject")}


def aware(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without a zone."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _aware_or_none(value: datetime | None) -> datetime | None:
    return aware(value) if value else None


def _same(value: Any) -> Any:
    return value


# how a field is stored, and read back; the others are stored as they are
_STORED: dict[str, Callable[[Any], Any]] = {
    "type": str,
    "actor": str,
    "channel": str,
    "claims": sorted,
    "at": aware,
    "expires_at": _aware_or_none,
}
_READ: dict[str, Callable[[Any], Any]] = {
    "type": EventType,
    "actor": Actor,
    "channel": Channel,
    "claims": frozenset,
    "at": aware,
    "expires_at": _aware_or_none,
}


def event_columns(event: ConsentEvent) -> dict[str, Any]:
    """The columns an event row and an intake row share, from the event."""
    return {name: _STORED.get(name, _same)(getattr(event, name)) for name in EVENT_FIELDS}


def stored_columns(row: Any) -> dict[str, Any]:
    """The same columns as stored in a row (an intake row's, for its log row), times aware."""
    values = {name: getattr(row, name) for name in EVENT_FIELDS}
    return {name: aware(v) if isinstance(v, datetime) else v for name, v in values.items()}


def as_event(row: Any, customer_id: str, seq: int | None = None) -> ConsentEvent:
    """The event of a log or intake row (or a result row with their columns); ``seq`` is
    its place in the log (None for a queued one)."""
    values = {name: _READ.get(name, _same)(getattr(row, name)) for name in EVENT_FIELDS}
    return ConsentEvent(customer_id=customer_id, seq=seq, **values)
