"""The log stores the hashes of its complete subtrees as it grows; proofs are made from them."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DatabaseError

from consent import ledger as L, merkle, tiles
from consent.store import EventRow, SubtreeRow, drop_append_only_ddl
from tests.consent.events import ev


class Reads:
    """SQL statements sent, and the rows the SELECTs among them return (a second query,
    ``SELECT count(*)`` of the same statement on the same connection, counts them)."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []
        self.rows = 0
        event.listen(engine, "after_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)
        if statement.lstrip().upper().startswith("SELECT"):
            raw = conn.connection.dbapi_connection.cursor()
            raw.execute(f"SELECT count(*) FROM ({statement}) AS counted", parameters)  # noqa: S608
            self.rows += raw.fetchone()[0]
            raw.close()

    def reset(self):
        self.statements.clear()
        self.rows = 0

    def close(self):
        event.remove(self.engine, "after_cursor_execute", self._seen)


@pytest.fixture
def reads(ledger_engine):
    r = Reads(ledger_engine)
    yield r
    r.close()


def build(session, keys, n, batch=1000):
    """A log of ``n`` events of 20 customers, appended ``batch`` at a time; its leaf hashes."""
    for start in range(0, n, batch):
        items = [(ev(f"c{i % 20}", minutes=i), {}) for i in range(start, min(n, start + batch))]
        L.append_many(session, keys, items)
        L.checkpoint(session, keys)
        session.commit()
    return [
        bytes.fromhex(h) for h in session.scalars(select(EventRow.leaf_hash).order_by(EventRow.seq))
    ]


def stored(session):
    return {(r.height, r.idx): r.hash for r in session.scalars(select(SubtreeRow))}


def expected(leaves):
    return {(t.height, t.index): h.hex() for t, h in tiles.subtrees(leaves)}


def _tamper(session, *statements):
    dialect = session.get_bind().dialect.name
    for stmt in drop_append_only_ddl(dialect):
        session.execute(text(stmt))
    for stmt in statements:
        session.execute(text(stmt))
    session.commit()


def test_the_sequencer_stores_every_complete_subtree_with_its_leaves(ledger_session, keys):
    for i in range(700):
        L.submit(ledger_session, keys, ev(f"c{i % 7}", minutes=i), {})
        if i % 50 == 49:
            ledger_session.commit()
    ledger_session.commit()
    assert L.sequence(ledger_session, keys, limit=300) == 300  # subtree 1..256 done
    ledger_session.rollback()  # ... and undone: nothing of it stays
    assert stored(ledger_session) == {}
    while L.sequence(ledger_session, keys, limit=300):  # batches across 256 and 512
        ledger_session.commit()
    leaves = [
        bytes.fromhex(h)
        for h in ledger_session.scalars(select(EventRow.leaf_hash).order_by(EventRow.seq))
    ]
    assert len(leaves) == 700
    assert stored(ledger_session) == expected(leaves) and len(expected(leaves)) == 2
    report = L.verify(ledger_session, keys.origin)
    assert report.ok and report.subtrees == 2


@pytest.mark.parametrize("height", [8, 2])
def test_proofs_from_stored_hashes_equal_proofs_from_leaves(
    ledger_session, keys, monkeypatch, height
):
    monkeypatch.setattr(tiles, "TILE_HEIGHT", height)  # 2: stored at 2, 4, 6 and 8 levels
    leaves = build(ledger_session, keys, 700, batch=333)
    assert stored(ledger_session) == expected(leaves)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def check(data):
        size = data.draw(st.integers(1, 700) | st.sampled_from([256, 257, 511, 512, 513, 700]))
        seq = data.draw(st.integers(1, size))
        old = data.draw(st.integers(1, size))
        assert L.inclusion(ledger_session, seq, size) == merkle.inclusion_proof(
            leaves, seq - 1, size
        )
        assert L.consistency(ledger_session, old, size) == merkle.consistency_proof(
            leaves, old, size
        )

    check()


def test_proofs_read_a_bounded_number_of_rows_however_long_the_log(ledger_session, keys, reads):
    leaves = build(ledger_session, keys, 3000)
    bound = tiles.max_reads(600)  # what a proof in a log of 600 may read (at most 1530 rows)
    assert bound == tiles.max_reads(3000) < 3000
    for size in (600, 3000):
        for seq, old in ((1, 1), (size // 2, size // 3), (size, size - 1), (size - 300, 255)):
            reads.reset()
            assert L.inclusion(ledger_session, seq, size) == merkle.inclusion_proof(
                leaves, seq - 1, size
            )
            assert len(reads.statements) <= 2 and reads.rows <= bound
            reads.reset()
            assert L.consistency(ledger_session, old, size) == merkle.consistency_proof(
                leaves, old, size
            )
            assert len(reads.statements) <= 2 and reads.rows <= bound


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            "UPDATE consent_log_subtrees SET hash = '{zero}' WHERE height = 8 AND idx = 1",
            "the stored hash of entries 257..512 was altered",
        ),
        (
            "DELETE FROM consent_log_subtrees WHERE height = 8 AND idx = 0",
            "the stored hash of entries 1..256 is missing",
        ),
        (
            "INSERT INTO consent_log_subtrees (height, idx, hash) VALUES (8, 3, '{zero}')",
            "covers entries 769..1024, past the log's last entry 600",
        ),
        (
            "INSERT INTO consent_log_subtrees (height, idx, hash) VALUES (5, 0, '{zero}')",
            "a stored subtree hash of height 5 is foreign",
        ),
    ],
)
def test_verify_checks_the_stored_hashes(ledger_session, keys, statement, problem):
    build(ledger_session, keys, 600)
    report = L.verify(ledger_session, keys.origin)
    assert report.ok and report.subtrees == 2
    _tamper(ledger_session, statement.format(zero="0" * 64))
    report = L.verify(ledger_session, keys.origin)
    assert not report.ok
    assert any(problem in p.what for p in report.problems), report.problems


def test_a_proof_needs_its_stored_hashes(ledger_session, keys):
    build(ledger_session, keys, 300)
    with pytest.raises(ValueError, match="no entry 301"):
        L.inclusion(ledger_session, 1, 301)
    _tamper(ledger_session, "DELETE FROM consent_log_subtrees")
    with pytest.raises(ValueError, match="stored hash of entries 1..256 is missing"):
        L.inclusion(ledger_session, 300, 300)
    assert L.inclusion(ledger_session, 1, 200)  # a tree of 200 needs none


@pytest.mark.parametrize(
    "statement",
    ["UPDATE consent_log_subtrees SET hash = hash", "DELETE FROM consent_log_subtrees"],
)
def test_the_database_refuses_to_change_stored_hashes(ledger_session, keys, statement):
    build(ledger_session, keys, 300)
    with pytest.raises(DatabaseError, match="append-only"):
        ledger_session.execute(text(statement))
    ledger_session.rollback()


def test_erasure_leaves_the_stored_hashes_and_every_proof(ledger_session, keys):
    leaves = build(ledger_session, keys, 600)
    before = stored(ledger_session)
    proofs = [L.inclusion(ledger_session, seq, 600) for seq in (1, 4, 300, 600)]
    assert L.erase_customer(ledger_session, "c3")
    ledger_session.commit()
    assert stored(ledger_session) == before == expected(leaves)
    assert [L.inclusion(ledger_session, seq, 600) for seq in (1, 4, 300, 600)] == proofs
    assert L.verify(ledger_session, keys.origin).ok
    count = ledger_session.scalar(select(func.count()).select_from(EventRow))
    assert count == 600 and L.states(ledger_session, keys, "c3") == {}  # only the key went
