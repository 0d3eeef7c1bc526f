"""The intake records only changes, judged under the customer's lock, at a limited rate."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from consent import EventType, changes, ledger as L
from consent.model import Actor, ConsentState
from consent.store import EventRow, IntakeRow
from tests.consent.events import T0, ev

G, W, R = EventType.GIVEN, EventType.WITHDRAWN, EventType.REFUSED


def state(status="active", claims=("email",), version=1, expires_at=None, **kw):
    return ConsentState(
        customer_id="c1",
        recipient_id="garage",
        purpose_id="garage_booking",
        purpose_version=version,
        status=status,
        claims=frozenset(claims),
        since=T0,
        expires_at=expires_at,
        **kw,
    )


@pytest.mark.parametrize(
    ("before", "event", "recorded"),
    [
        (None, ev(kind=W), False),  # withdrawing what was never given
        (state("refused", ()), ev(kind=W), False),
        (state("withdrawn", ()), ev(kind=W), False),
        (state("expired", ()), ev(kind=W), False),
        (state(), ev(kind=W), True),
        (state(), ev(kind=EventType.EXPIRED), True),
        (state("withdrawn", ()), ev(kind=EventType.EXPIRED), False),
        (None, ev(), True),
        (state(), ev(), False),  # the same choice again
        (state(), ev(kind=EventType.RENEWED), False),
        (state(), ev(claims=("email", "phone_number")), True),  # other claims
        (state(version=2), ev(), True),  # another version of the purpose
        (state(expires_at=T0), replace(ev(), expires_at=T0 + timedelta(days=365)), True),
        (state("withdrawn", ()), ev(), True),
        (None, ev(kind=R, claims=()), True),
        (state("refused", ()), ev(kind=R, claims=()), False),
        (state("refused", (), version=0), ev(kind=R, claims=()), True),
        (state(), ev(kind=R, claims=()), True),
        (None, ev(kind=EventType.OBJECTION), True),
        (state(objected=True), ev(kind=EventType.OBJECTION), False),
        (state(restricted=True), ev(kind=EventType.RESTRICTION), False),
        (state(), ev(kind=EventType.RESTRICTION), True),
        (None, ev(kind=EventType.RESTRICTION_LIFTED), False),
        (state(restricted=True), ev(kind=EventType.RESTRICTION_LIFTED), True),
    ],
)
def test_what_changes_the_state(before, event, recorded):
    assert changes(before, event) is recorded


def _count(session):
    return sum(
        session.scalar(select(func.count()).select_from(table)) for table in (EventRow, IntakeRow)
    )


def test_only_changes_are_recorded(ledger_session, keys):
    submit = L.submit_changes
    assert submit(ledger_session, keys, [(ev(kind=W), {})]) == [None]  # never given
    assert _count(ledger_session) == 0
    first, again = submit(ledger_session, keys, [(ev(), {}), (ev(minutes=1), {})])
    assert first is not None and again is None  # within one call too
    ledger_session.commit()
    L.sequence(ledger_session, keys)
    ledger_session.commit()
    # judged against the log and the intake alike
    assert submit(ledger_session, keys, [(ev(minutes=2), {})]) == [None]
    assert submit(ledger_session, keys, [(ev(kind=W, minutes=3), {})])[0] is not None
    assert submit(ledger_session, keys, [(ev(kind=W, minutes=4), {})]) == [None]
    ledger_session.commit()
    assert [r.type for r in L.customer_rows(ledger_session, keys, "customer-1")] == ["given"]
    assert L.queued(ledger_session, keys, "customer-1") == 1
    assert _count(ledger_session) == 2


def _race(n, work):
    """Run ``work(i)`` in ``n`` threads that start together; the errors they raised."""
    start = threading.Barrier(n)
    errors = []

    def run(i):
        try:
            start.wait()
            work(i)
        except Exception as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _withdraw(make, keys, i, minutes):
    with make() as s:  # each thread its own session and connection
        L.submit_changes(s, keys, [(ev(kind=W, minutes=minutes), {"i": i})])
        s.commit()


def test_concurrent_identical_withdrawals_record_one(ledger_engine, keys):
    make = sessionmaker(ledger_engine, expire_on_commit=False)
    with make() as s:
        L.append(s, keys, ev(), {})
        L.checkpoint(s, keys)
        s.commit()
    for round_ in range(5):
        at = round_ * 10 + 1
        assert _race(8, lambda i, at=at: _withdraw(make, keys, i, at)) == []
        with make() as s:
            assert (
                L.states(s, keys, "customer-1")[("garage", "garage_booking")].status == "withdrawn"
            )
            rows = s.scalars(select(IntakeRow.type)).all()
            assert rows == ["withdrawn"], f"round {round_}: {rows}"
            L.sequence(s, keys)
            L.submit_changes(s, keys, [(ev(minutes=round_ * 10 + 5), {})])  # given again
            L.sequence(s, keys)
            s.commit()
    with make() as s:
        types = [r.type for r in L.customer_rows(s, keys, "customer-1")]
        assert types == ["given"] + ["withdrawn", "given"] * 5
        assert L.verify(s, keys.origin).ok


def test_the_rate_limit_refuses_what_would_exceed_it_and_records_nothing(ledger_session, keys):
    limit = L.RateLimit(events=3, window=timedelta(minutes=1))
    now = T0 + timedelta(seconds=30)

    def give(purpose, at, claims=("email",)):
        return (replace(ev(purpose=purpose, claims=claims), at=at), {})

    L.submit_changes(
        ledger_session,
        keys,
        [give("p0", T0), give("p1", T0 + timedelta(seconds=10))],
        limit=limit,
        now=now,
    )
    ledger_session.commit()
    with pytest.raises(L.TooFast) as caught:  # two plus two is more than three
        L.submit_changes(
            ledger_session, keys, [give("p2", now), give("p3", now)], limit=limit, now=now
        )
    assert caught.value.retry_after == 30  # when the first of them leaves the window
    ledger_session.rollback()
    assert _count(ledger_session) == 2
    # what changes nothing does not count; one more fits
    L.submit_changes(ledger_session, keys, [give("p0", now), give("p4", now)], limit=limit, now=now)
    ledger_session.commit()
    assert _count(ledger_session) == 3
    with pytest.raises(L.TooFast):
        L.submit_changes(ledger_session, keys, [give("p2", now)], limit=limit, now=now)
    ledger_session.rollback()
    # a withdrawal is never refused (GDPR Art. 7(3)), nor is an admin's event limited
    withdraw = (replace(ev(kind=W, purpose="p0"), at=now), {})
    assert L.submit_changes(ledger_session, keys, [withdraw], limit=limit, now=now)[0]
    admin = (replace(ev(purpose="p2"), at=now, actor=Actor.ADMIN), {})
    assert L.submit_changes(ledger_session, keys, [admin], now=now)[0]
    # a minute on, the window is free again
    later = now + timedelta(minutes=1)
    assert L.submit_changes(ledger_session, keys, [give("p3", later)], limit=limit, now=later)[0]
    ledger_session.commit()
    assert _count(ledger_session) == 6
