"""The intake: events accepted without the log's lock, sequenced later, counted at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from consent import EventType, ledger as L
from consent.ledger import verification
from consent.store import CheckpointRow, CustomerKeyRow, EventRow, IntakeRow
from tests.consent.events import T0, ev

DETAILS = {"language": "sv", "offered": [["email", False]]}


def count(session, table):
    return session.scalar(select(func.count()).select_from(table))


def test_a_submitted_event_counts_at_once_and_enters_the_log_when_sequenced(ledger_session, keys):
    L.submit(ledger_session, keys, ev("c1"), DETAILS)
    assert ledger_session.info[L.QUEUED] is True
    ledger_session.commit()
    assert count(ledger_session, EventRow) == 0
    assert L.states(ledger_session, keys, "c1")[("garage", "garage_booking")].status == "active"
    assert L.queued(ledger_session, keys, "c1") == 1 and L.queued(ledger_session) == 1

    assert L.sequence(ledger_session, keys) == 1
    ledger_session.commit()
    assert count(ledger_session, IntakeRow) == 0
    (row,) = L.customer_rows(ledger_session, keys, "c1")
    assert row.seq == 1 and row.claims == ["email"]
    assert L.details(ledger_session, keys, "c1", row)["language"] == "sv"
    assert ledger_session.get(CheckpointRow, 1) is not None
    assert L.verify(ledger_session, keys.origin).ok
    assert L.states(ledger_session, keys, "c1")[("garage", "garage_booking")].status == "active"


def test_a_queued_withdrawal_overrides_the_logged_consent(ledger_session, keys):
    L.append(ledger_session, keys, ev("c1"), DETAILS)
    L.checkpoint(ledger_session, keys)
    L.submit(ledger_session, keys, ev("c1", EventType.WITHDRAWN, minutes=1), {})
    ledger_session.commit()
    assert L.states(ledger_session, keys, "c1")[("garage", "garage_booking")].status == "withdrawn"
    assert (
        L.states(ledger_session, keys, "c1", "garage")[("garage", "garage_booking")].status
        == "withdrawn"
    )
    assert L.states(ledger_session, keys, "c1", "tire-shop") == {}


def test_sequencing_keeps_each_customers_order_and_chain(ledger_session, keys):
    kinds = [EventType.GIVEN, EventType.WITHDRAWN, EventType.GIVEN, EventType.REFUSED]
    for i, kind in enumerate(kinds):
        L.submit(ledger_session, keys, ev("c1", kind, minutes=i), {"i": i})
        L.submit(ledger_session, keys, ev("c2", minutes=i), {"i": i})
        ledger_session.commit()
    before = L.states(ledger_session, keys, "c1")
    assert L.sequence(ledger_session, keys, limit=3) == 3  # in batches, oldest first
    ledger_session.commit()
    assert L.sequence(ledger_session, keys) == 5
    ledger_session.commit()
    assert L.sequence(ledger_session, keys) == 0
    rows = L.customer_rows(ledger_session, keys, "c1")
    assert [r.type for r in rows] == [str(k) for k in kinds]
    assert [L.details(ledger_session, keys, "c1", r)["i"] for r in rows] == [0, 1, 2, 3]
    assert L.states(ledger_session, keys, "c1") == before
    report = L.verify(ledger_session, keys.origin)
    assert report.ok and report.entries == 8 and report.queued == 0
    assert count(ledger_session, CheckpointRow) == 2  # one per sequencing transaction


def test_a_direct_append_comes_after_everything_queued(ledger_session, keys):
    L.submit(ledger_session, keys, ev("c1"), DETAILS)
    ledger_session.commit()
    L.append(ledger_session, keys, ev("c1", EventType.WITHDRAWN, minutes=1), {})
    L.checkpoint(ledger_session, keys)
    ledger_session.commit()
    assert [r.type for r in L.customer_rows(ledger_session, keys, "c1")] == [
        "given",
        "withdrawn",
    ]
    assert count(ledger_session, IntakeRow) == 0
    assert L.verify(ledger_session, keys.origin).ok


def test_erasure_takes_queued_events_with_it(ledger_session, keys):
    L.append(ledger_session, keys, ev("c1"), DETAILS)
    L.checkpoint(ledger_session, keys)
    L.submit(ledger_session, keys, ev("c1", EventType.WITHDRAWN, minutes=1), DETAILS)
    L.submit(ledger_session, keys, ev("c2"), DETAILS)
    ledger_session.commit()
    assert L.erase_customer(ledger_session, "c1")
    ledger_session.commit()
    assert not L.erase_customer(ledger_session, "c1")
    assert L.queued(ledger_session) == 1
    assert L.sequence(ledger_session, keys) == 1
    ledger_session.commit()
    assert count(ledger_session, EventRow) == 2  # c1's logged event and c2's
    assert L.verify(ledger_session, keys.origin).ok


def test_expiry_runs_after_what_is_queued(ledger_session, keys):
    given = ev("c1")
    from dataclasses import replace

    L.submit(ledger_session, keys, replace(given, expires_at=T0 + timedelta(days=1)), DETAILS)
    ledger_session.commit()
    assert L.expire_due(ledger_session, keys, T0 + timedelta(days=2)) == 1
    ledger_session.commit()
    assert [r.type for r in L.customer_rows(ledger_session, keys, "c1")] == ["given", "expired"]
    assert L.verify(ledger_session, keys.origin).ok


def test_verify_checks_up_to_its_start_while_the_sequencer_appends(
    ledger_session, ledger_engine, keys, monkeypatch
):
    for i in range(3):
        L.append(ledger_session, keys, ev("c1", minutes=i), DETAILS)
    L.checkpoint(ledger_session, keys)
    ledger_session.commit()
    real_rows = verification._rows

    def rows_while_appending(session, upto, batch=5000):
        other = sessionmaker(ledger_engine)()
        L.submit(other, keys, ev("c2"), DETAILS)
        other.commit()
        L.sequence(other, keys)
        other.commit()
        other.close()
        yield from real_rows(session, upto, batch)

    monkeypatch.setattr(verification, "_rows", rows_while_appending)
    report = L.verify(ledger_session, keys.origin)
    assert report.ok, report.problems
    assert report.entries == 3 and report.added_during == 1


def test_concurrent_requests_and_a_sequencer(ledger_engine, keys):
    """Requests for the same and different customers at once, with the sequencer running:
    no lost or duplicated event, each customer's events in the order they were accepted."""
    if ledger_engine.dialect.name == "sqlite":
        ledger_engine.dispose()
        from sqlalchemy import event

        @event.listens_for(ledger_engine, "connect")
        def _wait(conn, _record):
            conn.execute("PRAGMA busy_timeout=30000")

    factory = sessionmaker(ledger_engine, expire_on_commit=False)
    workers, per_worker = 4, 15
    errors: list[BaseException] = []
    done = threading.Event()

    def request_loop(w: int) -> None:
        try:
            for i in range(per_worker):
                with factory() as s:
                    L.submit(s, keys, ev(f"own-{w}", minutes=i), {"i": i})
                    L.submit(s, keys, ev("shared", minutes=i), {"w": w, "i": i})
                    s.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def sequencer_loop() -> None:
        try:
            while not done.is_set():
                with factory() as s:
                    L.sequence(s, keys, limit=7, wait=False)
                    s.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    seq_thread = threading.Thread(target=sequencer_loop)
    seq_thread.start()
    threads = [threading.Thread(target=request_loop, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    seq_thread.join()
    assert not errors, errors
    with factory() as s:
        while L.sequence(s, keys):
            s.commit()
        s.commit()
        assert count(s, EventRow) == 2 * workers * per_worker
        assert count(s, CustomerKeyRow) == workers + 1
        for w in range(workers):
            rows = L.customer_rows(s, keys, f"own-{w}")
            assert [L.details(s, keys, f"own-{w}", r)["i"] for r in rows] == list(range(per_worker))
        shared = [L.details(s, keys, "shared", r) for r in L.customer_rows(s, keys, "shared")]
        for w in range(workers):
            assert [d["i"] for d in shared if d["w"] == w] == list(range(per_worker))
        report = L.verify(s, keys.origin)
        assert report.ok, report.problems


@pytest.mark.parametrize("ledger_engine", ["postgresql"], indirect=True)
def test_a_busy_log_is_skipped_not_waited_for(ledger_engine, keys):
    """PostgreSQL: a second sequencer passes when another holds the log (SQLite has one
    writer at a time, so there is no lock to pass)."""
    factory = sessionmaker(ledger_engine, expire_on_commit=False)
    with factory() as s:
        L.append(s, keys, ev("c1"), DETAILS)
        L.checkpoint(s, keys)
        L.submit(s, keys, ev("c1", minutes=1), DETAILS)
        s.commit()
    holder = factory()
    L.sequence(holder, keys, limit=0)  # holds the log head until it commits
    with factory() as s:
        assert L.sequence(s, keys, wait=False) == 0
        s.rollback()
    holder.commit()
    holder.close()
    with factory() as s:
        assert L.sequence(s, keys, wait=False) == 1
        s.commit()
