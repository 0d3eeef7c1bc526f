"""Command-line options of ``python -m bench.http``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench import http as package
from bench.http.kinds import KINDS
from bench.ledger.backends import DEFAULT_PG


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser()
    args = p.parse_args(argv)
    if args.pg_url.startswith("postgresql://"):
        args.pg_url = "postgresql+psycopg://" + args.pg_url.removeprefix("postgresql://")
    args.kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in args.kinds if k not in KINDS]
    if unknown:
        p.error(f"unknown kind {unknown[0]}; the kinds are {','.join(KINDS)}")
    if min(args.customers) < 1:
        p.error("--customers must be at least 1")
    return args


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.http", description=(package.__doc__ or "").split("\n\n")[0]
    )
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument(
        "--customers",
        type=int,
        nargs="+",
        default=[1000],
        help="customers seeded; several values run one case each (default 1000)",
    )
    p.add_argument(
        "--tokens",
        type=int,
        default=None,
        help="issued token rows seeded in bulk (default: as many as customers)",
    )
    p.add_argument("--kinds", default=",".join(KINDS), help=f"default {','.join(KINDS)}")
    p.add_argument(
        "--requests",
        type=int,
        default=200,
        help="units per kind in the CPU run (default 200; password login a fifth, >= 10)",
    )
    p.add_argument(
        "--cpu-concurrency",
        type=int,
        default=1,
        help="connections of the CPU run (default 1: the server is never queued)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=8.0,
        help="seconds per kind of the latency run (default 8)",
    )
    p.add_argument(
        "--concurrency", type=int, default=32, help="connections of the latency run (default 32)"
    )
    p.add_argument("--workers", type=int, default=2, help="idp serve workers (default 2)")
    p.add_argument(
        "--soak",
        type=int,
        default=0,
        help="after the kinds, this many more requests (token, userinfo, introspection, "
        "refresh in turn) with the workers' RSS after each tenth (default 0: none)",
    )
    p.add_argument(
        "--serve-option",
        dest="serve_options",
        action="append",
        default=[],
        metavar="OPTION",
        help="passed to idp serve, e.g. --serve-option=--threads=1 (repeatable)",
    )
    p.add_argument(
        "--idle",
        type=float,
        default=3.0,
        help="seconds the idle server's CPU is measured before the runs (default 3)",
    )
    p.add_argument(
        "--warmup", type=int, default=16, help="units before each run, over its connections"
    )
    p.add_argument(
        "--client",
        choices=["catalogue", "first-party"],
        default="catalogue",
        help="the garage of config/purposes.toml (default; the ledger decides its claims) "
        "or a first-party client",
    )
    p.add_argument(
        "--access-token-alg",
        choices=["RS256", "ES256"],
        default="ES256",
        help="the client's access_token_signed_response_alg (default ES256: the garage "
        "presents its access tokens to Avain's userinfo only, which takes ES256)",
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL")
        or os.environ.get("IDP_TEST_DATABASE_URL")
        or DEFAULT_PG,
    )
    p.add_argument("--results-dir", type=Path, default=None)
    p.add_argument(
        "--report", type=Path, default=None, help="print the tables of a run's JSON, run nothing"
    )
    p.add_argument("--out", type=Path, default=None, help="the JSON file (default in results)")
    return p
