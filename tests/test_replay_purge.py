"""The database's replay cache deletes expired entries in batches, on one insertion in
``PURGE_EVERY`` (idp/replay.py): never an entry still remembered, and never so seldom that
expired entries pile up."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from idp import replay
from idp.db import utcnow
from idp.models import ReplayEntry
from idp.replay import PURGE_BATCH, PURGE_EVERY, DbReplayCache


@pytest.fixture(autouse=True)
def first_insertion(monkeypatch):
    """This process's insertions counted from one, as in a worker just started."""
    monkeypatch.setattr(replay, "_insertions", itertools.count(1))


def _rows(db, prefix: str = "") -> int:
    where = ReplayEntry.key.startswith(prefix)
    return db.scalar(select(func.count()).select_from(ReplayEntry).where(where)) or 0


def test_one_insertion_in_purge_every_purges_a_batch_of_expired_entries_only(db):
    now = utcnow()
    expired = [{"key": f"old{i}", "expires_at": now - timedelta(seconds=i + 1)} for i in range(150)]
    live = [{"key": f"live{i}", "expires_at": now + timedelta(minutes=5)} for i in range(5)]
    db.execute(insert(ReplayEntry), expired + live)
    db.commit()
    cache = DbReplayCache(db)
    later = now + timedelta(minutes=5)

    for i in range(PURGE_EVERY - 1):
        assert cache.first_use(f"new{i}", later) is True
        db.commit()
    assert (_rows(db, "old"), _rows(db, "live")) == (150, 5)
    assert cache.first_use("a", later) is True  # the PURGE_EVERY-th
    db.commit()
    assert (_rows(db, "old"), _rows(db, "live")) == (150 - PURGE_BATCH, 5)
    # the longest expired went first
    kept = set(db.scalars(select(ReplayEntry.key).where(ReplayEntry.key.startswith("old"))))
    assert kept == {f"old{i}" for i in range(150 - PURGE_BATCH)}
    for i in range(PURGE_EVERY):
        assert cache.first_use(f"more{i}", later) is True
        db.commit()
    assert (_rows(db, "old"), _rows(db, "live")) == (0, 5)
    assert _rows(db) == 5 + 2 * PURGE_EVERY  # every entry still remembered stays
    assert cache.first_use("a", later) is False


def test_expired_entries_stay_fewer_than_purge_every_and_a_backlog_drains(db):
    now = utcnow()
    backlog = 1000
    db.execute(
        insert(ReplayEntry),
        [{"key": f"old{i}", "expires_at": now - timedelta(seconds=1)} for i in range(backlog)],
    )
    db.commit()
    cache = DbReplayCache(db)
    # each purge deletes PURGE_BATCH while PURGE_EVERY are inserted: the backlog shrinks
    rounds = -(-backlog // (PURGE_BATCH - PURGE_EVERY))
    for i in range(rounds * PURGE_EVERY):
        cache.first_use(f"used{i}", utcnow())  # expired at once
        db.commit()
    assert _rows(db, "old") == 0
    # from then on, entries that expire at once never number PURGE_EVERY
    most = 0
    for i in range(3 * PURGE_EVERY):
        cache.first_use(f"brief{i}", utcnow())
        db.commit()
        most = max(most, _rows(db))
    assert most == PURGE_EVERY - 1
    assert _rows(db) == 0
