"""Two versions of Avain side by side: ``python -m bench.http.pair --against REV``.

The CPU a request costs here moves by 10 to 30 per cent from one hour to the next (the
Argon2id reference of ``bench.http`` has read from 19 to 37 ms on the same machine), so a
change is measured against the code before it at the same moment, not against an older
table. This checkout and ``REV`` (exported with ``git archive``) are served at once, each
by its own ``idp serve``, on one PostgreSQL database (migrated and seeded by this
checkout: the older code must read the newer schema, which holds for a change that adds
no migration). Each round sends every kind, in random order, to both servers, in random
order, ``--units`` units from one connection, and reads each server's CPU from ``/proc``
as ``bench.http`` does. The table gives the median over the rounds (and the smallest).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import tarfile
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.http import seed, server as srv
from bench.http.agents import HttpAgent
from bench.http.kinds import KINDS, Setup, sign_in
from bench.http.load import Generator, Plan
from bench.http.options import DEFAULT_PG
from bench.http.run import _app
from bench.ledger.backends import Backend

ROOT = srv.ROOT
DEFAULT_KINDS = "discovery,client_credentials,refresh,userinfo,introspection,authorize,passkey"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.http.pair", description=__doc__)
    p.add_argument("--against", required=True, help="the git revision to compare with")
    p.add_argument("--kinds", default=DEFAULT_KINDS, help=f"default {DEFAULT_KINDS}")
    p.add_argument("--units", type=int, default=300, help="units per kind and round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--customers", type=int, default=1000, help="and as many issued tokens")
    p.add_argument("--workers", type=int, default=2, help="idp serve workers of each server")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL")
        or os.environ.get("IDP_TEST_DATABASE_URL")
        or DEFAULT_PG,
    )
    p.add_argument("--out", type=Path, default=None, help="the JSON file (default in results)")
    args = p.parse_args(argv)
    args.kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(args.kinds) - set(KINDS)
    if unknown:
        p.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    if "login" in args.kinds:
        p.error("login is Argon2id's time: compare it with bench.http itself")
    return args


def export(revision: str, into: Path) -> str:
    """The tree of ``revision`` under ``into``; its full commit id."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def _signed_in(server: srv.Server, setup: Setup) -> Setup:
    agent = HttpAgent(server.host, server.port)
    try:
        sign_in(agent, setup)
    finally:
        agent.close()
    return replace(setup, sso_cookies=dict(agent.cookies))


def _cpu_ms(server: srv.Server, gen: Generator, setup: Setup, kind: str, units: int) -> float:
    gen.prepare(Plan(server.host, server.port, kind, setup, 1, units=units, warmup=10))
    before = server.cpu_seconds()
    out = gen.go(timeout=600)
    if out.error:
        raise RuntimeError(f"{kind}: {out.error}")
    return (server.cpu_seconds() - before) * 1000 / out.units


def compare(args: argparse.Namespace) -> dict[str, Any]:
    backend = Backend("postgresql", args.pg_url, Path(tempfile.gettempdir()))
    url = backend.new_url("pair")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="avain-bench-pair-") as tmp_name,
            ExitStack() as stack,
        ):
            tmp = Path(tmp_name)
            against = tmp / "against"
            commit = export(args.against, against)
            ports = {"this": srv.free_port(), "against": srv.free_port()}
            env = srv.environment(url, tmp / "this", ports["this"])
            srv.idp(env, "db", "upgrade")
            app = _app(env)
            try:
                setup = seed.client_and_customer(app, "catalogue", "ES256")
                seed.bulk(
                    app.extensions["avain.engine"], args.customers, args.customers, setup.client_id
                )
                setup.passkeys = seed.passkeys(app, args.customers)
            finally:
                app.extensions["avain.engine"].dispose()
            servers: dict[str, srv.Server] = {}
            setups: dict[str, Setup] = {}
            for name, root in (("this", ROOT), ("against", against)):
                own = srv.environment(url, tmp / name, ports[name])
                own["IDP_SECRET_KEY"] = env["IDP_SECRET_KEY"]  # it decrypts the signing keys
                server = stack.enter_context(
                    srv.serve(
                        own, ports[name], args.workers, tmp / name, ("--no-access-log",), root
                    )
                )
                servers[name] = server
                setups[name] = _signed_in(server, replace(setup, origin=own["IDP_ISSUER"]))
            gen = Generator()
            stack.callback(gen.close)
            seen: dict[str, dict[str, list[float]]] = {
                k: {"this": [], "against": []} for k in args.kinds
            }
            for r in range(args.rounds):
                for kind in random.sample(args.kinds, len(args.kinds)):
                    for name in random.sample(list(servers), 2):
                        ms = _cpu_ms(servers[name], gen, setups[name], kind, args.units)
                        seen[kind][name].append(ms)
                print(f"  round {r + 1} of {args.rounds} done", flush=True)
    finally:
        backend.drop(url)
    return {
        "against": args.against,
        "against_commit": commit,
        "units": args.units,
        "rounds": args.rounds,
        "customers": args.customers,
        "loadavg_at_end": os.getloadavg(),
        "server_cpu_ms_per_unit": seen,
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        f"Server CPU ms per unit at 1 connection, median of {result['rounds']} alternated "
        f"rounds of {result['units']} units (smallest in brackets); against "
        f"{result['against']} ({result['against_commit'][:10]})",
        "",
        f"| request | {result['against']} | this checkout | change |",
        "|---|---|---|---|",
    ]
    for kind, runs in result["server_cpu_ms_per_unit"].items():
        before, after = statistics.median(runs["against"]), statistics.median(runs["this"])
        change = f"{(after - before) / before * 100:+.0f}%" if before else "-"
        rows.append(
            f"| {KINDS[kind].label} | {before:.2f} ({min(runs['against']):.2f}) "
            f"| {after:.2f} ({min(runs['this']):.2f}) | {change} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    result = compare(args)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(table(result))
    out = args.out or ROOT / "bench" / "results" / f"pair-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
