"""Redis, when configured: the store of counters and one-time values that instances share.

When Redis cannot be reached, what needs it is refused with 503 and ``Retry-After``
(:class:`idp.errors.Unavailable`), deliberately without falling back to counters in each
process or in the database: a fallback would hand anyone who can take Redis down a fresh,
per-instance throttle and an empty replay cache. Readiness (``/health/ready``) reports it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from idp.errors import Unavailable

log = logging.getLogger(__name__)

# A Redis that hangs must not hold a request for long: 503 after this many seconds.
CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 2.0


def connect(url: str) -> Any:
    """A client for ``url``; it connects on first use, so start-up does not need Redis."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=COMMAND_TIMEOUT
    )


@contextmanager
def reachable() -> Iterator[None]:
    """Turn any failure of Redis into :class:`Unavailable` (503, never a guess)."""
    try:
        yield
    except redis.RedisError as exc:
        raise Unavailable(f"redis ({type(exc).__name__})") from exc


def problem(client: Any) -> str | None:
    """Why Redis does not answer a PING (the exception's class name), or None when it does."""
    try:
        client.ping()
    except redis.RedisError as exc:
        return type(exc).__name__
    return None
