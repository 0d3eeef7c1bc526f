"""(d): requests queue events in the intake (``ledger.submit_many`` + commit, no log lock)
while one sequencer process moves them into the log, as the identity provider records
consent."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bench.ledger.backends import sessions
from bench.ledger.processes import crash_report, raise_crashes, wait_at
from bench.ledger.runs import Run, merge_runs, summarize_appends
from bench.ledger.workload import Event
from consent import ledger as L
from idp.ledger.sequencer import BATCH_WINDOW


def request_groups(events: list[Event], per_request: int) -> list[list[Event]]:
    """``per_request`` events a request, all made the first one's customer's."""
    groups = [events[i : i + per_request] for i in range(0, len(events), per_request)]
    return [
        [(replace(e, customer_id=group[0][0].customer_id), d) for e, d in group] for group in groups
    ]


def intake_requests(
    url: str,
    master: bytes,
    events: list[Event],
    budget: float,
    per_request: int = 1,
    barrier: Any = None,
) -> dict[str, Any]:
    """(d): each request queues ``per_request`` events of one customer (``submit_many`` +
    commit, no log lock), as the consent screen does for the purposes it asked."""
    with sessions(url, master) as (_, keys, factory):
        if barrier is not None:
            barrier.wait()
        requests = request_groups(events, per_request)
        run = Run(budget)
        for group in requests:
            t = time.monotonic()
            try:
                with factory() as session:
                    L.submit_many(session, keys, group)
                    session.commit()
            except Exception as exc:  # noqa: BLE001 - count and go on, like a request would
                run.error(exc)
            else:
                run.done += len(group)
            if run.spent(run.lap(t)):
                break
        return run.result()


def intake_worker(args: tuple[Any, ...]) -> dict[str, Any]:
    return crash_report(intake_requests, *args)


def drain(factory: sessionmaker[Session], keys: L.LedgerKeys) -> int:
    """One drain of the sequencer: a batch into the log and a checkpoint, in a transaction."""
    with factory() as session:
        moved = L.sequence(session, keys, wait=False)
        session.commit()
    return moved


def intake_empty(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        return not L.queued(session)


def sequencer(url: str, master: bytes, requests_done: Any, barrier: Any) -> dict[str, Any]:
    """The sequencer beside (d): drains the intake, a batch and a checkpoint per transaction,
    as ``idp.ledger.sequencer`` does (with its batching window), until the requests are done
    and the intake is empty."""
    with sessions(url, master) as (_, keys, factory):
        barrier.wait()
        start = time.monotonic()
        batches: list[int] = []
        busy = 0.0
        while True:
            t = time.monotonic()
            moved = drain(factory, keys)
            if moved:
                busy += time.monotonic() - t
                batches.append(moved)
                if moved < L.DRAIN_BATCH and not requests_done.is_set():
                    time.sleep(BATCH_WINDOW)  # as the server's sequencer: let a batch gather
            elif requests_done.is_set():
                if intake_empty(factory):
                    break
            else:
                time.sleep(0.005)
        end = time.monotonic()
    return {
        "moved": sum(batches),
        "start": start,
        "end": end,
        "busy_seconds": busy,
        "batches": batches,
    }


def sequencer_worker(args: tuple[Any, ...]) -> dict[str, Any]:
    return crash_report(sequencer, *args)


def intake_run(
    url: str,
    master: bytes,
    events: list[Event],
    workers: int,
    budget: float,
    ctx: Any,
    together: bool = True,
    per_request: int = 1,
) -> dict[str, Any]:
    """(d) from ``workers`` request processes and one sequencer process.

    ``together``: all start at once and share the machine, the rate is that of the whole
    system. Otherwise the requests run first with no sequencer (what the intake takes), then
    the sequencer alone drains the backlog they left (what the log takes).
    """
    manager = ctx.Manager()
    barrier = manager.Barrier(workers + 1 + together)
    requests_done = manager.Event()
    shares = [events[w::workers] for w in range(workers)]
    with ctx.Pool(workers + 1) as pool:
        if together:
            sequencing = pool.apply_async(sequencer_worker, [(url, master, requests_done, barrier)])
        pending = pool.map_async(
            intake_worker,
            [(url, master, share, budget, per_request, barrier) for share in shares],
        )
        wait_at(barrier)
        parts = pending.get()
        requests_done.set()
        if not together:
            alone = manager.Barrier(2)
            sequencing = pool.apply_async(sequencer_worker, [(url, master, requests_done, alone)])
            wait_at(alone)
        seq = sequencing.get()
    manager.shutdown()
    raise_crashes([*parts, seq])
    return summarize_intake(merge_runs(parts), seq, workers, together, per_request)


def summarize_intake(
    accepted: dict[str, Any], seq: dict[str, Any], workers: int, together: bool, per_request: int
) -> dict[str, Any]:
    """Accepted/s (the requests), logged/s (in the log and under a signed checkpoint), and
    how the sequencer worked: events per second of its busy time, batches, mean batch."""
    out = summarize_appends(accepted)
    out["workers"] = workers
    out["together"] = together
    out["events_per_request"] = per_request
    out["requests_per_s"] = round(out["appends_per_s"] / per_request, 1)
    out["logged"] = seq["moved"]
    if together:
        out["logged_per_s"] = round(seq["moved"] / (seq["end"] - accepted["start"]), 1)
        out["log_caught_up_s_after_last_request"] = round(seq["end"] - accepted["end"], 3)
    else:
        out["logged_per_s"] = round(seq["moved"] / (seq["end"] - seq["start"]), 1)
    out["sequencer_busy_per_s"] = round(seq["moved"] / seq["busy_seconds"], 1)
    out["sequencer_batches"] = len(seq["batches"])
    out["sequencer_mean_batch"] = round(statistics.mean(seq["batches"]), 1)
    return out
