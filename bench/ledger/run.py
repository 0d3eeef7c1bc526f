"""A whole run: the measurements asked for, the verdicts, the table and the JSON file."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.ledger.appends import bench_appends
from bench.ledger.backends import Backend
from bench.ledger.decide import bench_decide
from bench.ledger.environment import ROOT, close_environment, environment
from bench.ledger.goals import verdicts
from bench.ledger.options import parse_args
from bench.ledger.report import print_table
from bench.ledger.verify import bench_verify_and_states


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    tmp = Path(tempfile.mkdtemp(prefix="avain-ledger-bench-"))
    backends = [Backend(n, args.pg_url, tmp) for n in names]
    results: dict[str, Any] = {
        "environment": environment(args, "postgresql" in names),
        "appends": {},
        "verify": {},
        "states": {},
        "decide": {},
    }
    started = time.monotonic()
    try:
        measure(backends, args, results)
    finally:
        for b in backends:
            b.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    close_environment(results["environment"], time.monotonic() - started)
    results["goals"] = verdicts(results)
    print_table(results)
    write(results, args)
    return 0


def measure(backends: list[Backend], args: argparse.Namespace, results: dict[str, Any]) -> None:
    """decide() first (it needs no database), then appends per backend, then verify."""
    if "decide" not in args.skip:
        results["decide"] = bench_decide(args)
        print(f"[decide] {results['decide']['us_per_call']} us/call", flush=True)
    if "appends" not in args.skip:
        for b in backends:
            bench_appends(b, args, results)
    if "verify" not in args.skip and args.verify_events > 0:
        bench_verify_and_states(backends, args, results)


def write(results: dict[str, Any], args: argparse.Namespace) -> None:
    out = args.out or args.results_dir / f"ledger-{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(
        f"results: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
        f"(total {results['environment']['total_s']}s)"
    )
