"""Consent-ledger benchmark: appends, verify, decide().

Run from the repository root::

    .venv/bin/python bench/ledger_bench.py                      # both backends, defaults
    .venv/bin/python bench/ledger_bench.py --backend sqlite --events 2000 --verify-events 50000

Measures, against the goals of the issue:

* appends/s through ``ledger.append`` in real units of work: (a) one event + checkpoint +
  commit per transaction, (b) 100 events + one checkpoint per transaction, and (c) = (a) from
  several worker processes at once (PostgreSQL only) to show what the per-append lock allows;
* seconds for ``ledger.verify`` of a ledger of ``--verify-events`` entries (1,000,000 by
  default), built by bulk insert of rows computed with the ledger's own code
  (``seal``, ``ledger.leaf_data``, ``merkle.leaf_hash``, ``merkle.CompactTree``,
  ``merkle.sign_checkpoint`` with the key from ``ledger.log_key``), checkpointed every 10,000;
* µs per ``decide()`` call for a realistic token, and ms for "``ledger.states`` from the
  database + ``decide()``" for one customer with 20 events, on a session per call.

Results are printed as a table and written to ``bench/results/ledger-<date>.json``.
PostgreSQL: ``--pg-url`` (default ``$BENCH_PG_URL``, ``$IDP_TEST_DATABASE_URL`` or
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); a fresh database is created
for every measurement and dropped afterwards. Only ``bench/`` is written to.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import multiprocessing as mp
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from consent import (  # noqa: E402
    Actor,
    Channel,
    ConsentEvent,
    ConsentState,
    EventType,
    LegalBasis,
    Need,
    Purpose,
    ReleaseRequest,
    decide,
    ledger as L,  # noqa: E402
    merkle,
)
from consent.sealing import new_key, seal, wrap  # noqa: E402
from consent.store import (  # noqa: E402
    CheckpointRow,
    CustomerKeyRow,
    EventRow,
    LedgerBase,
    LogHead,
    LogKeyRow,
    append_only_ddl,
)
from idp.db import make_engine  # noqa: E402  (the app's engine settings: WAL, pre-ping, pool)
from idp.ledger.sequencer import BATCH_WINDOW  # noqa: E402

GOALS = {
    "append_per_s_postgresql": 2000.0,  # appends per second on PostgreSQL
    "verify_1m_s": 60.0,  # seconds to verify 1,000,000 events
    "decide_us": 200.0,  # µs per decide() call
}
ORIGIN = "bench.avain.example/consent-log"
T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NEC, OPT = Need.NECESSARY, Need.OPTIONAL

# -- a realistic catalogue ------------------------------------------------------------------

PURPOSES = {
    "garage_booking": Purpose(
        id="garage_booking",
        version=2,
        basis=LegalBasis.CONSENT,
        texts={},
        claims={
            "name": NEC,
            "car_registration": NEC,
            "email": OPT,
            "phone_number": OPT,
            "tire_purchase": OPT,
        },
        recipients=frozenset({"garage"}),
        validity_days=365,
    ),
    "account": Purpose(
        id="account",
        version=1,
        basis=LegalBasis.CONTRACT,
        texts={},
        claims={"name": NEC, "email": NEC, "locale": OPT},
        recipients=frozenset({"shop"}),
    ),
    "marketing": Purpose(
        id="marketing",
        version=3,
        basis=LegalBasis.CONSENT,
        texts={},
        claims={"email": OPT, "given_name": OPT, "phone_number": OPT, "locale": OPT},
        recipients=frozenset({"shop", "newsletter"}),
        validity_days=730,
    ),
    "analytics": Purpose(
        id="analytics",
        version=1,
        basis=LegalBasis.LEGITIMATE_INTEREST,
        texts={},
        claims={"locale": NEC, "purchase_history": OPT},
        recipients=frozenset({"shop"}),
    ),
    "insurance_quote": Purpose(
        id="insurance_quote",
        version=1,
        basis=LegalBasis.CONSENT,
        texts={},
        claims={
            "name": NEC,
            "birthdate": NEC,
            "car_registration": NEC,
            "address": OPT,
            "email": OPT,
        },
        recipients=frozenset({"insurance"}),
        validity_days=180,
    ),
}
PAIRS = [(r, p.id) for p in PURPOSES.values() for r in sorted(p.recipients)]
KINDS = [
    EventType.GIVEN,
    EventType.MODIFIED,
    EventType.RENEWED,
    EventType.WITHDRAWN,
    EventType.REFUSED,
    EventType.OBJECTION,
    EventType.RESTRICTION,
    EventType.RESTRICTION_LIFTED,
]
KIND_WEIGHTS = [60, 10, 5, 10, 8, 3, 2, 2]
GRANTING = {EventType.GIVEN, EventType.MODIFIED, EventType.RENEWED}
LANGS = ["fi", "fi", "fi", "sv", "en"]
NOTICE_HASH = hashlib.sha256(b"privacy notice 2026-11").hexdigest()


class EventGen:
    """Realistic events: many customers, all purposes, weighted event types, sealed details."""

    def __init__(self, seed: int, customers: int, prefix: str = "cust") -> None:
        self.rng = random.Random(seed)
        self.customers = customers
        self.prefix = prefix

    def customer(self, i: int) -> str:
        return f"{self.prefix}-{i:07d}"

    def event(
        self,
        customer_id: str,
        at: datetime,
        pair: tuple[str, str] | None = None,
        kind: EventType | None = None,
    ) -> tuple[ConsentEvent, dict[str, Any]]:
        rng = self.rng
        recipient, purpose_id = pair or rng.choice(PAIRS)
        purpose = PURPOSES[purpose_id]
        kind = kind or rng.choices(KINDS, KIND_WEIGHTS)[0]
        optional = sorted(purpose.optional())
        chosen: frozenset[str] = frozenset()
        expires = None
        if kind in GRANTING:
            chosen = frozenset(c for c in optional if rng.random() < 0.6)
            if purpose.validity_days:
                expires = at + timedelta(days=purpose.validity_days)
        language = rng.choice(LANGS)
        session_id = f"{rng.getrandbits(64):016x}"
        event = ConsentEvent(
            customer_id=customer_id,
            recipient_id=recipient,
            purpose_id=purpose_id,
            purpose_version=purpose.version,
            type=kind,
            at=at,
            actor=Actor.CUSTOMER if rng.random() < 0.9 else Actor.ADMIN,
            channel=rng.choice(
                [Channel.CONSENT_SCREEN, Channel.CONSENT_SCREEN, Channel.ACCOUNT_PAGE]
            ),
            claims=chosen,
            expires_at=expires,
            notice_version="2026-11",
            notice_hash=NOTICE_HASH,
            language=language,
            offered=tuple((c, False) for c in optional),
            session_id=session_id,
        )
        details = {
            "language": language,
            "notice": "2026-11",
            "offered": [[c, False] for c in optional],
            "session": session_id,
        }
        return event, details

    def stream(self, n: int, start_seq: int = 1) -> list[tuple[ConsentEvent, dict[str, Any]]]:
        return [
            self.event(
                self.customer(self.rng.randrange(self.customers)),
                T0 + timedelta(seconds=3 * (start_seq + i)),
            )
            for i in range(n)
        ]


# -- databases ------------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    pg_url: str
    tmp: Path
    created: list[str] = field(default_factory=list)

    def new_url(self, label: str) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{self.tmp / f'{label}-{uuid.uuid4().hex[:6]}.db'}"
        db = f"avain_bench_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        admin.dispose()
        self.created.append(db)
        return urlsplit(self.pg_url)._replace(path=f"/{db}").geturl()

    def drop(self, url: str) -> None:
        if self.name == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            return
        db = urlsplit(url).path.lstrip("/")
        admin = create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
        if db in self.created:
            self.created.remove(db)

    def drop_all(self) -> None:
        for db in list(self.created):
            try:
                self.drop(urlsplit(self.pg_url)._replace(path=f"/{db}").geturl())
            except Exception as exc:  # noqa: BLE001
                print(f"  ! could not drop {db}: {exc}", file=sys.stderr)


def create_schema(engine: Engine) -> None:
    LedgerBase.metadata.create_all(engine)
    with engine.begin() as conn:
        for stmt in append_only_ddl(engine.dialect.name):
            conn.execute(text(stmt))


@contextmanager
def ledger_db(backend: Backend, label: str) -> Iterator[tuple[str, Engine]]:
    url = backend.new_url(label)
    engine = make_engine(url)
    try:
        create_schema(engine)
        yield url, engine
    finally:
        engine.dispose()
        backend.drop(url)


def new_keys(master: bytes | None = None) -> L.LedgerKeys:
    return L.LedgerKeys(master=master or L.random_master(), origin=ORIGIN)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


# -- 1. appends -----------------------------------------------------------------------------


def per_request_appends(
    url: str,
    master: bytes,
    events: list[tuple[ConsentEvent, dict[str, Any]]],
    budget: float,
    barrier: Any = None,
    window: int = 1000,
) -> dict[str, Any]:
    """(a): each event is its own unit of work: append + checkpoint + commit (a request)."""
    engine = make_engine(url)
    keys = new_keys(master)
    factory = sessionmaker(engine, expire_on_commit=False)  # as idp.db does
    with engine.connect():
        pass  # open a pooled connection before the clock starts
    if barrier is not None:
        barrier.wait()
    latencies: list[float] = []
    phases: dict[str, list[float]] = {"append": [], "checkpoint": [], "commit": []}
    windows: list[tuple[int, float]] = []
    errors: dict[str, int] = {}
    start = time.monotonic()
    mark = start
    last_size = 0
    done = 0
    for event, details in events:
        t = time.monotonic()
        try:
            with factory() as session:
                row = L.append(session, keys, event, details)
                t1 = time.monotonic()
                L.checkpoint(session, keys)
                t2 = time.monotonic()
                session.commit()
                t3 = time.monotonic()
                last_size = row.seq
                phases["append"].append(t1 - t)
                phases["checkpoint"].append(t2 - t1)
                phases["commit"].append(t3 - t2)
        except Exception as exc:  # noqa: BLE001 - count and go on, like a request would
            name = type(exc).__name__ + ": " + str(exc).splitlines()[0][:120]
            errors[name] = errors.get(name, 0) + 1
        else:
            done += 1
        now = time.monotonic()
        latencies.append(now - t)
        if done and done % window == 0:
            windows.append((last_size, window / (now - mark)))
            mark = now
        if now - start > budget:
            break
    end = time.monotonic()
    engine.dispose()
    return {
        "done": done,
        "attempted": len(latencies),
        "start": start,
        "end": end,
        "latencies": latencies,
        "windows": windows,
        "errors": errors,
        "phases": phases,
    }


def _worker(args: tuple[Any, ...]) -> dict[str, Any]:
    url, master, events, budget, barrier = args
    try:
        return per_request_appends(url, master, events, budget, barrier)
    except Exception:  # noqa: BLE001
        return {"crash": traceback.format_exc()}


def batched_appends(
    url: str,
    master: bytes,
    events: list[tuple[ConsentEvent, dict[str, Any]]],
    batch: int,
    budget: float,
) -> dict[str, Any]:
    """(b): ``batch`` events through ``append_many`` + one checkpoint + commit per unit."""
    engine = make_engine(url)
    keys = new_keys(master)
    factory = sessionmaker(engine, expire_on_commit=False)
    with engine.connect():
        pass
    latencies: list[float] = []
    start = time.monotonic()
    done = 0
    for i in range(0, len(events), batch):
        t = time.monotonic()
        with factory() as session:
            L.append_many(session, keys, events[i : i + batch])
            L.checkpoint(session, keys)
            session.commit()
        done += len(events[i : i + batch])
        latencies.append(time.monotonic() - t)
        if time.monotonic() - start > budget:
            break
    end = time.monotonic()
    engine.dispose()
    return {"done": done, "start": start, "end": end, "latencies": latencies}


def intake_requests(
    url: str,
    master: bytes,
    events: list[tuple[ConsentEvent, dict[str, Any]]],
    budget: float,
    barrier: Any = None,
    per_request: int = 1,
) -> dict[str, Any]:
    """(d): each request queues ``per_request`` events of one customer (``submit_many`` +
    commit, no log lock), as the consent screen does for the purposes it asked."""
    engine = make_engine(url)
    keys = new_keys(master)
    factory = sessionmaker(engine, expire_on_commit=False)
    with engine.connect():
        pass
    if barrier is not None:
        barrier.wait()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    requests = [events[i : i + per_request] for i in range(0, len(events), per_request)]
    requests = [
        [(replace(e, customer_id=group[0][0].customer_id), d) for e, d in group]
        for group in requests
    ]
    start = time.monotonic()
    done = 0
    for group in requests:
        t = time.monotonic()
        try:
            with factory() as session:
                L.submit_many(session, keys, group)
                session.commit()
        except Exception as exc:  # noqa: BLE001 - count and go on, like a request would
            name = type(exc).__name__ + ": " + str(exc).splitlines()[0][:120]
            errors[name] = errors.get(name, 0) + 1
        else:
            done += len(group)
        now = time.monotonic()
        latencies.append(now - t)
        if now - start > budget:
            break
    end = time.monotonic()
    engine.dispose()
    return {"done": done, "start": start, "end": end, "latencies": latencies, "errors": errors}


def raise_crashes(parts: list[dict[str, Any]]) -> None:
    """A worker process reports a crash as ``{"crash": traceback}``: re-raise the first."""
    crashes = [p["crash"] for p in parts if "crash" in p]
    if crashes:
        raise RuntimeError("a process crashed:\n" + crashes[0])


def _intake_worker(args: tuple[Any, ...]) -> dict[str, Any]:
    try:
        return intake_requests(*args)
    except Exception:  # noqa: BLE001
        return {"crash": traceback.format_exc()}


def _sequencer(args: tuple[Any, ...]) -> dict[str, Any]:
    """The sequencer beside (d): drains the intake, a batch and a checkpoint per transaction,
    as ``idp.ledger.sequencer`` does (with its batching window), until the requests are done
    and the intake is empty."""
    url, master, requests_done, barrier = args
    try:
        engine = make_engine(url)
        keys = new_keys(master)
        factory = sessionmaker(engine, expire_on_commit=False)
        with engine.connect():
            pass
        barrier.wait()
        start = time.monotonic()
        moved_total = 0
        batches: list[int] = []
        busy = 0.0
        while True:
            t = time.monotonic()
            with factory() as session:
                moved = L.sequence(session, keys, wait=False)
                session.commit()
            if moved:
                busy += time.monotonic() - t
                batches.append(moved)
                moved_total += moved
                if moved < L.DRAIN_BATCH and not requests_done.is_set():
                    time.sleep(BATCH_WINDOW)  # as the server's sequencer: let a batch gather
            elif requests_done.is_set():
                with factory() as session:
                    if not L.queued(session):
                        break
            else:
                time.sleep(0.005)
        end = time.monotonic()
        engine.dispose()
        return {
            "moved": moved_total,
            "start": start,
            "end": end,
            "busy_seconds": busy,
            "batches": batches,
        }
    except Exception:  # noqa: BLE001
        return {"crash": traceback.format_exc()}


def intake_run(
    url: str,
    master: bytes,
    events: list[tuple[ConsentEvent, dict[str, Any]]],
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
            sequencing = pool.apply_async(_sequencer, [(url, master, requests_done, barrier)])
        pending = pool.map_async(
            _intake_worker,
            [(url, master, share, budget, barrier, per_request) for share in shares],
        )
        barrier.wait()
        parts = pending.get()
        requests_done.set()
        if not together:
            alone = manager.Barrier(2)
            sequencing = pool.apply_async(_sequencer, [(url, master, requests_done, alone)])
            alone.wait()
        seq = sequencing.get()
    manager.shutdown()
    raise_crashes([*parts, seq])
    accepted = {
        "done": sum(p["done"] for p in parts),
        "start": min(p["start"] for p in parts),
        "end": max(p["end"] for p in parts),
        "latencies": [x for p in parts for x in p["latencies"]],
        "errors": {},
    }
    for p in parts:
        for k, v in p["errors"].items():
            accepted["errors"][k] = accepted["errors"].get(k, 0) + v
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


def check_log(url: str, expected: int) -> dict[str, Any]:
    """After a measurement: the log verifies and has the expected size."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            report = L.verify(session, ORIGIN)
        return {
            "ok": report.ok and report.entries == expected,
            "entries": report.entries,
            "problems": [p.what for p in report.problems[:3]],
        }
    finally:
        engine.dispose()


def summarize_appends(res: dict[str, Any]) -> dict[str, Any]:
    secs = res["end"] - res["start"]
    lat = res["latencies"]
    out = {
        "events": res["done"],
        "seconds": round(secs, 3),
        "appends_per_s": round(res["done"] / secs, 1) if secs else None,
        "txn_ms_p50": round(pct(lat, 0.5) * 1000, 3),
        "txn_ms_p95": round(pct(lat, 0.95) * 1000, 3),
        "txn_ms_p99": round(pct(lat, 0.99) * 1000, 3),
    }
    if res.get("windows"):
        w = res["windows"]
        out["rate_by_log_size"] = [[size, round(rate, 1)] for size, rate in w]
    if res.get("phases"):
        out["phase_ms_p50"] = {k: round(pct(v, 0.5) * 1000, 3) for k, v in res["phases"].items()}
        out["phase_ms_mean"] = {
            k: round(statistics.mean(v) * 1000, 3) for k, v in res["phases"].items() if v
        }
    if res.get("errors"):
        out["errors"] = res["errors"]
    return out


def bench_appends(backend: Backend, args: argparse.Namespace, results: dict[str, Any]) -> None:
    gen = EventGen(seed=1, customers=max(50, args.events // 10))
    events = gen.stream(args.events)
    master = L.random_master()
    out: dict[str, Any] = {}
    results["appends"][backend.name] = out
    out["baseline"] = baseline(backend)
    out["statements"] = statements_per_unit(backend, master, args.batch)
    print(
        f"[{backend.name}] database alone: {out['baseline']}; statements per unit of "
        f"work: per request {out['statements']['per_request']['statements']}, batch of "
        f"{args.batch}: {out['statements'][f'batch_of_{args.batch}']['statements']}",
        flush=True,
    )

    print(
        f"[{backend.name}] (a) one event + checkpoint + commit per transaction, "
        f"{len(events)} events (budget {args.append_budget:.0f}s) ...",
        flush=True,
    )
    with ledger_db(backend, "a") as (url, _):
        res = per_request_appends(url, master, events, args.append_budget)
        out["per_request"] = summarize_appends(res)
        out["per_request"]["log_check"] = check_log(url, res["done"])
        if args.profile:
            out["per_request"]["profile"] = profile_call(
                lambda: per_request_appends(
                    url,
                    master,
                    gen.stream(args.profile_appends, res["done"] + 1),
                    args.append_budget,
                ),
                args,
                f"append-per-request-{backend.name}",
            )
    print(f"    {out['per_request']['appends_per_s']} appends/s", flush=True)

    print(
        f"[{backend.name}] (b) {args.batch} events + one checkpoint per transaction ...", flush=True
    )
    with ledger_db(backend, "b") as (url, _):
        res = batched_appends(url, master, events, args.batch, args.append_budget)
        out["batched"] = summarize_appends(res)
        out["batched"]["batch"] = args.batch
        out["batched"]["log_check"] = check_log(url, res["done"])
    print(f"    {out['batched']['appends_per_s']} appends/s", flush=True)

    ctx = mp.get_context("spawn")
    out["request_ceiling"] = request_ceiling(backend, args.workers, ctx)
    print(
        f"[{backend.name}] requests that write one row and nothing else: {out['request_ceiling']}",
        flush=True,
    )
    out["intake"] = []

    def intake_measured(label: str, workers: int, together: bool, k: int = 1) -> dict[str, Any]:
        with ledger_db(backend, label) as (url, _):
            res = intake_run(url, master, events, workers, args.append_budget, ctx, together, k)
            res["log_check"] = check_log(url, res["logged"])
        out["intake"].append(res)
        return res

    for workers in sorted({1, args.workers} if backend.name == "postgresql" else {1}):
        print(
            f"[{backend.name}] (d) one event per request into the intake + commit, "
            f"{workers} request process(es) and a sequencer process ...",
            flush=True,
        )
        for together in (True, False):
            res = intake_measured(f"d{workers}", workers, together)
            print(
                f"    {'together' if together else 'apart'}: {res['appends_per_s']} accepted/s,"
                f" {res['logged_per_s']} in the log and checkpointed per second",
                flush=True,
            )
    if backend.name == "postgresql" and args.screen_events > 1:
        k = args.screen_events
        print(
            f"[{backend.name}] (d) {k} events per request (a consent screen asking {k} "
            f"purposes), {args.workers} request processes with a sequencer ...",
            flush=True,
        )
        res = intake_measured(f"d{args.workers}x{k}", args.workers, True, k)
        print(
            f"    together: {res['appends_per_s']} accepted/s ({res['requests_per_s']} "
            f"requests/s), {res['logged_per_s']} in the log and checkpointed per second",
            flush=True,
        )

    if backend.name == "postgresql" and args.workers > 1:
        print(f"[{backend.name}] (c) = (a) from {args.workers} worker processes ...", flush=True)
        out["bootstrap_race"] = bootstrap_race(backend, ctx, master, args.workers)
        print(
            f"    first appends on an empty log from {args.workers} processes at once: "
            f"{out['bootstrap_race']}",
            flush=True,
        )
        with ledger_db(backend, "c") as (url, _):
            # the log head exists before the workers start (see bootstrap_race)
            warm = per_request_appends(url, master, EventGen(9, 10, "warm").stream(1), 60)
            assert warm["done"] == 1, warm["errors"]
            manager = ctx.Manager()
            barrier = manager.Barrier(args.workers + 1)
            shares = [events[w :: args.workers] for w in range(args.workers)]
            with ctx.Pool(args.workers) as pool:
                pending = pool.map_async(
                    _worker, [(url, master, share, args.append_budget, barrier) for share in shares]
                )
                barrier.wait()  # every worker is connected; go
                parts = pending.get()
            raise_crashes(parts)
            merged = {
                "done": sum(p["done"] for p in parts),
                "start": min(p["start"] for p in parts),
                "end": max(p["end"] for p in parts),
                "latencies": [x for p in parts for x in p["latencies"]],
                "phases": {
                    k: [x for p in parts for x in p["phases"][k]]
                    for k in ("append", "checkpoint", "commit")
                },
                "errors": {},
            }
            for p in parts:
                for k, v in p["errors"].items():
                    merged["errors"][k] = merged["errors"].get(k, 0) + v
            out["concurrent"] = summarize_appends(merged)
            out["concurrent"]["workers"] = args.workers
            out["concurrent"]["per_worker_appends_per_s"] = [
                round(p["done"] / (p["end"] - p["start"]), 1) for p in parts
            ]
            out["concurrent"]["log_check"] = check_log(url, merged["done"] + 1)
            manager.shutdown()
        print(f"    {out['concurrent']['appends_per_s']} appends/s in total", flush=True)


def bootstrap_race(
    backend: Backend, ctx: Any, master: bytes, workers: int, rounds: int = 5
) -> dict[str, Any]:
    """``workers`` processes make the very first append of an empty log at the same moment."""
    errors: dict[str, int] = {}
    succeeded = failed_rounds = 0
    manager = ctx.Manager()
    with ctx.Pool(workers) as pool:
        for _ in range(rounds):
            with ledger_db(backend, "race") as (url, _):
                barrier = manager.Barrier(workers + 1)
                pending = pool.map_async(
                    _worker,
                    [
                        (url, master, EventGen(20 + w, 10, f"race{w}").stream(1), 60, barrier)
                        for w in range(workers)
                    ],
                )
                barrier.wait()
                parts = pending.get()
            round_errors = 0
            for p in parts:
                succeeded += p.get("done", 0)
                for k, v in p.get("errors", {}).items():
                    errors[k] = errors.get(k, 0) + v
                    round_errors += v
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


def baseline(backend: Backend, n: int = 500) -> dict[str, Any]:
    """What the database alone costs here: a round trip, and a one-row INSERT + COMMIT."""
    with ledger_db(backend, "base") as (_, engine), engine.connect() as conn:
        conn.execute(text("CREATE TABLE bench_scratch (id INTEGER PRIMARY KEY, v TEXT)"))
        conn.commit()
        t = time.monotonic()
        for _ in range(n):
            conn.execute(text("SELECT 1"))
        roundtrip = (time.monotonic() - t) / n
        conn.commit()
        t = time.monotonic()
        for i in range(n):
            conn.execute(text("INSERT INTO bench_scratch (id, v) VALUES (:i, 'x')"), {"i": i})
            conn.commit()
        commit = (time.monotonic() - t) / n
    return {
        "select1_roundtrip_ms": round(roundtrip * 1000, 3),
        "insert_commit_ms": round(commit * 1000, 3),
        "max_serial_commits_per_s": round(1 / commit),
    }


def _bare_requests(args: tuple[Any, ...]) -> dict[str, Any]:
    """Requests that write one row and nothing else: new session, pre-ping, INSERT, COMMIT."""
    url, n, barrier = args
    try:
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        with engine.connect():
            pass
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
        engine.dispose()
        return {"done": n, "start": start, "end": end}
    except Exception:  # noqa: BLE001
        return {"crash": traceback.format_exc()}


def request_ceiling(backend: Backend, workers: int, ctx: Any, n: int = 3000) -> dict[str, Any]:
    """The most one-row-writing requests per second this machine serves, the ledger aside:
    what (d) could reach at best with one event per request, from 1 and ``workers``
    processes sharing the machine with the database."""
    out: dict[str, Any] = {}
    for procs in sorted({1, workers} if backend.name == "postgresql" else {1}):
        with ledger_db(backend, f"ceil{procs}") as (url, engine):
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "CREATE TABLE bench_requests (id INTEGER PRIMARY KEY, "
                        "token VARCHAR(32) UNIQUE, body BYTEA)"
                        if backend.name == "sqlite"
                        else "CREATE TABLE bench_requests (id BIGSERIAL PRIMARY KEY, "
                        "token VARCHAR(32) UNIQUE, body BYTEA)"
                    )
                )
            manager = ctx.Manager()
            barrier = manager.Barrier(procs)
            with ctx.Pool(procs) as pool:
                parts = pool.map(_bare_requests, [(url, n // procs, barrier)] * procs)
            manager.shutdown()
            raise_crashes(parts)
            secs = max(p["end"] for p in parts) - min(p["start"] for p in parts)
            out[f"{procs}_proc_requests_per_s"] = round(sum(p["done"] for p in parts) / secs, 1)
    return out


def statements_per_unit(backend: Backend, master: bytes, batch: int) -> dict[str, Any]:
    """SQL statements one unit of work sends (counted with a cursor-execute listener)."""
    from sqlalchemy import event as sa_event

    counted: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        counted.append(" ".join(statement.split()[:4]))

    out: dict[str, Any] = {}
    with ledger_db(backend, "stmts") as (url, engine):
        keys = new_keys(master)
        factory = sessionmaker(engine, expire_on_commit=False)
        one = EventGen(30, 1, "stmts1").stream(3)  # one customer: first, known, then a new one
        new_customer = EventGen(31, 1, "stmts2").stream(1)
        events = EventGen(32, 5, "stmts").stream(batch)
        for label, chunk in (
            ("first_event", one[:1]),
            ("per_request", one[1:2]),
            ("per_request_new_customer", new_customer),
            (f"batch_of_{batch}", events),
        ):
            counted.clear()
            sa_event.listen(engine, "before_cursor_execute", listen)
            with factory() as session:
                for ev, det in chunk:
                    L.append(session, keys, ev, det)
                L.checkpoint(session, keys)
                session.commit()
            sa_event.remove(engine, "before_cursor_execute", listen)
            out[label] = {
                "statements": len(counted) + 1,  # + the COMMIT
                "kinds": sorted(
                    {k: counted.count(k) for k in counted}.items(), key=lambda kv: -kv[1]
                ),
            }
    return out


# -- 2. verify ------------------------------------------------------------------------------

EVENT_COLUMNS = [c.name for c in EventRow.__table__.columns]


def build_chunks(
    n: int, customers: int, master: bytes, private_key: Any, cp_every: int
) -> Iterator[tuple[list[dict], list[dict], list[dict]]]:
    """Rows of a ledger of ``n`` events, computed exactly as ``ledger.append`` would.

    Yields (event rows, checkpoint rows, new customer-key rows) per ``cp_every`` events.
    """
    gen = EventGen(seed=2, customers=customers)
    ckeys: dict[str, tuple[bytes, str]] = {}
    last: dict[str, str] = {}
    tree = merkle.CompactTree()
    rows: list[dict] = []
    new_customers: list[dict] = []
    for seq in range(1, n + 1):
        cid = gen.customer(gen.rng.randrange(customers))
        event, details = gen.event(cid, T0 + timedelta(seconds=seq))
        ck = ckeys.get(cid)
        if ck is None:  # as ledger.customer_key(create=True)
            key = new_key()
            subject = hashlib.sha256(key + b"|subject|" + cid.encode()).hexdigest()
            ck = ckeys[cid] = (key, subject)
            build_chunks.sample = cid  # type: ignore[attr-defined]
            new_customers.append(
                {"customer_id": cid, "subject": subject, "wrapped_key": wrap(master, key, cid)}
            )
        key, subject = ck
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
        rows.append({c: getattr(row, c) for c in EVENT_COLUMNS})
        if seq % cp_every == 0 or seq == n:
            cp = merkle.Checkpoint(ORIGIN, seq, tree.root())
            note = merkle.sign_checkpoint(cp, private_key, L.LOG_KEY_NAME)
            yield rows, [{"size": seq, "root": cp.root.hex(), "note": note}], new_customers
            rows, new_customers = [], []
    build_chunks.final_tree = tree  # type: ignore[attr-defined]


def head_values(tree: merkle.CompactTree) -> dict[str, Any]:
    """The log head row for a log built in bulk (size, and the stored right edge if any)."""
    values: dict[str, Any] = {"id": 1, "size": tree.size}
    if "frontier" in LogHead.__table__.columns:
        values["frontier"] = [h.hex() for h in tree.frontier]
    return values


def insert_rows(engine: Engine, table: Any, rows: list[dict]) -> None:
    if not rows:
        return
    with engine.begin() as conn:
        conn.execute(insert(table), rows)


def copy_events_pg(engine: Engine, rows: list[dict]) -> None:
    """PostgreSQL COPY (psycopg adapts the Python values; JSON as text)."""
    cols = EVENT_COLUMNS
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY consent_events ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([json.dumps(r[c]) if c == "claims" else r[c] for c in cols])
        raw.commit()
    finally:
        raw.close()


def bench_verify_and_states(
    backends: list[Backend], args: argparse.Namespace, results: dict[str, Any]
) -> None:
    n = args.verify_events
    customers = max(10, n // 10)
    master = L.random_master()
    keys = new_keys(master)
    dbs: dict[str, tuple[str, Engine]] = {}
    out = results["verify"]
    try:
        for b in backends:
            url = b.new_url("verify")
            engine = make_engine(url)
            dbs[b.name] = (url, engine)
            create_schema(engine)
        # the log signing key, made by the ledger in the first database, copied to the others
        first = next(iter(dbs.values()))[1]
        with Session(first) as session:
            private = L.log_key(session, keys)
            session.commit()
            krow = session.get(LogKeyRow, L.LOG_KEY_NAME)
            key_values = {
                "name": krow.name,
                "public_key": krow.public_key,
                "wrapped_private_key": krow.wrapped_private_key,
            }
        for _, engine in dbs.values():
            if engine is not first:
                insert_rows(engine, LogKeyRow.__table__, [key_values])

        print(
            f"[verify] building {n:,} events for {customers:,} customers ({', '.join(dbs)}) ...",
            flush=True,
        )
        compute = 0.0
        inserting = {name: 0.0 for name in dbs}
        t = time.monotonic()
        for rows, cps, custs in build_chunks(n, customers, master, private, args.checkpoint_every):
            compute += time.monotonic() - t
            for name, (_, engine) in dbs.items():
                t1 = time.monotonic()
                insert_rows(engine, CustomerKeyRow.__table__, custs)
                if name == "postgresql":
                    copy_events_pg(engine, rows)
                else:
                    insert_rows(engine, EventRow.__table__, rows)
                insert_rows(engine, CheckpointRow.__table__, cps)
                inserting[name] += time.monotonic() - t1
            if rows[-1]["seq"] % 100_000 == 0:
                print(
                    f"    {rows[-1]['seq']:>9,} rows  (compute {compute:.0f}s, insert "
                    + ", ".join(f"{k} {v:.0f}s" for k, v in inserting.items())
                    + ")",
                    flush=True,
                )
            t = time.monotonic()
        tree = build_chunks.final_tree  # type: ignore[attr-defined]
        for name, (_, engine) in dbs.items():
            insert_rows(engine, LogHead.__table__, [head_values(tree)])
            if name == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(text("VACUUM ANALYZE"))
            else:
                with engine.connect() as c:
                    c.execute(text("ANALYZE"))
                    c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        out["build"] = {
            "events": n,
            "customers": customers,
            "checkpoint_every": args.checkpoint_every,
            "compute_s": round(compute, 1),
            "insert_s": {k: round(v, 1) for k, v in inserting.items()},
        }

        for name, (_, engine) in dbs.items():
            engine.dispose()  # cold-ish: a new connection, as a verify job would have
            with Session(engine) as session:
                t = time.monotonic()
                report = L.verify(session, ORIGIN)
                secs = time.monotonic() - t
            out[name] = {
                "events": n,
                "seconds": round(secs, 2),
                "events_per_s": round(n / secs),
                "projected_1m_s": round(secs * 1_000_000 / n, 1),
                "ok": report.ok,
                "entries": report.entries,
                "checkpoints": report.checkpoints,
                "problems": [p.what for p in report.problems[:3]],
            }
            print(
                f"[{name}] verify {n:,} events: {secs:.1f}s ok={report.ok} "
                f"({report.entries:,} entries, {report.checkpoints} checkpoints)",
                flush=True,
            )
            if args.profile:
                out[name]["profile"] = profile_call(
                    lambda engine=engine: _verify(engine), args, f"verify-{name}"
                )

            # a sample of bulk-built customers resolves through the ledger to the same subject
            with Session(engine) as session:
                cid = build_chunks.sample  # type: ignore[attr-defined]
                ck = L.customer_key(session, keys, cid)
                assert ck is not None and ck.subject == session.get(CustomerKeyRow, cid).subject, (
                    "bulk-built customer keys do not resolve"
                )

            results["states"][name] = bench_states(engine, keys, args)
    finally:
        for name, (url, engine) in dbs.items():
            engine.dispose()
            b = next(b for b in backends if b.name == name)
            b.drop(url)


def _verify(engine: Engine) -> None:
    with Session(engine) as session:
        L.verify(session, ORIGIN)


# -- 3. decide ------------------------------------------------------------------------------

SHOP = [PURPOSES["account"], PURPOSES["marketing"], PURPOSES["analytics"]]
TOKEN_CLAIMS = frozenset(
    {"name", "email", "locale", "given_name", "phone_number", "purchase_history", "address"}
)  # 7 claims, one with no purpose
NOW = datetime(2027, 1, 15, 10, tzinfo=UTC)


def token_states(customer_id: str) -> dict[str, ConsentState]:
    def st(p: Purpose, status: str, claims: set[str], **kw: Any) -> ConsentState:
        return ConsentState(
            customer_id=customer_id,
            recipient_id="shop",
            purpose_id=p.id,
            purpose_version=p.version,
            status=status,
            claims=frozenset(claims),
            since=T0,
            **kw,
        )

    return {
        "account": st(PURPOSES["account"], "active", {"locale"}),
        "marketing": st(
            PURPOSES["marketing"],
            "active",
            {"email", "given_name"},
            expires_at=T0 + timedelta(days=730),
        ),
        "analytics": st(PURPOSES["analytics"], "active", set()),
    }


def bench_decide(args: argparse.Namespace) -> dict[str, Any]:
    request = ReleaseRequest("cust-bench", "shop", TOKEN_CLAIMS)
    states = token_states("cust-bench")
    decision = decide(request, SHOP, states, NOW)
    number = args.decide_calls
    timer = timeit.Timer(lambda: decide(request, SHOP, states, NOW))
    runs = timer.repeat(repeat=3, number=number)
    per_call = [r / number * 1e6 for r in runs]
    return {
        "calls_per_run": number,
        "runs": 3,
        "us_per_call_runs": [round(x, 2) for x in per_call],
        "us_per_call": round(min(per_call), 2),
        "us_per_call_mean_of_runs": round(statistics.mean(per_call), 2),
        "purposes": len(SHOP),
        "claims": len(TOKEN_CLAIMS),
        "released": decision.released,
        "withheld": decision.withheld,
    }


def bench_states(engine: Engine, keys: L.LedgerKeys, args: argparse.Namespace) -> dict[str, Any]:
    """One customer with 20 events on the big log: states from the DB, then decide()."""
    gen = EventGen(seed=3, customers=1, prefix="states")
    cid = gen.customer(0)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        cp = L.latest_checkpoint(session)
        size = cp.size if cp else 0
    pairs = [
        ("shop", "account"),
        ("shop", "marketing"),
        ("shop", "analytics"),
        ("garage", "garage_booking"),
        ("newsletter", "marketing"),
    ]
    append_lat = []
    for i in range(20):  # appended through the ledger, one request each
        event, details = gen.event(
            cid,
            T0 + timedelta(seconds=3 * (size + i + 1)),
            pair=pairs[i % len(pairs)],
            kind=EventType.GIVEN if i < 5 else None,
        )
        t = time.monotonic()
        with factory() as session:
            L.append(session, keys, event, details)
            L.checkpoint(session, keys)
            session.commit()
        append_lat.append(time.monotonic() - t)
    with factory() as session:
        assert len(L.customer_rows(session, keys, cid)) == 20

    request = ReleaseRequest(cid, "shop", TOKEN_CLAIMS)

    def once() -> tuple[float, float]:
        t = time.perf_counter()
        with factory() as session:
            by_pair = L.states(session, keys, cid, recipient_id="shop")
        t1 = time.perf_counter()
        decide(request, SHOP, {p: s for (_, p), s in by_pair.items()}, NOW)
        return t1 - t, time.perf_counter() - t

    for _ in range(50):
        once()
    states_only, total = [], []
    for _ in range(args.states_calls):
        a, b = once()
        states_only.append(a)
        total.append(b)
    return {
        "customer_events": 20,
        "log_size": size + 20,
        "calls": args.states_calls,
        "ms_mean": round(statistics.mean(total) * 1000, 3),
        "ms_p50": round(pct(total, 0.5) * 1000, 3),
        "ms_p95": round(pct(total, 0.95) * 1000, 3),
        "states_ms_mean": round(statistics.mean(states_only) * 1000, 3),
        "append_on_big_log_ms_mean": round(statistics.mean(append_lat) * 1000, 2),
    }


# -- profiling ------------------------------------------------------------------------------

GROUPS = [
    ("psycopg", "psycopg driver"),
    ("sqlalchemy/orm", "SQLAlchemy ORM"),
    ("sqlalchemy/engine", "SQLAlchemy engine"),
    ("sqlalchemy/sql", "SQLAlchemy SQL"),
    ("sqlalchemy", "SQLAlchemy other"),
    ("cryptography", "cryptography"),
    ("consent/merkle", "consent.merkle"),
    ("consent/sealing", "consent.sealing"),
    ("consent/ledger", "consent.ledger"),
    ("consent/", "consent other"),
    ("json", "json"),
    ("datetime", "datetime"),
    ("idp/", "idp"),
]


def profile_call(fn: Callable[[], Any], args: argparse.Namespace, name: str) -> dict[str, Any]:
    prof = cProfile.Profile()
    t = time.monotonic()
    prof.enable()
    fn()
    prof.disable()
    wall = time.monotonic() - t
    path = args.results_dir / f"{name}.prof"
    prof.dump_stats(path)
    stats = pstats.Stats(prof)
    groups: dict[str, float] = {}
    top = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        label = "builtins / C"
        if filename == "~":
            label = _builtin_group(func)
        else:
            for needle, g in GROUPS:
                if needle in filename.replace(os.sep, "/"):
                    label = g
                    break
            else:
                label = "other Python"
        groups[label] = groups.get(label, 0.0) + tottime
        top.append((tottime, cumtime, ncalls, f"{Path(filename).name}:{line}({func})"))
    total = sum(groups.values()) or 1.0
    top.sort(reverse=True)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
    (args.results_dir / f"{name}.txt").write_text(buf.getvalue())
    return {
        "wall_s_profiled": round(wall, 2),
        "file": str(path),
        "self_time_share": {
            k: round(v / total, 3) for k, v in sorted(groups.items(), key=lambda kv: -kv[1])
        },
        "top_self": [
            {"func": f, "tottime_s": round(tt, 3), "cumtime_s": round(ct, 3), "calls": nc}
            for tt, ct, nc, f in top[:15]
        ],
    }


def _builtin_group(func: str) -> str:
    for needle, g in (
        ("sqlite3", "sqlite3 driver"),
        ("psycopg", "psycopg driver"),
        ("_hashlib", "hashlib"),
        ("sha256", "hashlib"),
        ("json", "json"),
        ("cryptography", "cryptography"),
        ("AESGCM", "cryptography"),
        ("ed25519", "cryptography"),
        ("isoformat", "datetime"),
        ("fromhex", "bytes.hex/fromhex"),
        ("hex", "bytes.hex/fromhex"),
        ("posix.urandom", "os.urandom"),
    ):
        if needle in func:
            return g
    return "builtins / C"


# -- report ---------------------------------------------------------------------------------


def environment(args: argparse.Namespace, backends: list[Backend]) -> dict[str, Any]:
    env: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "loadavg_at_start": os.getloadavg(),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    with suppress(OSError):
        env["git_head"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    # consent/ changes under us: record exactly which code was measured
    env["consent_sha256"] = consent_hashes()
    if any(b.name == "postgresql" for b in backends):
        engine = create_engine(args.pg_url)
        with engine.connect() as conn:
            env["postgresql"] = conn.scalar(text("SHOW server_version"))
            env["postgresql_settings"] = {
                s: conn.scalar(text(f"SHOW {s}"))
                for s in ("synchronous_commit", "fsync", "shared_buffers", "TimeZone")
            }
        engine.dispose()
    return env


def consent_hashes() -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16]
        for p in sorted((ROOT / "consent").glob("*.py"))
    }


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pg = results["appends"].get("postgresql", {})
    if pg:
        best = {
            k: v["appends_per_s"]
            for k, v in pg.items()
            if isinstance(v, dict) and "appends_per_s" in v
        }
        out["append_2000_per_s_postgresql"] = {
            "goal": GOALS["append_per_s_postgresql"],
            "measured": best,
            "met_per_request": (best.get("per_request") or 0) >= 2000,
            "met_concurrent": (best.get("concurrent") or 0) >= 2000,
            "met_batched": (best.get("batched") or 0) >= 2000,
        }
        runs = pg.get("intake") or []
        single = [r for r in runs if r["together"] and r.get("events_per_request", 1) == 1]
        verdict = out["append_2000_per_s_postgresql"]
        if single:
            top = max(single, key=lambda r: r["logged_per_s"])
            ceiling = (pg.get("request_ceiling") or {}).get(f"{top['workers']}_proc_requests_per_s")
            verdict["intake"] = {
                "workers": top["workers"],
                "accepted_per_s": top["appends_per_s"],
                "logged_per_s": top["logged_per_s"],
                "bare_one_row_requests_per_s": ceiling,
            }
            verdict["met_per_request_via_intake"] = (
                min(top["appends_per_s"], top["logged_per_s"]) >= 2000
            )
        screens = [r for r in runs if r["together"] and r.get("events_per_request", 1) > 1]
        if screens:
            top = max(screens, key=lambda r: r["logged_per_s"])
            verdict["consent_screen"] = {
                "events_per_request": top["events_per_request"],
                "requests_per_s": top["requests_per_s"],
                "logged_per_s": top["logged_per_s"],
                "met": min(top["appends_per_s"], top["logged_per_s"]) >= 2000,
            }
        alone = [r for r in runs if not r["together"]]
        if alone:
            log_rate = max(r["logged_per_s"] for r in alone)
            # the serial part: one sequencer moving queued events into the signed log
            verdict["log"] = {"sequencer_alone_per_s": log_rate, "met": log_rate >= 2000}
    for name in ("sqlite", "postgresql"):
        v = results["verify"].get(name)
        if v:
            out[f"verify_1m_under_60s_{name}"] = {
                "goal_s": GOALS["verify_1m_s"],
                "events": v["events"],
                "seconds": v["seconds"],
                "projected_1m_s": v["projected_1m_s"],
                "ok": v["ok"],
                "met": v["ok"] and v["projected_1m_s"] < 60 and v["events"] >= 1_000_000,
            }
    d = results.get("decide")
    if d:
        out["decide_under_200us"] = {
            "goal_us": GOALS["decide_us"],
            "measured_us": d["us_per_call"],
            "met": d["us_per_call"] < GOALS["decide_us"],
        }
    return out


def print_table(results: dict[str, Any]) -> None:
    lines = [("measurement", "backend", "result", "goal", "met")]
    for name, modes in results["appends"].items():
        for mode, label in (
            ("per_request", "append: 1 event+checkpoint+commit / txn"),
            ("batched", "append: 100 events+1 checkpoint / txn"),
            ("concurrent", "append: (a) x workers"),
        ):
            r = modes.get(mode)
            if not r:
                continue
            if mode == "concurrent":
                label = f"append: (a) x {r['workers']} processes"
            goal = ">= 2000/s" if name == "postgresql" else "-"
            met = ("yes" if r["appends_per_s"] >= 2000 else "NO") if name == "postgresql" else ""
            lines.append(
                (
                    label,
                    name,
                    f"{r['appends_per_s']:,.0f}/s  (p50 txn "
                    f"{r['txn_ms_p50']:.2f} ms, {r['events']:,} ev)",
                    goal,
                    met,
                )
            )
        for key, rate in (modes.get("request_ceiling") or {}).items():
            lines.append(
                (
                    f"bare requests writing 1 row, {key.split('_')[0]} proc (no ledger)",
                    name,
                    f"{rate:,.0f}/s",
                    "-",
                    "",
                )
            )
        for r in modes.get("intake") or []:
            goal = ">= 2000/s" if name == "postgresql" else "-"
            rate = min(r["appends_per_s"], r["logged_per_s"])
            met = ("yes" if rate >= 2000 else "NO") if name == "postgresql" else ""
            how = "with" if r["together"] else "then"
            k = r.get("events_per_request", 1)
            if not r["together"] and name == "postgresql":
                lines.append(
                    (
                        "log: the sequencer alone, draining what (d) queued",
                        name,
                        f"{r['logged_per_s']:,.0f}/s into the signed log",
                        goal,
                        "yes" if r["logged_per_s"] >= 2000 else "NO",
                    )
                )
                met = ""
            lines.append(
                (
                    f"append: {k} event/request via intake, {r['workers']} proc {how} sequencer",
                    name,
                    f"{r['appends_per_s']:,.0f}/s accepted, {r['logged_per_s']:,.0f}/s logged "
                    f"(p50 request {r['txn_ms_p50']:.2f} ms, {r['logged']:,} ev)",
                    goal,
                    met,
                )
            )
    b = results["verify"].get("build")
    if b:
        lines.append(
            (
                "verify: bulk build (compute / insert)",
                "-",
                f"{b['compute_s']}s / " + ", ".join(f"{k} {v}s" for k, v in b["insert_s"].items()),
                "",
                "",
            )
        )
    for name in ("sqlite", "postgresql"):
        v = results["verify"].get(name)
        if v:
            met = "yes" if v["ok"] and v["projected_1m_s"] < 60 else "NO"
            lines.append(
                (
                    f"verify {v['events']:,} events (ok={v['ok']})",
                    name,
                    f"{v['seconds']:.1f}s ({v['events_per_s']:,}/s; "
                    f"1M -> {v['projected_1m_s']:.1f}s)",
                    "< 60 s per 1M",
                    met,
                )
            )
    d = results.get("decide")
    if d:
        lines.append(
            (
                f"decide(): {d['purposes']} purposes, {d['claims']} claims",
                "-",
                f"{d['us_per_call']:.1f} us/call",
                "< 200 us",
                "yes" if d["us_per_call"] < 200 else "NO",
            )
        )
    for name, s in results["states"].items():
        lines.append(
            (
                "states(20 events) from DB + decide()",
                name,
                f"{s['ms_mean']:.3f} ms mean (p95 {s['ms_p95']:.3f}; states "
                f"{s['states_ms_mean']:.3f})",
                "-",
                "",
            )
        )
        lines.append(
            (
                f"append+checkpoint txn at log size ~{s['log_size']:,}",
                name,
                f"{s['append_on_big_log_ms_mean']:.2f} ms",
                "-",
                "",
            )
        )
    widths = [max(len(str(row[i])) for row in lines) for i in range(5)]
    sep = "  ".join("-" * w for w in widths)
    print()
    for i, row in enumerate(lines):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print(sep)
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--events", type=int, default=20_000, help="events per append measurement (default 20,000)"
    )
    parser.add_argument(
        "--verify-events",
        type=int,
        default=1_000_000,
        help="size of the ledger to verify (default 1,000,000; 0 skips)",
    )
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--screen-events",
        type=int,
        default=3,
        help="events per request in the consent-screen run of (d) (default 3; 1 skips it)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="processes for the concurrent PostgreSQL run (default 4)",
    )
    parser.add_argument(
        "--append-budget",
        type=float,
        default=60.0,
        help="stop an append measurement after this many seconds",
    )
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--decide-calls", type=int, default=100_000)
    parser.add_argument("--states-calls", type=int, default=1000)
    parser.add_argument(
        "--skip", action="append", default=[], choices=["appends", "verify", "decide"]
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile (cProfile) the per-request append and verify; "
        "writes .prof/.txt next to the JSON",
    )
    parser.add_argument("--profile-appends", type=int, default=2000)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL")
        or os.environ.get("IDP_TEST_DATABASE_URL")
        or DEFAULT_PG,
    )
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON path (default: <results-dir>/ledger-<date>.json)",
    )
    args = parser.parse_args()
    if args.pg_url.startswith("postgresql://"):
        args.pg_url = "postgresql+psycopg://" + args.pg_url.removeprefix("postgresql://")
    args.results_dir.mkdir(parents=True, exist_ok=True)

    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    tmp = Path(tempfile.mkdtemp(prefix="avain-ledger-bench-"))
    backends = [Backend(n, args.pg_url, tmp) for n in names]
    results: dict[str, Any] = {
        "environment": environment(args, backends),
        "appends": {},
        "verify": {},
        "states": {},
        "decide": {},
    }
    started = time.monotonic()
    try:
        if "decide" not in args.skip:
            results["decide"] = bench_decide(args)
            print(f"[decide] {results['decide']['us_per_call']} us/call", flush=True)
        if "appends" not in args.skip:
            for b in backends:
                bench_appends(b, args, results)
        if "verify" not in args.skip and args.verify_events > 0:
            bench_verify_and_states(backends, args, results)
    finally:
        for b in backends:
            b.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    results["environment"]["total_s"] = round(time.monotonic() - started, 1)
    results["environment"]["loadavg_at_end"] = os.getloadavg()
    changed = sorted(
        k
        for k, v in consent_hashes().items()
        if results["environment"]["consent_sha256"].get(k) != v
    )
    results["environment"]["consent_changed_during_run"] = changed
    if changed:
        print(
            f"WARNING: consent/{', '.join(changed)} changed while the benchmark ran; "
            "worker processes may have measured the newer code",
            file=sys.stderr,
        )
    results["goals"] = verdicts(results)
    print_table(results)
    out = args.out or args.results_dir / f"ledger-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(
        f"results: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
        f"(total {results['environment']['total_s']}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
