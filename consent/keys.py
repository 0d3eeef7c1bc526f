"""The ledger's keys: the checkpoint signing key and each customer's own key.

A customer's key seals their event details and derives their ``subject`` (the salted
commitment that stands for them in the log). It is stored wrapped by the ledger's master
key; destroying the row is erasure. Unwrapped keys are cached in the process so that a
request that records consent need not read the key first: the intake's insert checks in
the same statement that the row still exists with the cached ``subject`` (see
:func:`consent.ledger.submit_many`), so a key erased by another process is never used.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from consent.sealing import new_key, unwrap, wrap
from consent.store import CustomerKeyRow, LogKeyRow

LOG_KEY_NAME = "avain-consent-log"


@dataclass(frozen=True)
class LedgerKeys:
    master: bytes  # 32-byte AES key that wraps customer keys and the log signing key
    origin: str  # the checkpoint origin line, e.g. "login.example.com/consent-log"


def random_master() -> bytes:
    """A new master key for :class:`LedgerKeys` (tests, benchmarks, a fresh ledger)."""
    return os.urandom(32)


@dataclass(frozen=True)
class CustomerKey:
    key: bytes
    subject: str


# -- the log's signing key -------------------------------------------------------------


def log_key(session: Session, keys: LedgerKeys) -> Ed25519PrivateKey:
    row = session.get(LogKeyRow, LOG_KEY_NAME)
    if row is None:
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        row = LogKeyRow(
            name=LOG_KEY_NAME,
            wrapped_private_key=wrap(keys.master, raw, "log"),
            public_key=private.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            ),
        )
        session.add(row)
        session.flush()
        return private
    return _log_private(keys.master, row.wrapped_private_key)


@lru_cache(maxsize=8)
def _log_private(master: bytes, wrapped: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(unwrap(master, wrapped, "log"))


def log_public_key(session: Session) -> Ed25519PublicKey | None:
    row = session.get(LogKeyRow, LOG_KEY_NAME)
    return Ed25519PublicKey.from_public_bytes(row.public_key) if row else None


# -- customers' keys -------------------------------------------------------------------


@lru_cache(maxsize=4096)
def unwrap_cached(master: bytes, wrapped: bytes, customer_id: str) -> bytes:
    return unwrap(master, wrapped, customer_id)


class _Known:
    """Customers' keys this process has read lately, least recently used out first."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.keys: OrderedDict[tuple[bytes, str], CustomerKey] = OrderedDict()

    def get(self, master: bytes, customer_id: str) -> CustomerKey | None:
        with self.lock:
            ck = self.keys.get((master, customer_id))
            if ck is not None:
                self.keys.move_to_end((master, customer_id))
            return ck

    def put(self, master: bytes, customer_id: str, ck: CustomerKey) -> None:
        with self.lock:
            self.keys[(master, customer_id)] = ck
            self.keys.move_to_end((master, customer_id))
            while len(self.keys) > self.size:
                self.keys.popitem(last=False)

    def drop(self, customer_id: str) -> None:
        with self.lock:
            for known in [k for k in self.keys if k[1] == customer_id]:
                del self.keys[known]


known = _Known()


def customer_key(
    session: Session, keys: LedgerKeys, customer_id: str, create: bool = False
) -> CustomerKey | None:
    row = session.get(CustomerKeyRow, customer_id)
    if row is None:
        if not create:
            return None
        return _create(session, keys, customer_id)
    return CustomerKey(unwrap_cached(keys.master, row.wrapped_key, customer_id), row.subject)


def _create(session: Session, keys: LedgerKeys, customer_id: str) -> CustomerKey:
    """Make the customer's key, or take the one a concurrent transaction just made.

    ``INSERT ... ON CONFLICT DO NOTHING`` then a read, rather than a savepoint: on SQLite a
    savepoint opened before the transaction's first write would commit on its own.
    """
    key = new_key()
    subject = hashlib.sha256(key + b"|subject|" + customer_id.encode()).hexdigest()
    values = {
        "customer_id": customer_id,
        "subject": subject,
        "wrapped_key": wrap(keys.master, key, customer_id),
    }
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(CustomerKeyRow).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(CustomerKeyRow).values(values).on_conflict_do_nothing())
    wrapped, stored = session.execute(
        select(CustomerKeyRow.wrapped_key, CustomerKeyRow.subject).where(
            CustomerKeyRow.customer_id == customer_id
        )
    ).one()
    if stored == subject:
        return CustomerKey(key, subject)
    return CustomerKey(unwrap_cached(keys.master, wrapped, customer_id), stored)


def customer_keys(
    session: Session, keys: LedgerKeys, customer_ids: set[str], lock: bool = False
) -> dict[str, CustomerKey]:
    """The customers' keys, made where missing, read from the database (and remembered).

    With ``lock``, each customer is locked until the commit, so that one customer's
    transactions queue events one after the other. On PostgreSQL that is a transaction-level
    advisory lock (memory only: no row is written), taken in the same round trip as the key
    is read; SQLite has a single writer anyway. A customer seen for the first time is
    serialised by the key row's primary key instead.
    """
    cols = (CustomerKeyRow.customer_id, CustomerKeyRow.wrapped_key, CustomerKeyRow.subject)
    found: dict[str, tuple[bytes, str]] = {}
    if lock and session.get_bind().dialect.name == "postgresql":
        for customer_id in sorted(customer_ids):
            params = {"customer": customer_id, "lock": lock_id(customer_id)}
            for cid, wrapped, subject in session.execute(_LOCK_AND_READ, params):
                if cid is not None:
                    found[cid] = (wrapped, subject)
    else:
        stmt = select(*cols).where(CustomerKeyRow.customer_id.in_(customer_ids))
        found = {cid: (wrapped, subject) for cid, wrapped, subject in session.execute(stmt)}
    out = {}
    for customer_id in sorted(customer_ids):
        if customer_id in found:
            wrapped, subject = found[customer_id]
            ck = CustomerKey(unwrap_cached(keys.master, wrapped, customer_id), subject)
        else:
            ck = _create(session, keys, customer_id)
        known.put(keys.master, customer_id, ck)
        out[customer_id] = ck
    return out


# built once: on this path making the statement would cost more than running it
_LOCK_AND_READ = (
    select(CustomerKeyRow.customer_id, CustomerKeyRow.wrapped_key, CustomerKeyRow.subject)
    .select_from(select(func.pg_advisory_xact_lock(bindparam("lock", type_=BigInteger))).subquery())
    .outerjoin(CustomerKeyRow, CustomerKeyRow.customer_id == bindparam("customer"))
)


def lock_id(customer_id: str) -> int:
    """A signed 64-bit advisory lock key for the customer (a collision only serialises)."""
    digest = hashlib.sha256(b"avain-consent-customer|" + customer_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
