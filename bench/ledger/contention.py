"""(c): the per-request append (a) from several processes at once (PostgreSQL), to show
what the per-append lock allows; and the race for the first append of an empty log."""

from __future__ import annotations

from typing import Any

from bench.ledger.backends import Backend, check_log, ledger_db
from bench.ledger.processes import raise_crashes, start_together
from bench.ledger.runs import merge_counts, merge_runs, summarize_appends
from bench.ledger.units import PHASES, per_request_appends, per_request_worker
from bench.ledger.workload import Event, EventGen


def concurrent_appends(
    backend: Backend, ctx: Any, master: bytes, events: list[Event], workers: int, budget: float
) -> dict[str, Any]:
    """(c) = (a) from ``workers`` processes, each with its own engine, all started together.
    The log head is created first (one append), so this is the steady state."""
    with ledger_db(backend, "c") as (url, _):
        # the log head exists before the workers start (see bootstrap_race)
        warm = per_request_appends(url, master, EventGen(9, 10, "warm").stream(1), 60)
        assert warm["done"] == 1, warm["errors"]
        manager = ctx.Manager()
        shares = [events[w::workers] for w in range(workers)]
        with ctx.Pool(workers) as pool:
            parts = start_together(
                pool, manager, per_request_worker, [(url, master, s, budget) for s in shares]
            )
        raise_crashes(parts)
        merged = merge_runs(parts, PHASES)
        out = summarize_appends(merged)
        out["workers"] = workers
        out["per_worker_appends_per_s"] = [
            round(p["done"] / (p["end"] - p["start"]), 1) for p in parts
        ]
        out["log_check"] = check_log(url, merged["done"] + 1)
        manager.shutdown()
    return out


def bootstrap_race(
    backend: Backend, ctx: Any, master: bytes, workers: int, rounds: int = 5
) -> dict[str, Any]:
    """``workers`` processes make the very first append of an empty log at the same moment."""
    errors: dict[str, int] = {}
    succeeded = failed_rounds = 0
    manager = ctx.Manager()
    with ctx.Pool(workers) as pool:
        for _ in range(rounds):
            parts = race_round(backend, pool, manager, master, workers)
            succeeded += sum(p.get("done", 0) for p in parts)
            round_errors = merge_counts(p.get("errors", {}) for p in parts)
            errors = merge_counts([errors, round_errors])
            failed_rounds += bool(round_errors)
    manager.shutdown()
    return {
        "workers": workers,
        "rounds": rounds,
        "rounds_with_errors": failed_rounds,
        "appends_succeeded": succeeded,
        "appends_attempted": workers * rounds,
        "errors": errors,
    }


def race_round(
    backend: Backend, pool: Any, manager: Any, master: bytes, workers: int
) -> list[dict[str, Any]]:
    """One round on a fresh, empty log: each worker appends one event of its own customer."""
    with ledger_db(backend, "race") as (url, _):
        return start_together(
            pool,
            manager,
            per_request_worker,
            [(url, master, EventGen(20 + w, 10, f"race{w}").stream(1), 60) for w in range(workers)],
        )
