"""Failed-login throttling per account and per client IP (database or Redis)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.db import aware, utcnow
from idp.models import ThrottleCounter


class Counter(Protocol):
    def count(self, key: str) -> int: ...
    def hit(self, key: str) -> int: ...
    def clear(self, key: str) -> None: ...


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.lower().encode()).hexdigest()[:32]}"


class DbCounter:
    def __init__(self, session: Session, window: int) -> None:
        self.session = session
        self.window = timedelta(seconds=window)

    def _row(self, key: str) -> ThrottleCounter | None:
        row = self.session.get(ThrottleCounter, key)
        if row is not None and aware(row.window_start) + self.window <= utcnow():
            self.session.delete(row)
            self.session.flush()
            return None
        return row

    def count(self, key: str) -> int:
        row = self._row(key)
        return row.count if row else 0

    def hit(self, key: str) -> int:
        row = self._row(key)
        if row is None:
            row = ThrottleCounter(key=key, count=0, window_start=utcnow())
            self.session.add(row)
        row.count += 1
        self.session.flush()
        return row.count

    def clear(self, key: str) -> None:
        self.session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))

    def keys(self) -> list[str]:
        return list(self.session.scalars(select(ThrottleCounter.key)))


class RedisCounter:
    def __init__(self, client: object, window: int) -> None:
        self.redis = client
        self.window = window

    def count(self, key: str) -> int:
        value = self.redis.get(f"avain:throttle:{key}")  # type: ignore[attr-defined]
        return int(value or 0)

    def hit(self, key: str) -> int:
        name = f"avain:throttle:{key}"
        pipe = self.redis.pipeline()  # type: ignore[attr-defined]
        pipe.incr(name)
        pipe.expire(name, self.window, nx=True)
        value, _ = pipe.execute()
        return int(value)

    def clear(self, key: str) -> None:
        self.redis.delete(f"avain:throttle:{key}")  # type: ignore[attr-defined]


@dataclass
class LoginThrottle:
    counter: Counter
    max_failures: int

    @property
    def ip_limit(self) -> int:
        return self.max_failures * 4

    def blocked(self, email: str, ip: str) -> bool:
        return (
            self.counter.count(_key("acct", email)) >= self.max_failures
            or self.counter.count(_key("ip", ip)) >= self.ip_limit
        )

    def failed(self, email: str, ip: str) -> None:
        self.counter.hit(_key("acct", email))
        self.counter.hit(_key("ip", ip))

    def succeeded(self, email: str) -> None:
        self.counter.clear(_key("acct", email))
