"""What the database and the machine cost with no ledger at all: the floors under every
append measurement."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from sqlalchemy import Connection, text

from bench.ledger.backends import Backend, ledger_db, sessions
from bench.ledger.processes import crash_report, raise_crashes, start_together


def baseline(backend: Backend, n: int = 500) -> dict[str, Any]:
    """What the database alone costs here: a round trip, and a one-row INSERT + COMMIT
    (the most serial commits per second this disk allows)."""
    with ledger_db(backend, "base") as (_, engine), engine.connect() as conn:
        conn.execute(text("CREATE TABLE bench_scratch (id INTEGER PRIMARY KEY, v TEXT)"))
        conn.commit()
        roundtrip = _select1(conn, n)
        conn.commit()
        commit = _insert_commit(conn, n)
    return {
        "select1_roundtrip_ms": round(roundtrip * 1000, 3),
        "insert_commit_ms": round(commit * 1000, 3),
        "max_serial_commits_per_s": round(1 / commit),
    }


def _select1(conn: Connection, n: int) -> float:
    t = time.monotonic()
    for _ in range(n):
        conn.execute(text("SELECT 1"))
    return (time.monotonic() - t) / n


def _insert_commit(conn: Connection, n: int) -> float:
    t = time.monotonic()
    for i in range(n):
        conn.execute(text("INSERT INTO bench_scratch (id, v) VALUES (:i, 'x')"), {"i": i})
        conn.commit()
    return (time.monotonic() - t) / n


REQUESTS_TABLE = {
    "sqlite": "CREATE TABLE bench_requests (id INTEGER PRIMARY KEY, "
    "token VARCHAR(32) UNIQUE, body BYTEA)",
    "postgresql": "CREATE TABLE bench_requests (id BIGSERIAL PRIMARY KEY, "
    "token VARCHAR(32) UNIQUE, body BYTEA)",
}


def bare_requests(url: str, n: int, barrier: Any) -> dict[str, Any]:
    """Requests that write one row and nothing else: new session, pre-ping, INSERT, COMMIT."""
    with sessions(url) as (_, _, factory):
        barrier.wait()
        start = time.monotonic()
        for _ in range(n):
            with factory() as session:
                session.execute(
                    text("INSERT INTO bench_requests (token, body) VALUES (:token, :body)"),
                    {"token": uuid.uuid4().hex, "body": os.urandom(160)},
                )
                session.commit()
        end = time.monotonic()
    return {"done": n, "start": start, "end": end}


def bare_worker(args: tuple[Any, ...]) -> dict[str, Any]:
    return crash_report(bare_requests, *args)


def request_ceiling(backend: Backend, workers: int, ctx: Any, n: int = 3000) -> dict[str, Any]:
    """The most one-row-writing requests per second this machine serves, the ledger aside:
    what (d) could reach at best with one event per request, from 1 and ``workers``
    processes sharing the machine with the database."""
    out: dict[str, Any] = {}
    for procs in sorted({1, workers} if backend.name == "postgresql" else {1}):
        out[f"{procs}_proc_requests_per_s"] = _ceiling(backend, procs, ctx, n)
    return out


def _ceiling(backend: Backend, procs: int, ctx: Any, n: int) -> float:
    """Requests per second of ``n`` bare requests shared by ``procs`` processes."""
    with ledger_db(backend, f"ceil{procs}") as (url, engine):
        with engine.begin() as conn:
            conn.execute(text(REQUESTS_TABLE[backend.name]))
        manager = ctx.Manager()
        with ctx.Pool(procs) as pool:
            parts = start_together(pool, manager, bare_worker, [(url, n // procs)] * procs)
        manager.shutdown()
        raise_crashes(parts)
    secs = max(p["end"] for p in parts) - min(p["start"] for p in parts)
    return round(sum(p["done"] for p in parts) / secs, 1)
