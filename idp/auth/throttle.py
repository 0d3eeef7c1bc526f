"""Attempt throttling per account and per client IP, counted atomically (database or Redis).

An attempt takes its slot *before* the password is checked, in one atomic step that also
decides, so parallel requests cannot check more passwords than the limit (OWASP ASVS 5.0
V6.3.1, NIST SP 800-63B §5.2.2). A successful sign-in gives its slots back. Windows are
fixed: they start at the first attempt and last ``window`` seconds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import case, delete, or_, update
from sqlalchemy.orm import Session

from idp.db import upsert, utcnow
from idp.models import ThrottleCounter
from idp.redis_store import reachable


class Counter(Protocol):
    def take(self, key: str, limit: int) -> bool:
        """Count one attempt if fewer than ``limit`` are counted in the window; say if it was."""
        ...

    def give_back(self, key: str) -> None:
        """Uncount one attempt (never below zero)."""
        ...

    def clear(self, key: str) -> None: ...


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.lower().encode()).hexdigest()[:32]}"


class DbCounter:
    """Counters in ``throttle_counters``: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
    per attempt, which starts a new window, counts, or refuses, in a single statement.

    The statement runs in the request's transaction: on PostgreSQL a second attempt on the
    same key waits for the first to commit and then sees its count (no lost updates)."""

    def __init__(self, session: Session, window: int) -> None:
        self.session = session
        self.window = timedelta(seconds=window)

    def take(self, key: str, limit: int) -> bool:
        now = utcnow()
        row = ThrottleCounter.__table__.c
        expired = row.window_start <= now - self.window
        stmt = upsert(self.session)(ThrottleCounter).values(key=key, count=1, window_start=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[row.key],
            set_={
                "count": case((expired, 1), else_=row.count + 1),
                "window_start": case((expired, now), else_=row.window_start),
            },
            where=or_(expired, row.count < limit),
        ).returning(row.count)
        return self.session.execute(stmt).first() is not None

    def give_back(self, key: str) -> None:
        c = ThrottleCounter.__table__.c
        self.session.execute(
            update(ThrottleCounter)
            .where(c.key == key, c.count > 0)
            .values(count=c.count - 1)
            .execution_options(synchronize_session=False)
        )

    def clear(self, key: str) -> None:
        self.session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))


# KEYS[1] the counter; ARGV[1] the limit; ARGV[2] the window in seconds. 1: counted.
_TAKE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
# DECR keeps the key's expiry; a counter that expired meanwhile is not brought back.
_GIVE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisCounter:
    """Counters in Redis, each attempt one Lua script (atomic: it checks and counts)."""

    def __init__(self, client: Any, window: int) -> None:
        self.redis = client
        self.window = window
        self._take = client.register_script(_TAKE)
        self._give_back = client.register_script(_GIVE_BACK)

    def take(self, key: str, limit: int) -> bool:
        with reachable():
            return bool(self._take(keys=[f"avain:throttle:{key}"], args=[limit, self.window]))

    def give_back(self, key: str) -> None:
        with reachable():
            self._give_back(keys=[f"avain:throttle:{key}"])

    def clear(self, key: str) -> None:
        with reachable():
            self.redis.delete(f"avain:throttle:{key}")


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
        account = _key("acct", email)
        if not self.counter.take(account, self.max_failures):
            return False
        if not self.counter.take(_key("ip", ip), self.ip_limit):
            self.counter.give_back(account)
            return False
        return True

    def succeeded(self, email: str, ip: str) -> None:
        """The password was right: the account starts afresh, the IP gets its slot back."""
        self.counter.clear(_key("acct", email))
        self.counter.give_back(_key("ip", ip))


@dataclass
class RegistrationThrottle:
    """Registrations per client IP: each one costs an Argon2 hash and sends a mail."""

    counter: Counter
    limit: int

    def reserve(self, ip: str) -> bool:
        return self.counter.take(_key("register", ip), self.limit)


@dataclass
class MailThrottle:
    """Mails to an address someone typed in, per address and per client IP, so nobody can
    flood a mailbox through Avain's forms."""

    counter: Counter
    per_address: int
    per_ip: int

    def reserve(self, address: str, ip: str) -> bool:
        key = _key("mail", address)
        if not self.counter.take(key, self.per_address):
            return False
        if not self.counter.take(_key("mailip", ip), self.per_ip):
            self.counter.give_back(key)
            return False
        return True
