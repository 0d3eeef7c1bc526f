"""Migration 0007 computes the stored subtree hashes of a log that existed before it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from consent import ledger as L, tiles
from consent.store import EventRow, SubtreeRow
from idp.migrate import downgrade, upgrade
from tests.conftest import PG_URL, _drop_pg_database, _fresh_pg_database
from tests.consent.events import ev


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    if not PG_URL:
        pytest.skip("IDP_TEST_DATABASE_URL not set")
    url = _fresh_pg_database(PG_URL)
    yield url
    _drop_pg_database(PG_URL, url)


def test_the_backfill_stores_what_the_sequencer_would_have(fresh_url):
    upgrade(fresh_url)
    engine = create_engine(fresh_url)
    keys = L.LedgerKeys(master=L.random_master(), origin="localhost/consent-log")
    with Session(engine) as s:
        for start in (0, 400):
            L.append_many(
                s, keys, [(ev(f"c{i % 9}", minutes=i), {}) for i in range(start, start + 400)]
            )
            L.checkpoint(s, keys)
            s.commit()
        written = {(r.height, r.idx): r.hash for r in s.scalars(select(SubtreeRow))}
        leaves = [
            bytes.fromhex(h) for h in s.scalars(select(EventRow.leaf_hash).order_by(EventRow.seq))
        ]
    assert written == {(t.height, t.index): h.hex() for t, h in tiles.subtrees(leaves)}
    assert len(written) == 3
    engine.dispose()

    downgrade(fresh_url, "0006")  # a log as it was before 0007
    engine = create_engine(fresh_url)
    assert "consent_log_subtrees" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(fresh_url)

    engine = create_engine(fresh_url)
    with Session(engine) as s:
        assert {(r.height, r.idx): r.hash for r in s.scalars(select(SubtreeRow))} == written
        report = L.verify(s, keys.origin)
        assert report.ok and report.subtrees == 3
        assert L.inclusion(s, 5, 800)  # from the backfilled hashes
    engine.dispose()
