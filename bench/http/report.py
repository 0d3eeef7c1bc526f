"""The printed table of one case (Markdown, as in the issue) and what to read into it;
``python -m bench.http --report FILE`` prints the tables of a JSON written before."""

from __future__ import annotations

import os
from typing import Any

from bench.http.kinds import KINDS

BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def table(case: dict[str, Any], how: dict[str, int]) -> str:
    """``how``: the run's ``workers``, ``cpu_concurrency`` and ``concurrency``."""
    cores = case.get("cpu_count") or os.cpu_count() or 1
    at = how["concurrency"]
    load = max(case["loadavg_at_start"][0], case["loadavg_at_end"][0])
    head = (
        f"\n{BACKENDS[case['backend']]}, {case['customers']:,} customers, "
        f"{case['tokens']:,} issued tokens; {how['workers']} workers; CPU ms at "
        f"{how['cpu_concurrency']} connection(s), the rest at {at}; load average "
        f"{case['loadavg_at_start'][0]:.1f} -> {case['loadavg_at_end'][0]:.1f} on {cores} "
        f"cores; idle server {case['idle_server_cpu_ms_per_s']} ms CPU/s\n"
    )
    rows = [
        f"| request | CPU ms | req/s | p50 ms | p99 ms | SQL/req | CPU ms @{at} "
        f"| server cores @{at} | load gen cores @{at} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for name, r in case["kinds"].items():
        low, high = r["cpu_run"], r["latency_run"]
        sql = case["sql"][name]
        rows.append(
            f"| {KINDS[name].label} | {low['server_cpu_ms_per_unit']:.2f} | "
            f"{high['units_per_s']:.1f} | {high['latency_ms_p50']:.1f} | "
            f"{high['latency_ms_p99']:.1f} | {sql['statements']} (+{sql['commits']} commit) | "
            f"{high['server_cpu_ms_per_unit']:.2f} | {high['server_cores']:.2f} | "
            f"{high['generator_cores']:.2f} |"
        )
        if high["server_cores"] + high["generator_cores"] >= 0.85 * cores:
            notes.append(
                f"{name}: at {at} connections the server used {high['server_cores']:.2f} and "
                f"the load generator {high['generator_cores']:.2f} of {cores} cores: the "
                "machine, not the server alone, bounded req/s and p99."
            )
    if load > cores:
        notes.append(
            f"The machine was oversubscribed (load average up to {load:.1f} on {cores} cores): "
            "req/s and latencies show the share of it the server got (server cores); the CPU "
            "columns are per request and hold better."
        )
    if "login" in case["kinds"]:
        argon = case["argon2id_verification"]
        login = case["kinds"]["login"]["cpu_run"]["server_cpu_ms_per_unit"]
        notes.append(
            f"One Argon2id verification in-process: {argon['best_ms']:.1f} ms CPU (median "
            f"{argon['median_ms']:.1f}); password login CPU / verification = "
            f"{login / argon['best_ms']:.2f}."
        )
    if case.get("soak"):
        first, last = case["soak"][0], case["soak"][-1]
        notes.append(
            f"Worker RSS: {first['worker_rss_mb']} MB after {first['requests']:,} soak "
            f"requests, {last['worker_rss_mb']} MB after {last['requests']:,}."
        )
    if "authorize" in case["kinds"]:
        notes.append("Authorize row: one unit is two HTTP requests (GET /authorize, POST /token).")
    if "passkey" in case["kinds"]:
        notes.append("Passkey row: one unit is two HTTP requests (the options, the assertion).")
    return head + "\n".join(rows) + "\n\n" + "\n".join(notes)


def tables(results: dict[str, Any]) -> str:
    """Every case of a JSON written by a run."""
    args = results["environment"]["args"]
    how = {k: int(args[k]) for k in ("workers", "cpu_concurrency", "concurrency")}
    cores = results["environment"].get("cpus")
    return "\n".join(table({"cpu_count": cores, **case}, how) for case in results["cases"])
