"""Withdrawal-to-delivery latency of Shared Signals (goal: p99 < 2 s with a live receiver).

A real Avain app (``idp.create_app``, migrated database, its sequencer thread running as
under ``idp serve``) and a real RFC 8935 receiver on a localhost port, registered as a push
stream of a partner client. For each of ``--customers`` customers a consent to the client
is recorded (not timed); then each customer withdraws it through the account service
(``idp.account.sharing.change``, what the account page calls), and the clock runs from just
before that call until the receiver has the SET in hand: the ledger entry, the SET queued
in the same transaction, the commit, the push thread, the ledger position, the signature
and the HTTP POST. ``--concurrency`` customers withdraw at once (one thread each).

    .venv/bin/python -m bench.ssf_bench                       # SQLite, 200 withdrawals
    .venv/bin/python -m bench.ssf_bench --backend postgresql --customers 500 --concurrency 4

Results are printed and written to ``bench/results/ssf-<date>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.ledger.backends import DEFAULT_PG, Backend
from idp import create_app
from idp.account import sharing
from idp.auth import accounts
from idp.db import new_session, utcnow
from idp.events.signals import avain_event_type
from idp.ledger import consents, sequencer
from idp.ledger.context import consent_context
from idp.migrate import upgrade
from idp.models import Client, SsfStream, User
from idp.models.ssf import PUSH
from idp.oauth.clients import ClientSpec, create
from idp.outbound import policy_from
from idp.subjects import subject

RESULTS = Path(__file__).resolve().parent / "results"


class Receiver:
    """Notes the arrival time of each SET by its subject's ``sub``."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.events: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                at = time.perf_counter()
                part = body.split(b".")[1]
                claims = json.loads(_b64(part))
                sub = claims["sub_id"]["sub"]
                with receiver.lock:
                    receiver.arrived.setdefault(sub, at)
                    waiting = receiver.events.setdefault(sub, threading.Event())
                waiting.set()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, sub: str, timeout: float) -> float | None:
        with self.lock:
            waiting = self.events.setdefault(sub, threading.Event())
        if not waiting.wait(timeout):
            return None
        return self.arrived[sub]


def _b64(part: bytes) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))


def _setup(app: Any, receiver: Receiver, customers: int) -> tuple[str, list[tuple[str, str]]]:
    """A partner client with a push stream to the receiver, and customers who consented."""
    issuer = app.config["AVAIN"].issuer
    with app.app_context(), new_session(app) as s:
        client, _ = create(
            s,
            ClientSpec(
                name="Bench partner",
                redirect_uris=["https://partner.example/cb"],
                grant_types=["authorization_code", "client_credentials"],
            ),
            policy_from(app.config["AVAIN"]),
        )
        s.add(
            SsfStream(
                id="bench-stream",
                client_id=client.client_id,
                delivery_method=PUSH,
                endpoint_url=receiver.url,
                events_requested=[avain_event_type(issuer, "consent-withdrawn")],
                events_delivered=[avain_event_type(issuer, "consent-withdrawn")],
                status="enabled",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        s.commit()
        ctx = consent_context()
        password = secrets.token_urlsafe(16)
        people = []
        for i in range(customers):
            user = accounts.register(s, f"bench{i}@example.com", f"Bench {i}", password)
            (purpose,) = consents.purposes_for(s, ctx, client)
            ask = consents.Ask(purpose, sorted(purpose.necessary()), sorted(purpose.optional()))
            consents.record(
                s,
                ctx,
                user,
                client,
                {purpose.id: set()},
                asked=[ask],
                language="en",
                session_id=None,
                now=utcnow(),
            )
            s.commit()
            people.append((user.id, subject(s, user, client)))
        return client.client_id, people


def _withdraw(app: Any, client_id: str, user_id: str) -> None:
    with app.app_context(), new_session(app) as s:
        sharing.change(
            s,
            consent_context(),
            app.config["AVAIN"].issuer,
            s.get(User, user_id),
            s.get(Client, client_id),
            f"signin:{client_id}",
            "withdraw",
            language="en",
            session_id=None,
            now=utcnow(),
        )
        s.commit()


def run(url: str, customers: int, concurrency: int, tmp: Path) -> dict[str, Any]:
    upgrade(url)
    receiver = Receiver()
    app = create_app(
        {
            "database_url": url,
            "instance_path": str(tmp / "instance"),
            "secret_key": "bench-secret-" + "b" * 32,
            "issuer": "http://localhost:5000",
            "outbound_allow_hosts": ["localhost"],
            "outbound_allow_http": True,
        }
    )
    sequencer.start(app)  # as under `idp serve`
    try:
        client_id, people = _setup(app, receiver, customers)

        def one(person: tuple[str, str]) -> float | None:
            user_id, sub = person
            start = time.perf_counter()
            _withdraw(app, client_id, user_id)
            arrived = receiver.wait(sub, timeout=30.0)
            return None if arrived is None else arrived - start

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            latencies = list(pool.map(one, people))
        wall = time.perf_counter() - started
    finally:
        sequencer.stop(app)
        for thread in app.extensions.get("avain.outbox_threads", []):
            thread.join(timeout=10)
        app.extensions["avain.engine"].dispose()
        receiver.server.shutdown()
    got = sorted(x for x in latencies if x is not None)
    lost = len(latencies) - len(got)

    def pct(p: float) -> float:
        return got[min(len(got) - 1, int(p / 100 * len(got)))] * 1000

    return {
        "withdrawals": len(latencies),
        "lost": lost,
        "concurrency": concurrency,
        "wall_seconds": round(wall, 3),
        "ms": {
            "min": round(got[0] * 1000, 1),
            "p50": round(statistics.median(got) * 1000, 1),
            "p95": round(pct(95), 1),
            "p99": round(pct(99), 1),
            "max": round(got[-1] * 1000, 1),
        },
        "goal_p99_under_2s": lost == 0 and pct(99) < 2000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL")
        or os.environ.get("IDP_TEST_DATABASE_URL")
        or DEFAULT_PG,
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        backend = Backend(args.backend, args.pg_url, tmp)
        url = backend.new_url("ssf")
        try:
            result = run(url, args.customers, args.concurrency, tmp)
        finally:
            backend.drop_all()
    result["backend"] = args.backend
    result["python"] = platform.python_version()
    result["load_average"] = os.getloadavg()
    ms = result["ms"]
    verdict = "met" if result["goal_p99_under_2s"] else "MISSED"
    print(
        f"{args.backend}: {result['withdrawals']} withdrawals, concurrency {args.concurrency}, "
        f"lost {result['lost']}: p50 {ms['p50']} ms, p95 {ms['p95']} ms, p99 {ms['p99']} ms, "
        f"max {ms['max']} ms (goal p99 < 2000 ms: {verdict})"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"ssf-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
