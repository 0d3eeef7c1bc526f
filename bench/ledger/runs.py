"""What a measurement loop records, how the records of several processes merge, and the
figures reported for them (rate, latency percentiles, time per phase)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def ms(seconds: float, digits: int = 3) -> float:
    return round(seconds * 1000, digits)


@dataclass
class Run:
    """One measurement loop: events done, each unit of work's latency, errors counted by
    kind (a failed unit is counted and the loop goes on, like a request would), and the
    budget in seconds after which the loop stops."""

    budget: float
    start: float = field(default_factory=time.monotonic)
    done: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, exc: Exception) -> None:
        name = type(exc).__name__ + ": " + str(exc).splitlines()[0][:120]
        self.errors[name] = self.errors.get(name, 0) + 1

    def lap(self, since: float) -> float:
        """Record the latency of a unit begun at ``since``; returns the time now."""
        now = time.monotonic()
        self.latencies.append(now - since)
        return now

    def spent(self, now: float) -> bool:
        return now - self.start > self.budget

    def result(self, **extra: Any) -> dict[str, Any]:
        return {
            "done": self.done,
            "start": self.start,
            "end": time.monotonic(),
            "latencies": self.latencies,
            "errors": self.errors,
            **extra,
        }


def merge_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for part in counts:
        for k, v in part.items():
            merged[k] = merged.get(k, 0) + v
    return merged


def merge_runs(parts: list[dict[str, Any]], phases: tuple[str, ...] = ()) -> dict[str, Any]:
    """The records of processes run at once as one: from the first start to the last end."""
    merged = {
        "done": sum(p["done"] for p in parts),
        "start": min(p["start"] for p in parts),
        "end": max(p["end"] for p in parts),
        "latencies": [x for p in parts for x in p["latencies"]],
        "errors": merge_counts(p["errors"] for p in parts),
    }
    if phases:
        merged["phases"] = {k: [x for p in parts for x in p["phases"][k]] for k in phases}
    return merged


def summarize_appends(res: dict[str, Any]) -> dict[str, Any]:
    """Appends/s, transaction latency percentiles, and when recorded: the rate per window as
    the log grows, the time in each phase, and the errors."""
    secs = res["end"] - res["start"]
    lat = res["latencies"]
    out = {
        "events": res["done"],
        "seconds": round(secs, 3),
        "appends_per_s": round(res["done"] / secs, 1) if secs else None,
        "txn_ms_p50": ms(pct(lat, 0.5)),
        "txn_ms_p95": ms(pct(lat, 0.95)),
        "txn_ms_p99": ms(pct(lat, 0.99)),
    }
    if res.get("windows"):
        out["rate_by_log_size"] = [[size, round(rate, 1)] for size, rate in res["windows"]]
    if res.get("phases"):
        out.update(phase_figures(res["phases"]))
    if res.get("errors"):
        out["errors"] = res["errors"]
    return out


def phase_figures(phases: dict[str, list[float]]) -> dict[str, Any]:
    return {
        "phase_ms_p50": {k: ms(pct(v, 0.5)) for k, v in phases.items()},
        "phase_ms_mean": {k: ms(statistics.mean(v)) for k, v in phases.items() if v},
    }
