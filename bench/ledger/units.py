"""Units of work through ``ledger.append``: (a) one event a transaction, as a request
records it, and (b) a batch of events a transaction."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bench.ledger.backends import sessions
from bench.ledger.processes import crash_report
from bench.ledger.runs import Run
from bench.ledger.workload import Event
from consent import ConsentEvent, ledger as L

PHASES = ("append", "checkpoint", "commit")


def one_request(
    factory: sessionmaker[Session],
    keys: L.LedgerKeys,
    event: ConsentEvent,
    details: dict[str, Any],
) -> tuple[int, list[float]]:
    """(a)'s unit: append + checkpoint + commit on a new session. Returns the entry's
    sequence number and the seconds spent in each of ``PHASES``."""
    t = time.monotonic()
    with factory() as session:
        row = L.append(session, keys, event, details)
        t1 = time.monotonic()
        L.checkpoint(session, keys)
        t2 = time.monotonic()
        session.commit()
        t3 = time.monotonic()
    return row.seq, [t1 - t, t2 - t1, t3 - t2]


def per_request_appends(
    url: str,
    master: bytes,
    events: list[Event],
    budget: float,
    barrier: Any = None,
    window: int = 1000,
) -> dict[str, Any]:
    """(a): each event is its own unit of work: append + checkpoint + commit (a request).

    Also records the time in each phase and the rate per ``window`` events as the log
    grows (flat if checkpointing is O(log n)).
    """
    with sessions(url, master) as (_, keys, factory):
        if barrier is not None:
            barrier.wait()
        run = Run(budget)
        phases: dict[str, list[float]] = {p: [] for p in PHASES}
        windows: list[tuple[int, float]] = []
        mark, last_size = run.start, 0
        for event, details in events:
            t = time.monotonic()
            try:
                last_size, took = one_request(factory, keys, event, details)
            except Exception as exc:  # noqa: BLE001 - count and go on, like a request would
                run.error(exc)
            else:
                run.done += 1
                for phase, seconds in zip(PHASES, took, strict=True):
                    phases[phase].append(seconds)
            now = run.lap(t)
            if run.done and run.done % window == 0:
                windows.append((last_size, window / (now - mark)))
                mark = now
            if run.spent(now):
                break
        return run.result(attempted=len(run.latencies), windows=windows, phases=phases)


def per_request_worker(args: tuple[Any, ...]) -> dict[str, Any]:
    """(a) in a worker process: ``(url, master, events, budget, barrier)``."""
    return crash_report(per_request_appends, *args)


def batched_appends(
    url: str,
    master: bytes,
    events: list[Event],
    batch: int,
    budget: float,
) -> dict[str, Any]:
    """(b): ``batch`` events through ``append_many`` + one checkpoint + commit per unit."""
    with sessions(url, master) as (_, keys, factory):
        run = Run(budget)
        for i in range(0, len(events), batch):
            t = time.monotonic()
            chunk = events[i : i + batch]
            with factory() as session:
                L.append_many(session, keys, chunk)
                L.checkpoint(session, keys)
                session.commit()
            run.done += len(chunk)
            if run.spent(run.lap(t)):
                break
        return run.result()
