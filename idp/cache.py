"""What each worker keeps in memory of rows that every protocol request reads and that
hardly ever change: clients, signing keys, instance secrets.

A copy is good until the database says otherwise. Any change to those tables (an ORM
flush, or an ORM ``update()``/``delete()``) moves the counter ``config`` in
``cache_generations`` in the same transaction. Each worker reads that counter at most once
per ``cache_check_seconds`` (default 1 s), on a request that uses a copy, and drops every
copy when it moved; the process that made the change drops its own copies when the
transaction commits, without waiting. So a client deleted or a key rotated in the console,
by the CLI or by another worker stops being served everywhere within a second.

Only rows that were found are kept (an unknown client id is asked for each time, so a
caller cannot fill the memory with misses), and at most :data:`MAX_ENTRIES` of them. A row
is kept as its column values and handed to a request as a fresh instance attached to the
request's session, so a request never shares a mutable object with another.
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from idp.db import Base, upsert
from idp.models import CacheGeneration, Client, InstanceSecret, SigningKey

T = TypeVar("T")
B = TypeVar("B", bound=Base)

#: the tables whose rows workers keep: a change to any of them moves the counter
WATCHED: tuple[type[Any], ...] = (Client, SigningKey, InstanceSecret)
COUNTER = "config"
WATCHED_TABLES = frozenset(cls.__table__ for cls in WATCHED)
MAX_ENTRIES = 10_000
_CHANGED = "avain.cache_changed"  # in Session.info: this transaction moved the counter

_every_cache: weakref.WeakSet[ProcessCache] = weakref.WeakSet()


class ProcessCache:
    """One app's copies, and the counter they were read under."""

    def __init__(self, check_seconds: float) -> None:
        self.check_seconds = check_seconds
        self._values: dict[tuple[str, str], Any] = {}
        self._generation: int | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()
        #: moves whenever the copies are dropped: what is derived from them and kept
        #: elsewhere (:mod:`idp.documents`) is stale when it was made under another version
        self.version = 0
        _every_cache.add(self)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self.version += 1

    def _check(self, session: Session) -> None:
        """Drop every copy if the counter moved; at most once per ``check_seconds``."""
        now = time.monotonic()
        if now < self._next_check:
            return
        found = session.execute(
            select(CacheGeneration.value).where(CacheGeneration.name == COUNTER)
        ).scalar()
        generation = int(found or 0)
        with self._lock:
            if generation != self._generation:
                self._values.clear()
                if self._generation is not None:  # (the first reading dropped nothing)
                    self.version += 1
                self._generation = generation
            self._next_check = now + self.check_seconds

    def get(self, session: Session, kind: str, key: str, load: Callable[[], T | None]) -> T | None:
        """The copy of ``(kind, key)``, or ``load()``'s answer, kept unless None."""
        self._check(session)
        try:
            found: T = self._values[kind, key]
            return found
        except KeyError:
            pass
        value = load()
        if value is not None:
            with self._lock:
                if len(self._values) >= MAX_ENTRIES:
                    self._values.clear()
                self._values[kind, key] = value
        return value


def init_app(app: Flask) -> None:
    app.extensions["avain.cache"] = ProcessCache(app.config["AVAIN"].cache_check_seconds)


def _cache() -> ProcessCache | None:
    """The app's copies; none outside an app (start-up, the CLI's own sessions)."""
    if not has_app_context():
        return None
    found: ProcessCache | None = current_app.extensions.get("avain.cache")
    return found


def value(session: Session, kind: str, key: str, load: Callable[[], T | None]) -> T | None:
    """A value derived from watched rows (a signing key list, a secret), kept per worker."""
    cache = _cache()
    return load() if cache is None else cache.get(session, kind, key, load)


def row(session: Session, cls: type[B], key: str) -> B | None:
    """``session.get(cls, key)`` without a round trip when this worker has read the row
    since it last changed. The instance is the session's own (loaded and unmodified, as
    if just read), so the request may use, change or delete it like any other."""
    ident = identity_key(cls, key)
    present = session.identity_map.get(ident)
    if present is not None:
        return present

    def load() -> dict[str, Any] | None:
        found = session.get(cls, key)
        if found is None:
            return None
        return {c.key: getattr(found, c.key) for c in cls.__mapper__.column_attrs}

    cache = _cache()
    if cache is None:
        return session.get(cls, key)
    values = cache.get(session, cls.__name__, key, load)
    if values is None:
        return None
    present = session.identity_map.get(ident)  # load() put it there
    if present is not None:
        return present
    # as a query would make it: no constructor, no change events; a list or dict (JSON
    # columns) is the request's own copy
    instance = cast(B, cls.__mapper__.class_manager.new_instance())
    instance.__dict__.update(
        {k: copy.deepcopy(v) if isinstance(v, list | dict) else v for k, v in values.items()}
    )
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


# -- noticing changes: every session of the process ------------------------------------


def _watched(objects: Any) -> bool:
    return any(isinstance(o, WATCHED) for o in objects)


def _move_counter(session: Session) -> None:
    """Move the counter in this transaction, on the session's connection (no autoflush)."""
    insert = upsert(session)(CacheGeneration).values(name=COUNTER, value=1)
    stmt = insert.on_conflict_do_update(
        index_elements=[CacheGeneration.name],
        set_={"value": CacheGeneration.value + 1},
    )
    session.connection().execute(stmt)
    session.info[_CHANGED] = True


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if _watched(session.new) or _watched(session.dirty) or _watched(session.deleted):
        _move_counter(session)


@event.listens_for(Session, "do_orm_execute")
def _statement_change(state: ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE sent as a statement (not through a flush), ORM-enabled or
    Core on the table."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if (mapper is not None and issubclass(mapper.class_, WATCHED)) or getattr(
        state.statement, "table", None
    ) in WATCHED_TABLES:
        _move_counter(state.session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # (a flag left by a transaction that was rolled back costs one needless clear)
    if session.info.pop(_CHANGED, False):
        for cache in list(_every_cache):
            cache.clear()
