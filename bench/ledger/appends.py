"""The append measurements of one backend, in order, each printed as it finishes:
the database alone, statements per unit, (a) per request, (b) batched, the request
ceiling, (d) through the intake, and (c) from several processes (PostgreSQL).

Every measurement appends the same ``--events`` events, generated before the clock starts,
to a fresh database, and the log is checked with ``ledger.verify`` afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
from dataclasses import dataclass, field
from typing import Any

from bench.ledger.backends import Backend, check_log, ledger_db
from bench.ledger.contention import bootstrap_race, concurrent_appends
from bench.ledger.floors import baseline, request_ceiling
from bench.ledger.intake import intake_run
from bench.ledger.profiling import profile_call
from bench.ledger.runs import summarize_appends
from bench.ledger.statements import statements_per_unit
from bench.ledger.units import batched_appends, per_request_appends
from bench.ledger.workload import Event, EventGen
from consent import ledger as L


@dataclass
class Appends:
    """What the append measurements of one backend share, and where their results go."""

    backend: Backend
    args: argparse.Namespace
    gen: EventGen
    events: list[Event]
    master: bytes
    out: dict[str, Any]
    ctx: Any = field(default_factory=lambda: mp.get_context("spawn"))

    @property
    def name(self) -> str:
        return self.backend.name

    def say(self, line: str) -> None:
        print(f"[{self.name}] {line}", flush=True)


def bench_appends(backend: Backend, args: argparse.Namespace, results: dict[str, Any]) -> None:
    gen = EventGen(seed=1, customers=max(50, args.events // 10))
    events = gen.stream(args.events)
    out: dict[str, Any] = {}
    results["appends"][backend.name] = out
    a = Appends(backend, args, gen, events, L.random_master(), out)
    database_alone(a)
    per_request(a)
    batched(a)
    ceiling(a)
    intake(a)
    if backend.name == "postgresql" and args.screen_events > 1:
        consent_screen(a)
    if backend.name == "postgresql" and args.workers > 1:
        concurrent(a)


def database_alone(a: Appends) -> None:
    a.out["baseline"] = baseline(a.backend)
    a.out["statements"] = stmts = statements_per_unit(a.backend, a.master, a.args.batch)
    a.say(
        f"database alone: {a.out['baseline']}; statements per unit of "
        f"work: per request {stmts['per_request']['statements']}, batch of "
        f"{a.args.batch}: {stmts[f'batch_of_{a.args.batch}']['statements']}"
    )


def per_request(a: Appends) -> None:
    """(a), and with ``--profile`` a cProfile of more of it on the same log."""
    budget = a.args.append_budget
    a.say(
        f"(a) one event + checkpoint + commit per transaction, "
        f"{len(a.events)} events (budget {budget:.0f}s) ..."
    )
    with ledger_db(a.backend, "a") as (url, _):
        res = per_request_appends(url, a.master, a.events, budget)
        out = a.out["per_request"] = summarize_appends(res)
        out["log_check"] = check_log(url, res["done"])
        if a.args.profile:
            out["profile"] = profile_call(
                lambda: per_request_appends(
                    url, a.master, a.gen.stream(a.args.profile_appends, res["done"] + 1), budget
                ),
                a.args,
                f"append-per-request-{a.name}",
            )
    print(f"    {out['appends_per_s']} appends/s", flush=True)


def batched(a: Appends) -> None:
    a.say(f"(b) {a.args.batch} events + one checkpoint per transaction ...")
    with ledger_db(a.backend, "b") as (url, _):
        res = batched_appends(url, a.master, a.events, a.args.batch, a.args.append_budget)
        out = a.out["batched"] = summarize_appends(res)
        out["batch"] = a.args.batch
        out["log_check"] = check_log(url, res["done"])
    print(f"    {out['appends_per_s']} appends/s", flush=True)


def ceiling(a: Appends) -> None:
    a.out["request_ceiling"] = request_ceiling(a.backend, a.args.workers, a.ctx)
    a.say(f"requests that write one row and nothing else: {a.out['request_ceiling']}")


def intake(a: Appends) -> None:
    """(d) with one event per request, from 1 (and on PostgreSQL ``--workers``) processes,
    with the sequencer draining at the same time and then apart."""
    a.out["intake"] = []
    for workers in sorted({1, a.args.workers} if a.name == "postgresql" else {1}):
        a.say(
            f"(d) one event per request into the intake + commit, "
            f"{workers} request process(es) and a sequencer process ..."
        )
        for together in (True, False):
            res = intake_measured(a, f"d{workers}", workers, together)
            print(
                f"    {'together' if together else 'apart'}: {res['appends_per_s']} accepted/s,"
                f" {res['logged_per_s']} in the log and checkpointed per second",
                flush=True,
            )


def consent_screen(a: Appends) -> None:
    """(d) with ``--screen-events`` events of one customer per request."""
    k, workers = a.args.screen_events, a.args.workers
    a.say(
        f"(d) {k} events per request (a consent screen asking {k} "
        f"purposes), {workers} request processes with a sequencer ..."
    )
    res = intake_measured(a, f"d{workers}x{k}", workers, True, k)
    print(
        f"    together: {res['appends_per_s']} accepted/s ({res['requests_per_s']} "
        f"requests/s), {res['logged_per_s']} in the log and checkpointed per second",
        flush=True,
    )


def intake_measured(
    a: Appends, label: str, workers: int, together: bool, k: int = 1
) -> dict[str, Any]:
    with ledger_db(a.backend, label) as (url, _):
        res = intake_run(url, a.master, a.events, workers, a.args.append_budget, a.ctx, together, k)
        res["log_check"] = check_log(url, res["logged"])
    a.out["intake"].append(res)
    return res


def concurrent(a: Appends) -> None:
    """The bootstrap race, then (c) in the steady state."""
    workers = a.args.workers
    a.say(f"(c) = (a) from {workers} worker processes ...")
    a.out["bootstrap_race"] = bootstrap_race(a.backend, a.ctx, a.master, workers)
    print(
        f"    first appends on an empty log from {workers} processes at once: "
        f"{a.out['bootstrap_race']}",
        flush=True,
    )
    a.out["concurrent"] = concurrent_appends(
        a.backend, a.ctx, a.master, a.events, workers, a.args.append_budget
    )
    print(f"    {a.out['concurrent']['appends_per_s']} appends/s in total", flush=True)
