"""SQL statements one unit of work sends: the first event of a log, a later per-request
event (a known and a new customer), a batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bench.ledger.backends import Backend, ledger_db, new_keys
from bench.ledger.workload import Event, EventGen
from consent import ledger as L


def statements_per_unit(backend: Backend, master: bytes, batch: int) -> dict[str, Any]:
    """SQL statements one unit of work sends (counted with a cursor-execute listener)."""
    out: dict[str, Any] = {}
    with ledger_db(backend, "stmts") as (_, engine):
        keys = new_keys(master)
        factory = sessionmaker(engine, expire_on_commit=False)
        for label, chunk in units(batch):
            out[label] = count_statements(engine, factory, keys, chunk)
    return out


def units(batch: int) -> list[tuple[str, list[Event]]]:
    """The units counted, in the order they go into one log."""
    one = EventGen(30, 1, "stmts1").stream(3)  # one customer: first, known, then a new one
    new_customer = EventGen(31, 1, "stmts2").stream(1)
    events = EventGen(32, 5, "stmts").stream(batch)
    return [
        ("first_event", one[:1]),
        ("per_request", one[1:2]),
        ("per_request_new_customer", new_customer),
        (f"batch_of_{batch}", events),
    ]


def count_statements(
    engine: Engine, factory: sessionmaker[Session], keys: L.LedgerKeys, chunk: list[Event]
) -> dict[str, Any]:
    """Append ``chunk`` + checkpoint + commit; the statements sent, by their first 4 words."""
    counted: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        counted.append(" ".join(statement.split()[:4]))

    sa_event.listen(engine, "before_cursor_execute", listen)
    with factory() as session:
        for ev, det in chunk:
            L.append(session, keys, ev, det)
        L.checkpoint(session, keys)
        session.commit()
    sa_event.remove(engine, "before_cursor_execute", listen)
    return {
        "statements": len(counted) + 1,  # + the COMMIT
        "kinds": sorted({k: counted.count(k) for k in counted}.items(), key=lambda kv: -kv[1]),
    }
