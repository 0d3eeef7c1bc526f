"""Proof cost in a large log: rows read, statements, time and memory per proof, before and after.

*Before*: a proof as Avain made it until the log stored subtree hashes, from every leaf
hash up to the size asked for (``merkle.inclusion_proof(ledger.leaf_hashes(session, size),
...)``). *After*: ``ledger.inclusion`` / ``ledger.consistency``, from the stored hashes of
complete subtrees (``consent.tiles``). Both on the same database, for the same requests,
and every pair is checked to be equal byte for byte.

The log is built as the verify bench builds it (``bench.ledger.bulk``: realistic rows,
sealed details, a checkpoint every 10,000 entries); its stored subtree hashes are then
computed by migration 0007's own backfill, which is timed and its peak memory measured.
Each proof runs in a new session, as a request would; rows are counted in a second run
(PostgreSQL's row count, or ``SELECT count(*)`` of the statement on SQLite), memory
(``tracemalloc`` peak) in a third.

    .venv/bin/python -m bench.proof_bench                          # 1,000,000 events, PostgreSQL
    .venv/bin/python -m bench.proof_bench --events 20000 --backend sqlite --proofs 10

Results are printed and written to ``bench/results/proofs-<date>.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.ledger.backends import DEFAULT_PG, Backend, create_schema, new_keys
from bench.ledger.bulk import BulkLog, head_values, insert_chunk, insert_rows
from consent import ledger as L, merkle, tiles
from consent.store import LogHead, SubtreeRow
from idp.db import make_engine

ROOT = Path(__file__).resolve().parents[1]
MIGRATION = ROOT / "idp" / "migrations" / "versions" / "0007_log_tiles.py"
Proof = Callable[[Session, int, int], list[bytes]]


def before_inclusion(s: Session, seq: int, size: int) -> list[bytes]:
    return merkle.inclusion_proof(L.leaf_hashes(s, size), seq - 1, size)


def before_consistency(s: Session, old: int, new: int) -> list[bytes]:
    return merkle.consistency_proof(L.leaf_hashes(s, new), old, new)


METHODS: dict[str, dict[str, Proof]] = {
    "before": {"inclusion": before_inclusion, "consistency": before_consistency},
    "after": {"inclusion": L.inclusion, "consistency": L.consistency},
}


def build(engine: Engine, n: int, cp_every: int) -> dict[str, Any]:
    """``n`` events in bulk, then the stored subtree hashes by migration 0007's backfill."""
    keys = new_keys()
    with Session(engine) as s:
        private = L.log_key(s, keys)
        s.commit()
    log = BulkLog(max(10, n // 10), keys.master, private)
    t = time.monotonic()
    for chunk in log.chunks(n, cp_every):
        insert_chunk(engine.dialect.name, engine, chunk)
        if chunk[0][-1]["seq"] % 100_000 == 0:
            print(
                f"    {chunk[0][-1]['seq']:>9,} events ({time.monotonic() - t:.0f} s)", flush=True
            )
    built = time.monotonic() - t
    backfill = _load_backfill()
    tracemalloc.start()
    t = time.monotonic()
    with engine.begin() as conn:
        backfill(conn)
    seconds = time.monotonic() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    insert_rows(engine, LogHead.__table__, [head_values(log.tree)])
    with Session(engine) as s:
        stored = s.scalar(select(func.count()).select_from(SubtreeRow)) or 0
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as c:
            c.execute(text("ANALYZE"))
    return {
        "events": n,
        "build_s": round(built, 1),
        "backfill": {
            "seconds": round(seconds, 2),
            "peak_memory_kb": round(peak / 1024),
            "stored_subtrees": stored,
        },
    }


def _load_backfill() -> Callable[[Any], None]:
    spec = importlib.util.spec_from_file_location("migration_0007", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    backfill: Callable[[Any], None] = module._backfill
    return backfill


class Counter:
    """Statements sent and rows their SELECTs return, while attached."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements = 0
        self.rows = 0

    def __enter__(self) -> Counter:
        event.listen(self.engine, "after_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "after_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        self.statements += 1
        if not statement.lstrip().upper().startswith("SELECT"):
            return
        if cursor.rowcount >= 0:  # psycopg: the rows of the result
            self.rows += cursor.rowcount
            return
        raw = conn.connection.dbapi_connection.cursor()  # sqlite3 does not count them
        raw.execute(f"SELECT count(*) FROM ({statement}) AS counted", parameters)  # noqa: S608
        self.rows += raw.fetchone()[0]
        raw.close()


def samples(n: int, count: int, seed: int = 7) -> list[tuple[str, int, int]]:
    """(kind, a, b): inclusion of entry ``a`` in the tree of ``b``, or consistency of ``a``
    with ``b``; half of them at the full size, the rest at sizes from n/2 up."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        size = n if i % 2 == 0 else rng.randint(n // 2, n)
        out.append(("inclusion", rng.randint(1, size), size))
        out.append(("consistency", rng.randint(1, size - 1), size))
    return out


def measure(engine: Engine, method: str, cases: list[tuple[str, int, int]]) -> dict[str, Any]:
    times, rows, statements, proofs = [], [], [], []
    for kind, a, b in cases:
        fn = METHODS[method][kind]
        with Session(engine) as s:
            t = time.perf_counter()
            proofs.append(fn(s, a, b))
            times.append(time.perf_counter() - t)
        with Session(engine) as s, Counter(engine) as c:
            fn(s, a, b)
        rows.append(c.rows)
        statements.append(c.statements)
    peaks = []
    for kind, a, b in cases[:2]:
        with Session(engine) as s:
            s.execute(select(1))  # the connection is open before memory is counted
            tracemalloc.start()
            METHODS[method][kind](s, a, b)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    return {
        "proofs": len(cases),
        "ms_median": round(statistics.median(times) * 1000, 2),
        "ms_max": round(max(times) * 1000, 2),
        "rows_mean": round(statistics.mean(rows)),
        "rows_max": max(rows),
        "statements_max": max(statements),
        "peak_memory_kb": round(max(peaks) / 1024),
        "_proofs": proofs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument(
        "--proofs", type=int, default=20, help="pairs (inclusion, consistency) after"
    )
    parser.add_argument("--before", type=int, default=3, help="pairs measured the old way")
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL")
        or os.environ.get("IDP_TEST_DATABASE_URL")
        or DEFAULT_PG,
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        backend = Backend(args.backend, args.pg_url, Path(tmp))
        url = backend.new_url("proofs")
        engine = make_engine(url)
        try:
            create_schema(engine)
            print(f"[proofs] building {args.events:,} events on {args.backend} ...", flush=True)
            results: dict[str, Any] = {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "backend": args.backend,
                "tile_height": tiles.TILE_HEIGHT,
                "max_reads_bound": tiles.max_reads(args.events),
                "build": build(engine, args.events, args.checkpoint_every),
                "load_average": os.getloadavg(),
            }
            cases = samples(args.events, args.proofs)
            old_cases = samples(args.events, args.before)
            print("[proofs] measuring ...", flush=True)
            after = measure(engine, "after", cases)
            before = measure(engine, "before", old_cases)
            same = after["_proofs"][: len(old_cases)] == before["_proofs"]
            assert same, "a proof from stored hashes differs from the proof from every leaf"
            results["after"] = {k: v for k, v in after.items() if not k.startswith("_")}
            results["before"] = {k: v for k, v in before.items() if not k.startswith("_")}
            results["identical_proofs"] = same
        finally:
            engine.dispose()
            backend.drop(url)
    _print(results)
    out = args.out or ROOT / "bench" / "results" / f"proofs-{datetime.now(UTC):%Y-%m-%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")
    return 0


def _print(r: dict[str, Any]) -> None:
    b = r["build"]
    print(
        f"\nlog: {b['events']:,} events on {r['backend']}, built in {b['build_s']} s; backfill "
        f"{b['backfill']['seconds']} s, peak {b['backfill']['peak_memory_kb']:,} KB, "
        f"{b['backfill']['stored_subtrees']:,} stored subtree hashes"
    )
    print(
        f"{'':8} {'proofs':>6} {'ms median':>10} {'ms max':>9} {'rows mean':>10} "
        f"{'rows max':>9} {'stmts':>6} {'peak KB':>9}"
    )
    for name in ("before", "after"):
        m = r[name]
        print(
            f"{name:8} {m['proofs']:>6} {m['ms_median']:>10} {m['ms_max']:>9} "
            f"{m['rows_mean']:>10,} {m['rows_max']:>9,} {m['statements_max']:>6} "
            f"{m['peak_memory_kb']:>9,}"
        )
    print(
        f"bound on rows (tiles.max_reads): {r['max_reads_bound']:,}; identical proofs: "
        f"{r['identical_proofs']}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
