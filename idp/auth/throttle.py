"""Attempt throttling per account and per client IP, counted atomically (database or Redis).

An attempt takes its slots *before* the password is checked, all of them in one atomic step
that also decides, so parallel requests cannot check more passwords than the limit (OWASP
ASVS 5.0 V6.3.1, NIST SP 800-63B §5.2.2). A successful sign-in gives its slots back, in one
step too. Windows are fixed: they start at the first attempt and last ``window`` seconds.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Integer, Table, bindparam, delete, select, text, update
from sqlalchemy.orm import Session

from idp import direct
from idp.db import utcnow
from idp.models import ThrottleCounter
from idp.redis_store import reachable


class Counter(Protocol):
    def take(self, limits: Mapping[str, int]) -> bool:
        """Count one attempt on each key of ``limits`` if every one has fewer than its limit
        counted in its window, in one atomic step; else count none. Say which it was."""
        ...

    def give_back(self, key: str) -> None:
        """Uncount one attempt (never below zero)."""
        ...

    def release(self, clear: str, give_back: str) -> None:
        """In one step: forget every attempt on ``clear``, uncount one on ``give_back``."""
        ...


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.lower().encode()).hexdigest()[:32]}"


_COUNTERS = cast(Table, ThrottleCounter.__table__)
# A window that ended long ago: the next attempt starts a new one, as on a key never seen.
ENDED = datetime(1970, 1, 1, tzinfo=UTC)

# The two upserts below are written out: SQLAlchemy does not cache the compiled form of a
# multi-row INSERT, and compiling one costs more CPU than all the rest of the step. SQLite
# and PostgreSQL both read them as they stand. Rows are locked in the order of their VALUES.
_UPSERT = 'INSERT INTO throttle_counters ("key", count, window_start) VALUES {rows} '
# the counter's window is over: it started at or before ``started_before`` (now - window)
_OVER = "throttle_counters.window_start <= :started_before"
_TAKE_SQL = (
    _UPSERT + 'ON CONFLICT ("key") DO UPDATE SET '
    f"count = CASE WHEN {_OVER} THEN 1 ELSE throttle_counters.count + 1 END, "
    f"window_start = CASE WHEN {_OVER} THEN :now ELSE throttle_counters.window_start END "
    f'WHERE {_OVER} OR throttle_counters.count < CASE throttle_counters."key" {{limits}} END '
    'RETURNING "key"'
)
# the counter ``clear`` ends its window with nothing counted (as if deleted); the other one
# loses an attempt, never going below zero; a counter not there is left as if deleted
_CLEARED = 'throttle_counters."key" = :clear'
_RELEASE_SQL = _UPSERT.format(rows="(:key0, 0, :ended), (:key1, 0, :ended)") + (
    'ON CONFLICT ("key") DO UPDATE SET '
    f"count = CASE WHEN {_CLEARED} THEN 0 "
    "WHEN throttle_counters.count > 0 THEN throttle_counters.count - 1 ELSE 0 END, "
    f"window_start = CASE WHEN {_CLEARED} THEN :ended ELSE throttle_counters.window_start END"
)
_WHEN = _COUNTERS.c.window_start.type
_KEY = _COUNTERS.c.key.type


@functools.cache
def _take_statement(slots: int) -> direct.Statement:
    """Count an attempt on ``slots`` counters (``keyN``, each under its ``limitN``): each
    starts a new window, counts, or is left alone; the keys counted come back. Sent direct
    (:mod:`idp.direct`): a password sign-in's CPU beside Argon2id is what issue 14 holds."""
    sql = _TAKE_SQL.format(
        rows=", ".join(f"(:key{i}, 1, :now)" for i in range(slots)),
        limits=" ".join(f"WHEN :key{i} THEN :limit{i}" for i in range(slots)),
    )
    stmt = text(sql).bindparams(
        bindparam("now", type_=_WHEN),
        bindparam("started_before", type_=_WHEN),
        *(bindparam(f"key{i}", type_=_KEY) for i in range(slots)),
        *(bindparam(f"limit{i}", type_=Integer) for i in range(slots)),
    )
    return direct.Statement(stmt.columns(_COUNTERS.c.key))


# ``key0`` and ``key1`` are the two keys in sorted order, as a take locks them
_RELEASE = direct.Statement(
    text(_RELEASE_SQL).bindparams(
        bindparam("ended", type_=_WHEN),
        *(bindparam(k, type_=_KEY) for k in ("key0", "key1", "clear")),
    )
)
_GIVE_BACK = (
    update(_COUNTERS)
    .where(_COUNTERS.c.key.in_(bindparam("keys", expanding=True)), _COUNTERS.c.count > 0)
    .values(count=_COUNTERS.c.count - 1)
)


class DbCounter:
    """Counters in ``throttle_counters``: one ``INSERT ... ON CONFLICT DO UPDATE ...
    RETURNING`` per attempt starts a new window, counts, or refuses, for every key at once.

    The statement runs in the caller's transaction: on PostgreSQL a second attempt on the
    same key waits for the first to commit and then sees its count (no lost updates). Every
    step locks its rows in sorted key order, so no two transactions wait for each other in
    a cycle (a deadlock).
    """

    def __init__(self, session: Session, window: int) -> None:
        self.session = session
        self.window = timedelta(seconds=window)

    def take(self, limits: Mapping[str, int]) -> bool:
        keys = sorted(limits)
        now = utcnow()
        params: dict[str, Any] = {"now": now, "started_before": now - self.window}
        for i, key in enumerate(keys):
            params[f"key{i}"], params[f"limit{i}"] = key, limits[key]
        counted = [row[0] for row in _take_statement(len(keys)).execute(self.session, params).rows]
        if len(counted) == len(keys):
            return True
        if counted:  # another key had no slot left: uncount these (rows this step locked)
            self.session.execute(_GIVE_BACK, {"keys": counted})
        return False

    def give_back(self, key: str) -> None:
        self.session.execute(_GIVE_BACK, {"keys": [key]})

    def release(self, clear: str, give_back: str) -> None:
        first, second = sorted((clear, give_back))
        params = {"key0": first, "key1": second, "clear": clear, "ended": ENDED}
        _RELEASE.execute(self.session, params)


PURGE_BATCH = 1000


def purge_ended(session: Session, window: int, now: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete up to ``batch`` counters whose window has ended (a new attempt would start
    afresh anyway); the number deleted. Without it the table kept a row for every address
    and every account that ever signed in with a password."""
    ended = select(_COUNTERS.c.key).where(
        _COUNTERS.c.window_start <= now - timedelta(seconds=window)
    )
    result = session.execute(
        delete(_COUNTERS).where(_COUNTERS.c.key.in_(ended.limit(batch).scalar_subquery()))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def sweep_ended(app: Any) -> int:
    """:func:`purge_ended` until nothing is left, for the outbox worker's periodic jobs."""
    window = app.config["AVAIN"].login_throttle_window
    total = 0
    with app.app_context(), app.extensions["avain.sessionmaker"]() as db:
        while True:
            done = purge_ended(db, window, utcnow())
            db.commit()
            total += done
            if done < PURGE_BATCH:
                return total


# KEYS the counters; ARGV[1] the window in seconds, ARGV[i + 1] the limit of KEYS[i].
# 1: every counter counted one; 0: one had no slot left, and none was counted.
_TAKE_LUA = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 1
"""
# KEYS[1] uncounted by one. DECR keeps the key's expiry; a counter that expired meanwhile is
# not brought back.
_GIVE_BACK_LUA = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 0
"""
# KEYS[1] forgotten, KEYS[2] uncounted by one (as above).
_RELEASE_LUA = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
"""


def _redis_key(key: str) -> str:
    return f"avain:throttle:{key}"


class RedisCounter:
    """Counters in Redis, each step one Lua script (atomic: it checks and counts)."""

    def __init__(self, client: Any, window: int) -> None:
        self.redis = client
        self.window = window
        self._take = client.register_script(_TAKE_LUA)
        self._give_back = client.register_script(_GIVE_BACK_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    def take(self, limits: Mapping[str, int]) -> bool:
        keys = list(limits)
        with reachable():
            return bool(
                self._take(
                    keys=[_redis_key(k) for k in keys],
                    args=[self.window, *(limits[k] for k in keys)],
                )
            )

    def give_back(self, key: str) -> None:
        with reachable():
            self._give_back(keys=[_redis_key(key)])

    def release(self, clear: str, give_back: str) -> None:
        with reachable():
            self._release(keys=[_redis_key(clear), _redis_key(give_back)])


@dataclass
class LoginThrottle:
    """Password checks per account (``max_failures``) and per client IP (four times that)."""

    counter: Counter
    max_failures: int

    @property
    def ip_limit(self) -> int:
        return self.max_failures * 4

    def reserve(self, email: str, ip: str) -> bool:
        """Take a slot on the account and one from the IP before checking a password;
        False (and nothing taken) when either has none left."""
        return self.counter.take(
            {_key("acct", email): self.max_failures, _key("ip", ip): self.ip_limit}
        )

    def succeeded(self, email: str, ip: str) -> None:
        """The password was right: the account starts afresh, the IP gets its slot back."""
        self.counter.release(clear=_key("acct", email), give_back=_key("ip", ip))


@dataclass
class RegistrationThrottle:
    """Registrations per client IP: each one costs an Argon2 hash and sends a mail."""

    counter: Counter
    limit: int

    def reserve(self, ip: str) -> bool:
        return self.counter.take({_key("register", ip): self.limit})


@dataclass
class MailThrottle:
    """Mails to an address someone typed in, per address and per client IP, so nobody can
    flood a mailbox through Avain's forms."""

    counter: Counter
    per_address: int
    per_ip: int

    def reserve(self, address: str, ip: str) -> bool:
        return self.counter.take(
            {_key("mail", address): self.per_address, _key("mailip", ip): self.per_ip}
        )
