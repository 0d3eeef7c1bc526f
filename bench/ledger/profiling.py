"""``--profile``: cProfile of a measurement, its self time grouped by library, the top
functions, and ``.prof``/``.txt`` files written next to the JSON."""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
BUILTIN_GROUPS = [
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
]

Top = tuple[float, float, int, str]  # self time, cumulative time, calls, "file:line(function)"


def profile_call(fn: Callable[[], Any], args: argparse.Namespace, name: str) -> dict[str, Any]:
    prof = cProfile.Profile()
    t = time.monotonic()
    prof.enable()
    fn()
    prof.disable()
    wall = time.monotonic() - t
    path = args.results_dir / f"{name}.prof"
    prof.dump_stats(path)
    groups, top = self_time(pstats.Stats(prof))
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
    (args.results_dir / f"{name}.txt").write_text(buf.getvalue())
    total = sum(groups.values()) or 1.0
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


def self_time(stats: pstats.Stats) -> tuple[dict[str, float], list[Top]]:
    """Self time per group, and every function by self time, most first."""
    groups: dict[str, float] = {}
    top: list[Top] = []
    entries = stats.stats.items()  # type: ignore[attr-defined]
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in entries:
        label = group(filename, func)
        groups[label] = groups.get(label, 0.0) + tottime
        top.append((tottime, cumtime, ncalls, f"{Path(filename).name}:{line}({func})"))
    top.sort(reverse=True)
    return groups, top


def group(filename: str, func: str) -> str:
    """The library a function belongs to, by its file (or, for built-ins, its name)."""
    if filename == "~":
        return _first_match(func, BUILTIN_GROUPS, "builtins / C")
    return _first_match(filename.replace(os.sep, "/"), GROUPS, "other Python")


def _first_match(name: str, groups: list[tuple[str, str]], default: str) -> str:
    for needle, label in groups:
        if needle in name:
            return label
    return default
