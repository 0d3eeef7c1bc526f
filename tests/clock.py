"""Let time pass for Avain without waiting: its clocks and the expiries Redis keeps."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import Any

import pytest
import redis

import idp.db


def advance(monkeypatch: pytest.MonkeyPatch, seconds: float, redis_url: str | None = None) -> None:
    """From now on ``time.time()`` and every ``utcnow`` of Avain's modules run ``seconds``
    further ahead (calls add up), and every key in Redis expires ``seconds`` sooner (gone
    if its time is up)."""
    real_time = time.time
    real_utcnow = idp.db.utcnow
    monkeypatch.setattr(time, "time", lambda: real_time() + seconds)

    def later() -> Any:
        return real_utcnow() + timedelta(seconds=seconds)

    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in {"idp", "consent"} and getattr(module, "utcnow", None) is (
            real_utcnow
        ):
            monkeypatch.setattr(module, "utcnow", later)
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter("avain:*"):
            left = client.pttl(key)
            if left > 0:
                if left <= seconds * 1000:
                    client.delete(key)
                else:
                    client.pexpire(key, int(left - seconds * 1000))
