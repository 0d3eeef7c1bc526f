"""``decide()`` alone, and "states + decide" from the database.

**decide()**: a token for the recipient ``shop``: 3 purposes (contract, consent, legitimate
interest), 7 requested claims (one with no purpose), a state for each purpose; ``timeit``, 3
runs of ``--decide-calls``; the headline is the best run's mean µs per call.

**states + decide**: on the verify ledger, one customer gets 20 events through
``ledger.append`` (one request each; their mean latency is "append+checkpoint at log size
~N"), then ``--states-calls`` times: a new session, ``ledger.states(..., recipient_id="shop")``,
then ``decide()``. Mean, p50, p95 in ms, and the part spent in ``states``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bench.ledger.runs import ms, pct
from bench.ledger.workload import PURPOSES, T0, EventGen
from consent import ConsentState, EventType, Purpose, ReleaseRequest, decide, ledger as L

SHOP = [PURPOSES["account"], PURPOSES["marketing"], PURPOSES["analytics"]]
TOKEN_CLAIMS = frozenset(
    {"name", "email", "locale", "given_name", "phone_number", "purchase_history", "address"}
)  # 7 claims, one with no purpose
NOW = datetime(2027, 1, 15, 10, tzinfo=UTC)
STATES_PAIRS = [
    ("shop", "account"),
    ("shop", "marketing"),
    ("shop", "analytics"),
    ("garage", "garage_booking"),
    ("newsletter", "marketing"),
]


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
    append_lat = append_customer_events(factory, keys, gen, cid, size)
    with factory() as session:
        assert len(L.customer_rows(session, keys, cid)) == 20
    once = states_then_decide(factory, keys, cid)
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
        "ms_mean": ms(statistics.mean(total)),
        "ms_p50": ms(pct(total, 0.5)),
        "ms_p95": ms(pct(total, 0.95)),
        "states_ms_mean": ms(statistics.mean(states_only)),
        "append_on_big_log_ms_mean": ms(statistics.mean(append_lat), 2),
    }


def append_customer_events(
    factory: sessionmaker[Session], keys: L.LedgerKeys, gen: EventGen, cid: str, size: int
) -> list[float]:
    """20 events of one customer (5 grants first) through the ledger, one request each;
    the latency of each."""
    latencies = []
    for i in range(20):
        event, details = gen.event(
            cid,
            T0 + timedelta(seconds=3 * (size + i + 1)),
            pair=STATES_PAIRS[i % len(STATES_PAIRS)],
            kind=EventType.GIVEN if i < 5 else None,
        )
        t = time.monotonic()
        with factory() as session:
            L.append(session, keys, event, details)
            L.checkpoint(session, keys)
            session.commit()
        latencies.append(time.monotonic() - t)
    return latencies


def states_then_decide(
    factory: sessionmaker[Session], keys: L.LedgerKeys, cid: str
) -> Callable[[], tuple[float, float]]:
    """One call: a new session, the customer's states for ``shop``, then ``decide()``;
    returns the seconds in ``states`` and in all."""
    request = ReleaseRequest(cid, "shop", TOKEN_CLAIMS)

    def once() -> tuple[float, float]:
        t = time.perf_counter()
        with factory() as session:
            by_pair = L.states(session, keys, cid, recipient_id="shop")
        t1 = time.perf_counter()
        decide(request, SHOP, {p: s for (_, p), s in by_pair.items()}, NOW)
        return t1 - t, time.perf_counter() - t

    return once
