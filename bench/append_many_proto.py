"""Experiment, not library code: what a set-based ``append_many`` and an intake queue would give.

``ledger_bench.py`` shows that ``ledger.append`` reaches a few hundred appends/s on
PostgreSQL because every append costs ~5 SQL round trips and ORM work while it holds the
log-head row lock, and a checkpoint + commit per request adds ~5 more. This script measures
the two changes proposed in the benchmark report, without touching ``consent/``:

1. ``append_many``: one head lock, one query for the customers' keys, one for their previous
   leaf hashes, one multi-row INSERT, one head UPDATE and one ``ledger.checkpoint`` per
   batch. Rows are computed with the ledger's own code (``seal``, ``ledger.leaf_data``,
   ``merkle.leaf_hash``, ``merkle.CompactTree``), and ``ledger.verify`` must accept the log.
2. an intake table: a request only INSERTs its (sealed) event and commits, with no global
   lock; a single sequencer drains the intake with ``append_many``. Measured with N
   processes doing INSERT + COMMIT per request.

    .venv/bin/python bench/append_many_proto.py [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger_bench import (  # noqa: E402
    Backend,
    EventGen,
    check_log,
    ledger_db,
    new_keys,
)
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from consent import (
    ledger as L,  # noqa: E402
    merkle,  # noqa: E402
)
from consent.model import ConsentEvent  # noqa: E402
from consent.sealing import canonical, new_key, seal, unwrap, wrap  # noqa: E402
from consent.store import CustomerKeyRow, EventRow, LogHead  # noqa: E402
from idp.db import make_engine  # noqa: E402

COLUMNS = [c.name for c in EventRow.__table__.columns]


def append_many(
    session: Session, keys: L.LedgerKeys, items: list[tuple[ConsentEvent, dict[str, Any]]]
) -> int:
    """Append ``items`` in order under one head lock; a handful of statements per batch."""
    head = session.get(LogHead, 1, with_for_update=True)
    if head is None:
        head = LogHead(id=1, size=0, frontier=[])
        session.add(head)
        session.flush()
    cids = sorted({e.customer_id for e, _ in items})
    found = {
        r.customer_id: (unwrap(keys.master, r.wrapped_key, r.customer_id), r.subject)
        for r in session.execute(
            select(
                CustomerKeyRow.customer_id, CustomerKeyRow.wrapped_key, CustomerKeyRow.subject
            ).where(CustomerKeyRow.customer_id.in_(cids))
        )
    }
    new = []
    for cid in cids:
        if cid not in found:  # as ledger.customer_key(create=True)
            key = new_key()
            subject = hashlib.sha256(key + b"|subject|" + cid.encode()).hexdigest()
            found[cid] = (key, subject)
            new.append(
                {"customer_id": cid, "subject": subject, "wrapped_key": wrap(keys.master, key, cid)}
            )
    if new:
        session.execute(insert(CustomerKeyRow), new)
    subjects = [found[c][1] for c in cids]
    latest = (
        select(func.max(EventRow.seq))
        .where(EventRow.subject.in_(subjects))
        .group_by(EventRow.subject)
    )
    last = dict(
        session.execute(
            select(EventRow.subject, EventRow.leaf_hash).where(EventRow.seq.in_(latest))
        ).all()
    )
    tree = merkle.CompactTree.restore(head.size, [bytes.fromhex(h) for h in head.frontier])
    rows = []
    seq = head.size
    for event, details in items:
        seq += 1
        key, subject = found[event.customer_id]
        sealed = seal(key, details, associated=f"event:{seq}".encode())
        row = SimpleNamespace(
            seq=seq,
            subject=subject,
            recipient_id=event.recipient_id,
            purpose_id=event.purpose_id,
            purpose_version=event.purpose_version,
            type=str(event.type),
            at=event.at,
            actor=str(event.actor),
            channel=str(event.channel),
            claims=sorted(event.claims),
            expires_at=event.expires_at,
            details=sealed.ciphertext,
            details_commitment=sealed.commitment,
            prev_leaf_hash=last.get(subject),
            leaf_hash="",
        )
        leaf = merkle.leaf_hash(L.leaf_data(row))
        row.leaf_hash = leaf.hex()
        last[subject] = row.leaf_hash
        tree.append(leaf)
        rows.append({c: getattr(row, c) for c in COLUMNS})
    session.execute(insert(EventRow), rows)
    head.size = seq
    head.frontier = [h.hex() for h in tree.frontier]
    session.flush()
    return seq


def run_append_many(backend: Backend, n: int, batch: int) -> dict[str, Any]:
    items = EventGen(seed=1, customers=max(50, n // 10)).stream(n)
    keys = new_keys()
    with ledger_db(backend, f"many{batch}") as (url, engine):
        factory = sessionmaker(engine, expire_on_commit=False)
        with engine.connect():
            pass
        t = time.monotonic()
        for i in range(0, n, batch):
            with factory() as session:
                append_many(session, keys, items[i : i + batch])
                L.checkpoint(session, keys)
                session.commit()
        secs = time.monotonic() - t
        check = check_log(url, n)
    return {
        "backend": backend.name,
        "batch": batch,
        "events": n,
        "seconds": round(secs, 2),
        "appends_per_s": round(n / secs),
        "verify": check,
    }


def _intake_worker(args: tuple[str, int, float, Any]) -> tuple[int, float, float]:
    url, seed, seconds, barrier = args
    engine = make_engine(url)
    gen = EventGen(seed=seed, customers=1000)
    key = new_key()
    items = gen.stream(20_000)
    with engine.connect() as conn:
        barrier.wait()
        start = time.monotonic()
        done = 0
        for event, details in items:
            body = canonical(
                {
                    "customer": event.customer_id,
                    "recipient": event.recipient_id,
                    "purpose": event.purpose_id,
                    "version": event.purpose_version,
                    "type": str(event.type),
                    "at": event.at.isoformat(),
                    "claims": sorted(event.claims),
                }
            )
            sealed = seal(key, details, associated=body)
            conn.execute(
                text("INSERT INTO bench_intake (event, details) VALUES (:e, :d)"),
                {"e": body.decode(), "d": sealed.ciphertext},
            )
            conn.commit()
            done += 1
            if time.monotonic() - start > seconds:
                break
        end = time.monotonic()
    engine.dispose()
    return done, start, end


def run_intake(backend: Backend, workers: int, seconds: float) -> dict[str, Any]:
    with ledger_db(backend, "intake") as (url, engine):
        kind = "BYTEA" if backend.name == "postgresql" else "BLOB"
        serial = "BIGSERIAL" if backend.name == "postgresql" else "INTEGER"
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE TABLE bench_intake (id {serial} PRIMARY KEY, "
                    f"event TEXT NOT NULL, details {kind} NOT NULL)"
                )
            )
        ctx = mp.get_context("spawn")
        manager = ctx.Manager()
        barrier = manager.Barrier(workers + 1)
        with ctx.Pool(workers) as pool:
            pending = pool.map_async(
                _intake_worker, [(url, 100 + w, seconds, barrier) for w in range(workers)]
            )
            barrier.wait()
            parts = pending.get()
        manager.shutdown()
    done = sum(p[0] for p in parts)
    secs = max(p[2] for p in parts) - min(p[1] for p in parts)
    return {
        "backend": backend.name,
        "workers": workers,
        "requests": done,
        "seconds": round(secs, 2),
        "requests_per_s": round(done / secs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batches", default="100,1000")
    parser.add_argument("--intake-workers", default="1,4")
    parser.add_argument("--intake-seconds", type=float, default=10.0)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL")
        or os.environ.get("IDP_TEST_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent
        / "results"
        / f"append-many-{datetime.now(UTC):%Y-%m-%d}.json",
    )
    args = parser.parse_args()
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="avain-append-many-"))
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {"append_many": [], "intake": []}
    for name in names:
        b = Backend(name, args.pg_url, tmp)
        try:
            for batch in (int(x) for x in args.batches.split(",")):
                r = run_append_many(b, args.events, batch)
                results["append_many"].append(r)
                print(
                    f"[{name}] append_many, {batch}/txn + checkpoint: "
                    f"{r['appends_per_s']:,}/s  verify ok={r['verify']['ok']}",
                    flush=True,
                )
            if name == "postgresql":
                for w in (int(x) for x in args.intake_workers.split(",")):
                    r = run_intake(b, w, args.intake_seconds)
                    results["intake"].append(r)
                    print(
                        f"[{name}] intake INSERT+COMMIT per request, {w} processes: "
                        f"{r['requests_per_s']:,}/s",
                        flush=True,
                    )
        finally:
            b.drop_all()
    shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
