"""The environment of a run (``environment`` in the JSON): versions, settings, load, and a
hash of every ``consent/*.py`` file, because that code changes often."""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sqlite3
import subprocess
import sys
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
PG_SETTINGS = ("synchronous_commit", "fsync", "shared_buffers", "TimeZone")


def environment(args: argparse.Namespace, postgresql: bool) -> dict[str, Any]:
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
    if postgresql:
        env.update(postgresql_environment(args.pg_url))
    return env


def postgresql_environment(pg_url: str) -> dict[str, Any]:
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        env = {
            "postgresql": conn.scalar(text("SHOW server_version")),
            "postgresql_settings": {s: conn.scalar(text(f"SHOW {s}")) for s in PG_SETTINGS},
        }
    engine.dispose()
    return env


def consent_hashes() -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16]
        for p in sorted((ROOT / "consent").glob("*.py"))
    }


def close_environment(env: dict[str, Any], total_s: float) -> None:
    """Total time, load at the end, and a warning if ``consent/`` changed during the run
    (worker processes may then have measured the newer code)."""
    env["total_s"] = round(total_s, 1)
    env["loadavg_at_end"] = os.getloadavg()
    changed = sorted(k for k, v in consent_hashes().items() if env["consent_sha256"].get(k) != v)
    env["consent_changed_during_run"] = changed
    if changed:
        print(
            f"WARNING: consent/{', '.join(changed)} changed while the benchmark ran; "
            "worker processes may have measured the newer code",
            file=sys.stderr,
        )
