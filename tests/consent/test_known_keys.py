"""Known customer keys: a request queues its events in one statement, never under a stale key."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text

from consent import EventType, ledger as L
from consent.keys import known
from consent.store import CustomerKeyRow, IntakeRow
from tests.consent.events import ev

DETAILS = {"language": "fi", "offered": [["email", False]]}


@pytest.fixture
def statements(ledger_engine):
    sent: list[str] = []

    def listen(conn, cursor, statement, *rest):
        sent.append(" ".join(statement.split()))

    event.listen(ledger_engine, "before_cursor_execute", listen)
    yield sent
    event.remove(ledger_engine, "before_cursor_execute", listen)


# the one-statement path is PostgreSQL's (SQLite has a single writer and reads the key)
postgresql_only = pytest.mark.parametrize("ledger_engine", ["postgresql"], indirect=True)


def queued_subjects(session):
    return list(session.scalars(select(IntakeRow.subject).order_by(IntakeRow.id)))


@postgresql_only
def test_a_known_customer_queues_in_one_statement(ledger_session, keys, statements):
    L.submit(ledger_session, keys, ev("c1"), DETAILS)
    ledger_session.commit()
    statements.clear()
    items = [(ev("c1", kind, minutes=i), {"i": i}) for i, kind in enumerate(EventType)]
    tokens = L.submit_many(ledger_session, keys, items)
    ledger_session.commit()

    sent = [s for s in statements if not s.startswith(("BEGIN", "COMMIT"))]
    assert len(sent) == 1 and "pg_advisory_xact_lock" in sent[0], sent
    rows = list(ledger_session.scalars(select(IntakeRow).order_by(IntakeRow.id)))
    assert [r.token for r in rows[1:]] == tokens  # in the order given
    assert [r.type for r in rows[1:]] == [str(kind) for kind in EventType]
    # and they enter the log in that order, their details sealed under the customer's key
    assert L.sequence(ledger_session, keys) == len(items) + 1
    ledger_session.commit()
    logged = L.customer_rows(ledger_session, keys, "c1")
    assert [L.details(ledger_session, keys, "c1", r).get("i") for r in logged] == [
        None,
        *range(len(items)),
    ]
    assert L.verify(ledger_session, keys.origin).ok


def test_a_key_erased_by_another_process_is_not_used(ledger_session, keys):
    L.submit(ledger_session, keys, ev("c1"), DETAILS)
    ledger_session.commit()
    old = ledger_session.get(CustomerKeyRow, "c1").subject
    assert known.get(keys.master, "c1") is not None
    # another process erases the customer: this process's memory does not hear of it
    ledger_session.execute(text("DELETE FROM consent_intake"))
    ledger_session.execute(text("DELETE FROM consent_customer_keys WHERE customer_id = 'c1'"))
    ledger_session.commit()

    L.submit(ledger_session, keys, ev("c1", EventType.WITHDRAWN, minutes=1), DETAILS)
    ledger_session.commit()
    new = ledger_session.get(CustomerKeyRow, "c1").subject
    assert new != old
    assert queued_subjects(ledger_session) == [new]  # nothing under the destroyed key
    assert L.sequence(ledger_session, keys) == 1
    ledger_session.commit()
    (row,) = L.customer_rows(ledger_session, keys, "c1")
    assert L.details(ledger_session, keys, "c1", row)["language"] == "fi"


def test_erasure_in_this_process_forgets_the_key(ledger_session, keys):
    L.submit(ledger_session, keys, ev("c1"), DETAILS)
    ledger_session.commit()
    assert L.erase_customer(ledger_session, "c1")
    ledger_session.commit()
    assert known.get(keys.master, "c1") is None
    assert ledger_session.scalar(select(func.count()).select_from(IntakeRow)) == 0


def test_a_key_made_in_a_rolled_back_transaction_is_not_trusted(ledger_session, keys):
    L.submit(ledger_session, keys, ev("c1"), DETAILS)
    ledger_session.rollback()  # the request failed: neither key nor event exists
    assert ledger_session.get(CustomerKeyRow, "c1") is None
    L.submit(ledger_session, keys, ev("c1"), DETAILS)
    ledger_session.commit()
    subject = ledger_session.get(CustomerKeyRow, "c1").subject
    assert queued_subjects(ledger_session) == [subject]
    assert L.states(ledger_session, keys, "c1")[("garage", "garage_booking")].status == "active"


def test_several_customers_in_one_call_each_get_their_own_key(ledger_session, keys, statements):
    L.submit_many(ledger_session, keys, [(ev("c2"), DETAILS), (ev("c1"), DETAILS)])
    ledger_session.commit()
    tokens = L.submit_many(
        ledger_session,
        keys,
        [(ev("c2", minutes=1), DETAILS), (ev("c3"), DETAILS), (ev("c1", minutes=1), DETAILS)],
    )
    ledger_session.commit()
    owner = {
        r.token: r.subject for r in ledger_session.scalars(select(IntakeRow).order_by(IntakeRow.id))
    }
    subjects = {c: ledger_session.get(CustomerKeyRow, c).subject for c in ("c1", "c2", "c3")}
    assert [owner[t] for t in tokens] == [subjects["c2"], subjects["c3"], subjects["c1"]]
    assert L.sequence(ledger_session, keys) == 5
    ledger_session.commit()
    assert L.verify(ledger_session, keys.origin).ok
