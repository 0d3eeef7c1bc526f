"""A whole run: for each backend and customer count, a fresh database, the seed, the SQL
counts in-process, then ``idp serve`` and two measured runs per request kind; the table
and the JSON (``bench/results/http-<date>.json``, with the environment)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http import report, seed, server as srv, statements
from bench.http.agents import HttpAgent, TestAgent
from bench.http.kinds import Setup, sign_in
from bench.http.load import Generator, Outcome, Plan
from bench.http.options import parse_args
from bench.ledger.backends import Backend
from bench.ledger.environment import ROOT, close_environment, environment
from bench.ledger.runs import pct
from idp import create_app


def _app(env: dict[str, str]) -> Any:
    """The in-process app on the run's database, with the server's settings (the same
    secret key: it decrypts the signing keys)."""
    return create_app(
        {
            "database_url": env["IDP_DATABASE_URL"],
            "secret_key": env["IDP_SECRET_KEY"],
            "issuer": env["IDP_ISSUER"],
            "instance_path": env["IDP_INSTANCE_PATH"],
            "purposes_file": env["IDP_PURPOSES_FILE"],
            "redis_url": "",
        }
    )


def _measured(server: srv.Server, gen: Generator, plan: Plan) -> tuple[Outcome, float]:
    """One run; the server's CPU seconds over it."""
    gen.prepare(plan)
    before = server.cpu_seconds()
    out = gen.go(timeout=plan.seconds + 600)
    used = server.cpu_seconds() - before
    if out.error:
        raise RuntimeError(f"{plan.kind} at {plan.connections} connections: {out.error}")
    return out, used


def _kind(
    server: srv.Server,
    gen: Generator,
    setup: Setup,
    name: str,
    args: argparse.Namespace,
    idle: float,
) -> dict[str, Any]:
    units = min(args.requests, max(10, args.requests // 5)) if name == "login" else args.requests

    def plan(connections: int, **how: Any) -> Plan:
        warmup = max(1, args.warmup // connections)
        return Plan(server.host, server.port, name, setup, connections, warmup=warmup, **how)

    low, low_cpu = _measured(server, gen, plan(args.cpu_concurrency, units=units))
    high, high_cpu = _measured(server, gen, plan(args.concurrency, seconds=args.duration))
    lat = high.latencies
    return {
        "cpu_run": {
            "connections": args.cpu_concurrency,
            "units": low.units,
            "http_requests": low.requests,
            "wall_s": round(low.wall_s, 2),
            "server_cpu_ms_per_unit": round(low_cpu * 1000 / low.units, 3),
            # what the idle server would have used over the same time taken off
            "server_cpu_ms_per_unit_less_idle": round(
                (low_cpu * 1000 - idle * low.wall_s) / low.units, 3
            ),
            "generator_cpu_ms_per_unit": round(low.cpu_s * 1000 / low.units, 3),
            "latency_ms_p50": round(statistics.median(low.latencies) * 1000, 2),
        },
        "latency_run": {
            "connections": args.concurrency,
            "units": high.units,
            "http_requests": high.requests,
            "wall_s": round(high.wall_s, 2),
            "units_per_s": round(high.units / high.wall_s, 1),
            "latency_ms_p50": round(statistics.median(lat) * 1000, 2),
            "latency_ms_p99": round(pct(lat, 0.99) * 1000, 2),
            "latency_ms_max": round(max(lat) * 1000, 2),
            "server_cpu_ms_per_unit": round(high_cpu * 1000 / high.units, 3),
            "server_cores": round(high_cpu / high.wall_s, 2),
            "generator_cores": round(high.cpu_s / high.wall_s, 2),
            "loadavg_1m_after": os.getloadavg()[0],
        },
    }


SOAK_KINDS = ("userinfo", "client_credentials", "introspection", "refresh")


def _soak(server: srv.Server, setup: Setup, args: argparse.Namespace) -> list[dict[str, Any]]:
    """``args.soak`` more units, the token-side kinds in turn at ``args.concurrency``
    connections, in ten steps; the workers' resident memory after each: it should level
    off, not climb with the requests served."""
    step = max(len(SOAK_KINDS), args.soak // 10)
    done, out = 0, []
    gen = Generator()
    try:
        while done < args.soak:
            for name in SOAK_KINDS:
                units = step // len(SOAK_KINDS)
                plan = Plan(server.host, server.port, name, setup, args.concurrency, units=units)
                gen.prepare(plan)
                outcome = gen.go(timeout=3600)
                if outcome.error:
                    raise RuntimeError(f"soak {name}: {outcome.error}")
                done += outcome.requests
            rss = server.rss_mb()
            workers = [mb for pid, mb in rss.items() if pid != server.process.pid]
            print(f"  soak: {done:,} requests, worker RSS MB {workers}", flush=True)
            out.append({"requests": done, "worker_rss_mb": workers})
    finally:
        gen.close()
    return out


def _idle(server: srv.Server, seconds: float) -> float:
    """The server's CPU ms per second with no requests (its background threads)."""
    before = server.cpu_seconds()
    time.sleep(seconds)
    return round((server.cpu_seconds() - before) * 1000 / seconds, 2)


def bench_case(
    backend: Backend, customers: int, tokens: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One backend at one size, on a database made for it and dropped after (also on
    errors)."""
    result: dict[str, Any] = {"backend": backend.name, "customers": customers, "tokens": tokens}
    url = backend.new_url("http")
    try:
        with tempfile.TemporaryDirectory(prefix="avain-bench-http-") as tmp_name:
            tmp = Path(tmp_name)
            port = srv.free_port()
            env = srv.environment(url, tmp, port)
            t0 = time.perf_counter()
            srv.idp(env, "db", "upgrade")
            result["upgrade_s"] = round(time.perf_counter() - t0, 1)
            app = _app(env)
            try:
                setup = seed.client_and_customer(app, args.client, args.access_token_alg)
                print(f"  seeding {customers:,} customers and {tokens:,} tokens ...", flush=True)
                engine = app.extensions["avain.engine"]
                result["seed"] = seed.bulk(engine, customers, tokens, setup.client_id)
                print(f"  seeded: {result['seed']}", flush=True)
                setup.login_emails = seed.login_emails(customers)
                setup.login_password = seed.CUSTOMERS_PASSWORD
                setup.passkeys = seed.passkeys(app, customers)
                setup.origin = env["IDP_ISSUER"]
                browser = TestAgent(app.test_client())
                sign_in(browser, setup)
                result["sql"] = statements.count(app, setup, browser)
            finally:
                app.extensions["avain.engine"].dispose()
            result["argon2id_verification"] = statements.argon2_verification()
            extra = tuple(args.serve_options)
            result["serve_options"] = list(extra)
            with srv.serve(env, port, args.workers, tmp, extra) as server:
                agent = HttpAgent(server.host, server.port)
                sign_in(agent, setup)
                agent.close()
                setup.sso_cookies = dict(agent.cookies)
                result["idle_server_cpu_ms_per_s"] = _idle(server, args.idle)
                result["kinds"] = {}
                gen = Generator()
                try:
                    for name in args.kinds:
                        print(f"  {name} ...", flush=True)
                        idle = result["idle_server_cpu_ms_per_s"]
                        result["kinds"][name] = _kind(server, gen, setup, name, args, idle)
                finally:
                    gen.close()
                result["rss_mb"] = list(server.rss_mb().values())
                if args.soak:
                    result["soak"] = _soak(server, setup, args)
    finally:
        backend.drop(url)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        print(report.tables(json.loads(args.report.read_text())))
        return 0
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    env = environment(args, postgresql="postgresql" in names)
    env["cpu_count"] = os.cpu_count()
    started = time.perf_counter()
    results: dict[str, Any] = {"environment": env, "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        for customers in args.customers:
            tokens = customers if args.tokens is None else args.tokens
            for name in names:
                backend = Backend(name, args.pg_url, Path(tmp))
                print(f"\n{name}, {customers:,} customers, {tokens:,} tokens", flush=True)
                load = os.getloadavg()
                try:
                    case = bench_case(backend, customers, tokens, args)
                finally:
                    backend.drop_all()
                case["loadavg_at_start"] = load
                case["loadavg_at_end"] = os.getloadavg()
                results["cases"].append(case)
                how = {k: getattr(args, k) for k in ("workers", "cpu_concurrency", "concurrency")}
                print(report.table(case, how), flush=True)
    close_environment(env, time.perf_counter() - started)
    out = args.out or (args.results_dir or ROOT / "bench" / "results") / (
        f"http-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten to {out}")
    return 0
