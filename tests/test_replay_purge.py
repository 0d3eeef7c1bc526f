"""Each insertion into the database's replay cache deletes a batch of expired entries, and
never one still remembered (idp/replay.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from idp.db import utcnow
from idp.models import ReplayEntry
from idp.replay import PURGE_BATCH, DbReplayCache


def test_each_insertion_purges_a_batch_of_expired_entries_only(db):
    now = utcnow()
    expired = [{"key": f"old{i}", "expires_at": now - timedelta(seconds=i + 1)} for i in range(150)]
    live = [{"key": f"live{i}", "expires_at": now + timedelta(minutes=5)} for i in range(5)]
    db.execute(insert(ReplayEntry), expired + live)
    db.commit()
    cache = DbReplayCache(db)

    def left(prefix: str) -> int:
        where = ReplayEntry.key.startswith(prefix)
        return db.scalar(select(func.count()).select_from(ReplayEntry).where(where)) or 0

    assert cache.first_use("a", now + timedelta(minutes=5)) is True
    db.commit()
    assert (left("old"), left("live")) == (150 - PURGE_BATCH, 5)
    # the longest expired went first
    kept = set(db.scalars(select(ReplayEntry.key).where(ReplayEntry.key.startswith("old"))))
    assert kept == {f"old{i}" for i in range(150 - PURGE_BATCH)}
    assert cache.first_use("b", now + timedelta(minutes=5)) is True
    db.commit()
    assert (left("old"), left("live")) == (0, 5)
    assert cache.first_use("a", now + timedelta(minutes=5)) is False
