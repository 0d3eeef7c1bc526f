"""Verify: a ledger of ``--verify-events`` events (1 customer per 10) is built once and
inserted into every backend, then ``ledger.verify(session, origin)`` is timed end to end on
a fresh connection and must say ``ok=True``. The report gives seconds, events/s and the
projection to 1,000,000 events. The same databases then serve "states + decide"."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.ledger.backends import Backend, create_schema, new_keys
from bench.ledger.bulk import BulkLog, finish, insert_chunk, insert_rows
from bench.ledger.decide import bench_states
from bench.ledger.profiling import profile_call
from bench.ledger.workload import ORIGIN
from consent import ledger as L
from consent.store import CustomerKeyRow, LogKeyRow
from idp.db import make_engine


def bench_verify_and_states(
    backends: list[Backend], args: argparse.Namespace, results: dict[str, Any]
) -> None:
    n = args.verify_events
    customers = max(10, n // 10)
    master = L.random_master()
    keys = new_keys(master)
    out = results["verify"]
    with verify_databases(backends) as dbs:
        log = BulkLog(customers, master, share_log_key(dbs, keys))
        print(
            f"[verify] building {n:,} events for {customers:,} customers ({', '.join(dbs)}) ...",
            flush=True,
        )
        out["build"] = build(dbs, log, n, args.checkpoint_every)
        for name, engine in dbs.items():
            out[name] = timed_verify(name, engine, n)
            if args.profile:
                out[name]["profile"] = profile_call(
                    lambda engine=engine: _verify(engine), args, f"verify-{name}"
                )
            check_sample(engine, keys, log.sample)
            results["states"][name] = bench_states(engine, keys, args)


@contextmanager
def verify_databases(backends: list[Backend]) -> Iterator[dict[str, Engine]]:
    """A database with the ledger's schema on every backend, dropped afterwards."""
    made: list[tuple[Backend, str, Engine]] = []
    try:
        for b in backends:
            url = b.new_url("verify")
            engine = make_engine(url)
            made.append((b, url, engine))
            create_schema(engine)
        yield {b.name: engine for b, _, engine in made}
    finally:
        for b, url, engine in made:
            engine.dispose()
            b.drop(url)


def share_log_key(dbs: dict[str, Engine], keys: L.LedgerKeys) -> Any:
    """The log signing key, made by the ledger in the first database, copied to the others;
    returns its private key."""
    first = next(iter(dbs.values()))
    with Session(first) as session:
        private = L.log_key(session, keys)
        session.commit()
        krow = session.get(LogKeyRow, L.LOG_KEY_NAME)
        key_values = {
            "name": krow.name,
            "public_key": krow.public_key,
            "wrapped_private_key": krow.wrapped_private_key,
        }
    for engine in dbs.values():
        if engine is not first:
            insert_rows(engine, LogKeyRow.__table__, [key_values])
    return private


def build(dbs: dict[str, Engine], log: BulkLog, n: int, cp_every: int) -> dict[str, Any]:
    """Compute the rows and insert them everywhere; seconds spent in each."""
    compute = 0.0
    inserting = {name: 0.0 for name in dbs}
    t = time.monotonic()
    for chunk in log.chunks(n, cp_every):
        compute += time.monotonic() - t
        for name, engine in dbs.items():
            t1 = time.monotonic()
            insert_chunk(name, engine, chunk)
            inserting[name] += time.monotonic() - t1
        last = chunk[0][-1]["seq"]
        if last % 100_000 == 0:
            print(
                f"    {last:>9,} rows  (compute {compute:.0f}s, insert "
                + ", ".join(f"{k} {v:.0f}s" for k, v in inserting.items())
                + ")",
                flush=True,
            )
        t = time.monotonic()
    for name, engine in dbs.items():
        finish(name, engine, log.tree)
    return {
        "events": n,
        "customers": log.customers,
        "checkpoint_every": cp_every,
        "compute_s": round(compute, 1),
        "insert_s": {k: round(v, 1) for k, v in inserting.items()},
    }


def timed_verify(name: str, engine: Engine, n: int) -> dict[str, Any]:
    engine.dispose()  # cold-ish: a new connection, as a verify job would have
    with Session(engine) as session:
        t = time.monotonic()
        report = L.verify(session, ORIGIN)
        secs = time.monotonic() - t
    print(
        f"[{name}] verify {n:,} events: {secs:.1f}s ok={report.ok} "
        f"({report.entries:,} entries, {report.checkpoints} checkpoints)",
        flush=True,
    )
    return {
        "events": n,
        "seconds": round(secs, 2),
        "events_per_s": round(n / secs),
        "projected_1m_s": round(secs * 1_000_000 / n, 1),
        "ok": report.ok,
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "problems": [p.what for p in report.problems[:3]],
    }


def _verify(engine: Engine) -> None:
    with Session(engine) as session:
        L.verify(session, ORIGIN)


def check_sample(engine: Engine, keys: L.LedgerKeys, cid: str) -> None:
    """A sample of bulk-built customers resolves through the ledger to the same subject."""
    with Session(engine) as session:
        ck = L.customer_key(session, keys, cid)
        assert ck is not None and ck.subject == session.get(CustomerKeyRow, cid).subject, (
            "bulk-built customer keys do not resolve"
        )
