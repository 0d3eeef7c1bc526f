"""The ledger's tables, with their own declarative base (the identity provider's are apart).

``consent_events`` is the append-only log: every row is a Merkle leaf, in ``seq`` order
from 1 with no gaps. The database itself refuses UPDATE and DELETE on it (triggers from
:func:`append_only_ddl`), not only this code. Rows hold no personal data in the clear:
``subject`` is a salted commitment to the customer, ``details`` is sealed under the
customer's key (see :mod:`consent.sealing`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class LedgerBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class _Event:
    """The columns a logged event and a queued one share, declared once: the ledger's
    column lists are derived from these tables (:mod:`consent.ledger.columns`)."""

    subject: Mapped[str] = mapped_column(String(64), index=True)
    recipient_id: Mapped[str] = mapped_column(String(64))
    purpose_id: Mapped[str] = mapped_column(String(64))
    purpose_version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(24))
    claims: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    details: Mapped[bytes] = mapped_column(LargeBinary)
    details_commitment: Mapped[str] = mapped_column(String(64))


class EventRow(_Event, LedgerBase):
    __tablename__ = "consent_events"
    # one recipient's events, without reading the others' (the admin's data-sharing map)
    __table_args__ = (
        Index("ix_consent_events_recipient_id_purpose_id", "recipient_id", "purpose_id"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    prev_leaf_hash: Mapped[str | None] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))


class IntakeRow(_Event, LedgerBase):
    """An event accepted but not yet in the log: the queue the sequencer drains.

    A request writes here without the log head's lock (so requests do not queue behind
    each other), and :func:`consent.ledger.sequence` moves rows into ``consent_events`` in
    ``id`` order. Rows hold what an event row holds before it has a place in the log:
    ``details`` are sealed under the customer's key, bound to ``token``. States read both
    tables, so a queued withdrawal counts at once. Not append-only: rows leave when they
    are sequenced, or when their customer is erased.
    """

    __tablename__ = "consent_intake"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LogHead(LedgerBase):
    """One row: the log's size, locked by each append so sequence numbers have no gaps."""

    __tablename__ = "consent_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    # the Merkle tree's right edge (hex hashes, largest subtree first): O(log n) per append
    frontier: Mapped[list[str]] = mapped_column(JSON, default=list)


class SubtreeRow(LedgerBase):
    """The hash of a complete, aligned subtree of the log, at a height proofs need stored.

    Covers entries ``idx * 2**height + 1`` to ``(idx + 1) * 2**height``; written with the
    entry that completes it (see :mod:`consent.tiles`). Hashes only: erasure leaves them.
    """

    __tablename__ = "consent_log_subtrees"

    height: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class CheckpointRow(LedgerBase):
    __tablename__ = "consent_checkpoints"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CustomerKeyRow(LedgerBase):
    """The only place that links a customer to their events; deleted on erasure."""

    __tablename__ = "consent_customer_keys"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    subject: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LogKeyRow(LedgerBase):
    """The Ed25519 key that signs checkpoints and receipts (apart from token keys)."""

    __tablename__ = "consent_log_keys"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PurposeVersionRow(LedgerBase):
    """Every version of every purpose ever shown, so old consents stay explainable."""

    __tablename__ = "consent_purpose_versions"

    purpose_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


APPEND_ONLY_TABLES = (
    "consent_events",
    "consent_checkpoints",
    "consent_purpose_versions",
    "consent_log_subtrees",
)


def append_only_ddl(dialect: str, tables: Sequence[str] = APPEND_ONLY_TABLES) -> list[str]:
    """Statements that make the ledger tables refuse UPDATE and DELETE in the database."""
    if dialect == "postgresql":
        stmts = [
            "CREATE OR REPLACE FUNCTION consent_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'the consent ledger is append-only: % on % refused', "
            "TG_OP, TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        ]
        for table in tables:
            stmts.append(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "
                f"{table} FOR EACH ROW EXECUTE FUNCTION consent_append_only()"
            )
        return stmts
    if dialect == "sqlite":
        stmts = []
        for table in tables:
            for op in ("UPDATE", "DELETE"):
                stmts.append(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only: "
                    f"{op} on {table} refused'); END"
                )
        return stmts
    raise ValueError(f"no append-only triggers for {dialect}")


def drop_append_only_ddl(
    dialect: str, tables: Sequence[str] = APPEND_ONLY_TABLES, function: bool = True
) -> list[str]:
    """The reverse of :func:`append_only_ddl`; ``function=False`` keeps PostgreSQL's trigger
    function for the tables not named."""
    if dialect == "postgresql":
        stmts = [f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in tables]
        return [*stmts, "DROP FUNCTION IF EXISTS consent_append_only()"] if function else stmts
    if dialect == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {t}_no_{op}" for t in tables for op in ("update", "delete")
        ]
    raise ValueError(f"no append-only triggers for {dialect}")
