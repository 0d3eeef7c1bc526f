"""Replay caches: a one-time value is accepted once and refused until it expires.

RFC 7523 §3 (item 7): the server may keep the ``jti`` values it has seen "for the length
of time for which the JWT would be considered valid based on the applicable exp instant";
Avain keeps them exactly that long (plus the clock leeway), so an assertion is never
accepted twice. Passkey challenges (WebAuthn L3 §13.4.3) are kept until they time out.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import any_, delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from idp import context
from idp.db import upsert, utcnow
from idp.models import ReplayEntry
from idp.redis_store import reachable

PURGE_BATCH = 100  # expired rows deleted by each insertion, so the table stays small


class ReplayCache(Protocol):
    def first_use(self, key: str, until: datetime) -> bool:
        """Remember ``key`` until ``until``; True the first time, False while remembered."""
        ...


def _name(key: str) -> str:
    """A fixed-length name: keys hold client-chosen values of any length."""
    return hashlib.sha256(key.encode()).hexdigest()


class DbReplayCache:
    """Rows in ``replay_cache``: one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired``
    decides; a concurrent second use waits for the first to commit and is then refused."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def first_use(self, key: str, until: datetime) -> bool:
        now = utcnow()
        row = ReplayEntry.__table__.c
        stmt = (
            upsert(self.session)(ReplayEntry)
            .values(key=_name(key), expires_at=until)
            .on_conflict_do_update(
                index_elements=[row.key],
                set_={"expires_at": until},
                where=row.expires_at <= now,
            )
            .returning(row.key)
        )
        first = self.session.execute(stmt).first() is not None
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
