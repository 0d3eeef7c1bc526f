"""Command-line options of ``python -m bench.ledger``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench import ledger as package
from bench.ledger.backends import DEFAULT_PG
from bench.ledger.environment import ROOT


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = parser().parse_args(argv)
    if args.pg_url.startswith("postgresql://"):
        args.pg_url = "postgresql+psycopg://" + args.pg_url.removeprefix("postgresql://")
    return args


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.ledger", description=(package.__doc__ or "").split("\n\n")[0]
    )
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    _sizes(p)
    _runs_and_output(p)
    return p


def _sizes(p: argparse.ArgumentParser) -> None:
    """How much each measurement does."""
    p.add_argument(
        "--events", type=int, default=20_000, help="events per append measurement (default 20,000)"
    )
    p.add_argument(
        "--verify-events",
        type=int,
        default=1_000_000,
        help="size of the ledger to verify (default 1,000,000; 0 skips)",
    )
    p.add_argument("--batch", type=int, default=100)
    p.add_argument(
        "--screen-events",
        type=int,
        default=3,
        help="events per request in the consent-screen run of (d) (default 3; 1 skips it)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=4,
        help="processes for the concurrent PostgreSQL run (default 4)",
    )
    p.add_argument(
        "--append-budget",
        type=float,
        default=60.0,
        help="stop an append measurement after this many seconds",
    )
    p.add_argument("--checkpoint-every", type=int, default=10_000)
    p.add_argument("--decide-calls", type=int, default=100_000)
    p.add_argument("--states-calls", type=int, default=1000)


def _runs_and_output(p: argparse.ArgumentParser) -> None:
    """Which measurements run, on which database, and where results go."""
    p.add_argument("--skip", action="append", default=[], choices=["appends", "verify", "decide"])
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile (cProfile) the per-request append and verify; "
        "writes .prof/.txt next to the JSON",
    )
    p.add_argument("--profile-appends", type=int, default=2000)
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL")
        or os.environ.get("IDP_TEST_DATABASE_URL")
        or DEFAULT_PG,
    )
    p.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON path (default: <results-dir>/ledger-<date>.json)",
    )
