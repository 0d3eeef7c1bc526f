"""Replay caches: a one-time value is accepted once and refused until it expires.

RFC 7523 §3 (item 7): the server may keep the ``jti`` values it has seen "for the length
of time for which the JWT would be considered valid based on the applicable exp instant";
Avain keeps them exactly that long (plus the clock leeway), so an assertion is never
accepted twice. Passkey challenges (WebAuthn L3 §13.4.3) are kept until they time out.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, any_, bindparam, delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from idp import context, direct
from idp.db import upsert, utcnow
from idp.models import ReplayEntry
from idp.redis_store import reachable

# Every PURGE_EVERY-th insertion (counted in each process) deletes up to PURGE_BATCH expired
# entries: more than the PURGE_EVERY rows inserted meanwhile, so expired entries never pile
# up, and the other insertions send one statement instead of two.
PURGE_EVERY = 16
PURGE_BATCH = 100
_insertions = itertools.count(1)


class ReplayCache(Protocol):
    def first_use(self, key: str, until: datetime) -> bool:
        """Remember ``key`` until ``until``; True the first time, False while remembered."""
        ...


def _name(key: str) -> str:
    """A fixed-length name: keys hold client-chosen values of any length."""
    return hashlib.sha256(key.encode()).hexdigest()


_ENTRIES = cast(Table, ReplayEntry.__table__)


@functools.cache
def _insert_statement(insert: Any) -> direct.Statement:
    """Remember ``key`` until ``until``, unless it is remembered after ``now``; RETURNING
    says whether it was."""
    c = _ENTRIES.c
    until = bindparam("until", type_=c.expires_at.type)
    return direct.Statement(
        insert(_ENTRIES)
        .values(key=bindparam("key", type_=c.key.type), expires_at=until)
        .on_conflict_do_update(
            index_elements=[c.key],
            set_={"expires_at": until},
            where=c.expires_at <= bindparam("now", type_=c.expires_at.type),
        )
        .returning(c.key)
    )


class DbReplayCache:
    """Rows in ``replay_cache``: one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired``
    decides; a concurrent second use waits for the first to commit and is then refused.
    An expired row is taken again by its key's next use, and purged in batches."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def first_use(self, key: str, until: datetime) -> bool:
        now = utcnow()
        stmt = _insert_statement(upsert(self.session))  # sent direct: every sign-in has one
        found = stmt.execute(self.session, {"key": _name(key), "until": until, "now": now})
        first = found.first() is not None
        if next(_insertions) % PURGE_EVERY == 0:
            self.purge(now)
        return first

    def purge(self, now: datetime) -> None:
        """Delete a batch of expired entries, skipping rows another transaction holds."""
        expired = (
            select(ReplayEntry.key)
            .where(ReplayEntry.expires_at <= now)
            .order_by(ReplayEntry.expires_at)
            .limit(PURGE_BATCH)
        )
        doomed: ColumnElement[bool] = ReplayEntry.key.in_(expired.scalar_subquery())
        if self.session.get_bind().dialect.name == "postgresql":
            # key = ANY(ARRAY(...)) probes the primary key for each key found; with
            # key IN (...) the planner may hash the batch and scan the whole table for it
            # (tests/test_hot_path_plans.py)
            locked = expired.with_for_update(skip_locked=True).scalar_subquery()
            doomed = ReplayEntry.key == any_(func.array(locked))
        self.session.execute(
            delete(ReplayEntry).where(doomed).execution_options(synchronize_session=False)
        )


class RedisReplayCache:
    """``SET key NX PXAT until``: set only when absent, gone by itself when it expires."""

    def __init__(self, client: Any) -> None:
        self.redis = client

    def first_use(self, key: str, until: datetime) -> bool:
        # a moment in the past would not be stored at all: keep it at least a second
        until = max(until, utcnow() + timedelta(seconds=1))
        with reachable():
            stored = self.redis.set(
                f"avain:once:{_name(key)}", b"1", nx=True, pxat=int(until.timestamp() * 1000)
            )
        return bool(stored)


def first_use(session: Session, key: str, until: datetime) -> bool:
    """Remember ``key`` until ``until`` in the running app's replay cache (Redis when
    configured, else the database); True the first time, False while it is remembered."""
    client = context.redis_client()
    cache: ReplayCache = RedisReplayCache(client) if client is not None else DbReplayCache(session)
    return cache.first_use(key, until)
