"""The append-only ledger: chains, database-enforced immutability, verification, erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import make_transient

from consent import ConsentEvent, EventType, ledger as L, merkle
from consent.sealing import SealError
from consent.store import CheckpointRow, EventRow, drop_append_only_ddl
from tests.consent.events import T0, ev


def fill(session, keys, n=6):
    for i in range(n):
        customer = "customer-1" if i % 2 == 0 else "customer-2"
        kind = EventType.WITHDRAWN if i == 4 else EventType.GIVEN
        L.append(
            session,
            keys,
            ev(customer, kind, minutes=i),
            {"language": "fi", "notice": "2026-11", "offered": [["email", False]]},
        )
        L.checkpoint(session, keys)
    session.commit()


def test_states_are_the_projection_of_the_customers_events(ledger_session, keys):
    fill(ledger_session, keys)
    c1 = L.states(ledger_session, keys, "customer-1")
    assert c1[("garage", "garage_booking")].status == "withdrawn"
    c2 = L.states(ledger_session, keys, "customer-2")
    assert c2[("garage", "garage_booking")].status == "active"
    assert c2[("garage", "garage_booking")].claims == {"email"}
    assert L.states(ledger_session, keys, "nobody") == {}


def test_rows_hold_no_personal_data_in_the_clear(ledger_session, keys):
    fill(ledger_session, keys)
    row = ledger_session.scalars(select(EventRow)).first()
    assert "customer-1" not in row.subject and b"fi" not in row.details
    assert L.details(ledger_session, keys, "customer-1", row)["language"] == "fi"
    with pytest.raises(LookupError):
        L.details(ledger_session, keys, "customer-2", row)


def test_each_event_links_to_the_customers_previous_one(ledger_session, keys):
    fill(ledger_session, keys)
    rows = L.customer_rows(ledger_session, keys, "customer-1")
    assert rows[0].prev_leaf_hash is None
    assert [r.prev_leaf_hash for r in rows[1:]] == [r.leaf_hash for r in rows[:-1]]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_events SET claims = '[]' WHERE seq = 1",
        "DELETE FROM consent_events WHERE seq = 2",
        "UPDATE consent_checkpoints SET root = 'x'",
        "DELETE FROM consent_checkpoints",
    ],
)
def test_the_database_refuses_updates_and_deletes(ledger_session, keys, statement):
    fill(ledger_session, keys)
    with pytest.raises(DatabaseError, match="append-only"):
        ledger_session.execute(text(statement))
        ledger_session.commit()
    ledger_session.rollback()


def test_verify_accepts_an_intact_log(ledger_session, keys):
    fill(ledger_session, keys)
    report = L.verify(ledger_session, keys.origin)
    assert report.ok, report.problems
    assert report.entries == 6 and report.checkpoints == 6


def _tamper(session, *statements):
    dialect = session.get_bind().dialect.name
    for stmt in drop_append_only_ddl(dialect):
        session.execute(text(stmt))
    for stmt in statements:
        session.execute(text(stmt))
    session.commit()


def test_verify_names_an_edited_entry(ledger_session, keys):
    fill(ledger_session, keys)
    _tamper(
        ledger_session, "UPDATE consent_events SET claims = '[\"tire_purchase\"]' WHERE seq = 3"
    )
    report = L.verify(ledger_session, keys.origin)
    assert report.problems[0].seq == 3 and "altered" in report.problems[0].what


def test_verify_names_a_deleted_entry(ledger_session, keys):
    fill(ledger_session, keys)
    _tamper(ledger_session, "DELETE FROM consent_events WHERE seq = 4")
    report = L.verify(ledger_session, keys.origin)
    assert report.problems[0].seq == 4 and "missing" in report.problems[0].what


def test_verify_names_reordered_entries(ledger_session, keys):
    fill(ledger_session, keys)
    _tamper(
        ledger_session,
        "UPDATE consent_events SET seq = 100 WHERE seq = 3",
        "UPDATE consent_events SET seq = 3 WHERE seq = 5",
        "UPDATE consent_events SET seq = 5 WHERE seq = 100",
    )
    report = L.verify(ledger_session, keys.origin)
    assert report.problems[0].seq == 3


def test_verify_catches_an_inserted_entry(ledger_session, keys):
    fill(ledger_session, keys)
    forged = ledger_session.get(EventRow, 6)
    ledger_session.expunge(forged)
    make_transient(forged)
    # a forger who can write rows and compute hashes, but has no signing key
    from consent.store import LogHead

    head = ledger_session.get(LogHead, 1)
    _tamper(ledger_session)
    forged.seq = 7
    forged.prev_leaf_hash = forged.leaf_hash
    forged.leaf_hash = merkle.leaf_hash(L.leaf_data(forged)).hex()
    ledger_session.add(forged)
    head.size = 7
    ledger_session.commit()
    report = L.verify(ledger_session, keys.origin)
    assert report.problems[0].seq == 7 and "not covered" in report.problems[0].what


def test_verify_catches_a_forged_checkpoint(ledger_session, keys):
    fill(ledger_session, keys)
    _tamper(
        ledger_session,
        "UPDATE consent_checkpoints SET note = replace(note, '6', '7') WHERE size = 6",
    )
    assert not L.verify(ledger_session, keys.origin).ok


def test_proofs_verify_against_the_signed_checkpoint(ledger_session, keys):
    fill(ledger_session, keys)
    cp = ledger_session.scalar(select(CheckpointRow).where(CheckpointRow.size == 6))
    root = bytes.fromhex(cp.root)
    for seq in range(1, 7):
        leaf = bytes.fromhex(ledger_session.get(EventRow, seq).leaf_hash)
        proof = L.inclusion(ledger_session, seq, 6)
        assert merkle.verify_inclusion(leaf, seq - 1, 6, proof, root)
    old = bytes.fromhex(ledger_session.get(CheckpointRow, 3).root)
    assert merkle.verify_consistency(3, 6, old, root, L.consistency(ledger_session, 3, 6))


def test_erasure_destroys_the_details_but_every_proof_still_verifies(ledger_session, keys):
    fill(ledger_session, keys)
    row = L.customer_rows(ledger_session, keys, "customer-1")[0]
    assert L.erase_customer(ledger_session, "customer-1")
    ledger_session.commit()
    assert L.states(ledger_session, keys, "customer-1") == {}
    with pytest.raises(LookupError):
        L.details(ledger_session, keys, "customer-1", row)
    assert L.verify(ledger_session, keys.origin).ok
    assert (
        L.states(ledger_session, keys, "customer-2")[("garage", "garage_booking")].status
        == "active"
    )


def test_a_wrong_master_key_cannot_open_details(ledger_session, keys):
    fill(ledger_session, keys)
    other = L.LedgerKeys(master=L.random_master(), origin=keys.origin)
    with pytest.raises(SealError):
        L.customer_key(ledger_session, other, "customer-1")


def test_append_many_equals_one_by_one(ledger_session, keys):
    events = [(ev("customer-1", minutes=i), {"n": i}) for i in range(3)]
    events += [(ev("customer-2", minutes=9), {"n": 9})]
    rows = L.append_many(ledger_session, keys, events)
    L.checkpoint(ledger_session, keys)
    ledger_session.commit()
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    assert rows[1].prev_leaf_hash == rows[0].leaf_hash and rows[3].prev_leaf_hash is None
    assert L.verify(ledger_session, keys.origin).ok
    assert L.append_many(ledger_session, keys, []) == []


def test_times_with_other_offsets_are_stored_as_utc(ledger_session, keys):
    helsinki = timezone(timedelta(hours=2))
    event = ev()
    local = ConsentEvent(
        **{
            **event.__dict__,
            "at": datetime(2026, 11, 20, 14, tzinfo=helsinki),
            "expires_at": datetime(2027, 2, 18, 14, tzinfo=helsinki),
        }
    )
    L.append(ledger_session, keys, local, {})
    L.checkpoint(ledger_session, keys)
    ledger_session.commit()
    ledger_session.expire_all()
    assert L.verify(ledger_session, keys.origin).ok
    state = L.states(ledger_session, keys, "customer-1")[("garage", "garage_booking")]
    assert state.since == datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_concurrent_first_appends_all_succeed(ledger_engine, keys):
    import threading

    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(ledger_engine)
    errors = []

    def one(i):
        try:
            with factory() as s:
                L.append(s, keys, ev(f"customer-{i}", minutes=i), {})
                L.checkpoint(s, keys)
                s.commit()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if ledger_engine.dialect.name == "sqlite":
        # SQLite serialises writers; a busy snapshot may refuse, never corrupt
        errors = [e for e in errors if "locked" not in str(e) and "busy" not in str(e)]
    assert errors == []
    with factory() as s:
        assert L.verify(s, keys.origin).ok


def test_expiry_becomes_a_system_event(ledger_session, keys):
    expiring = ConsentEvent(**{**ev().__dict__, "expires_at": T0 + timedelta(days=90)})
    L.append(ledger_session, keys, expiring, {})
    L.append(ledger_session, keys, ev("customer-2"), {})
    L.checkpoint(ledger_session, keys)
    assert L.expire_due(ledger_session, keys, T0 + timedelta(days=10)) == 0
    assert L.expire_due(ledger_session, keys, T0 + timedelta(days=91)) == 1
    assert L.expire_due(ledger_session, keys, T0 + timedelta(days=92)) == 0
    ledger_session.commit()
    rows = L.customer_rows(ledger_session, keys, "customer-1")
    assert [(r.type, r.actor) for r in rows] == [("given", "customer"), ("expired", "system")]
    assert L.verify(ledger_session, keys.origin).ok
