"""The table printed at the end: one row per figure, with its goal and whether it was met."""

from __future__ import annotations

from typing import Any

Row = tuple[str, str, str, str, str]  # measurement, backend, result, goal, met

APPEND_MODES = (
    ("per_request", "append: 1 event+checkpoint+commit / txn"),
    ("batched", "append: 100 events+1 checkpoint / txn"),
    ("concurrent", "append: (a) x workers"),
)


def print_table(results: dict[str, Any]) -> None:
    lines: list[Row] = [("measurement", "backend", "result", "goal", "met")]
    for name, modes in results["appends"].items():
        lines += append_rows(name, modes)
        lines += ceiling_rows(name, modes.get("request_ceiling") or {})
        for r in modes.get("intake") or []:
            lines += intake_rows(name, r)
    lines += verify_rows(results["verify"])
    lines += decide_rows(results.get("decide"))
    for name, s in results["states"].items():
        lines += states_rows(name, s)
    print_rows(lines)


def _goal_met(name: str, rate: float) -> tuple[str, str]:
    """Appends/s have a goal on PostgreSQL only."""
    if name != "postgresql":
        return "-", ""
    return ">= 2000/s", "yes" if rate >= 2000 else "NO"


def append_rows(name: str, modes: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for mode, label in APPEND_MODES:
        r = modes.get(mode)
        if not r:
            continue
        if mode == "concurrent":
            label = f"append: (a) x {r['workers']} processes"
        result = (
            f"{r['appends_per_s']:,.0f}/s  (p50 txn {r['txn_ms_p50']:.2f} ms, {r['events']:,} ev)"
        )
        rows.append((label, name, result, *_goal_met(name, r["appends_per_s"])))
    return rows


def ceiling_rows(name: str, ceiling: dict[str, float]) -> list[Row]:
    return [
        (
            f"bare requests writing 1 row, {key.split('_')[0]} proc (no ledger)",
            name,
            f"{rate:,.0f}/s",
            "-",
            "",
        )
        for key, rate in ceiling.items()
    ]


def intake_rows(name: str, r: dict[str, Any]) -> list[Row]:
    """A (d) run; a run apart on PostgreSQL first gets a row of its own for the log's rate
    (the sequencer alone), and its goal is judged there."""
    goal, met = _goal_met(name, min(r["appends_per_s"], r["logged_per_s"]))
    rows: list[Row] = []
    if not r["together"] and name == "postgresql":
        log_met = _goal_met(name, r["logged_per_s"])[1]
        rows.append(
            (
                "log: the sequencer alone, draining what (d) queued",
                name,
                f"{r['logged_per_s']:,.0f}/s into the signed log",
                goal,
                log_met,
            )
        )
        met = ""
    how = "with" if r["together"] else "then"
    k = r.get("events_per_request", 1)
    rows.append(
        (
            f"append: {k} event/request via intake, {r['workers']} proc {how} sequencer",
            name,
            f"{r['appends_per_s']:,.0f}/s accepted, {r['logged_per_s']:,.0f}/s logged "
            f"(p50 request {r['txn_ms_p50']:.2f} ms, {r['logged']:,} ev)",
            goal,
            met,
        )
    )
    return rows


def verify_rows(verify: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    b = verify.get("build")
    if b:
        inserts = ", ".join(f"{k} {v}s" for k, v in b["insert_s"].items())
        rows.append(
            ("verify: bulk build (compute / insert)", "-", f"{b['compute_s']}s / {inserts}", "", "")
        )
    for name in ("sqlite", "postgresql"):
        v = verify.get(name)
        if v:
            rows.append(
                (
                    f"verify {v['events']:,} events (ok={v['ok']})",
                    name,
                    f"{v['seconds']:.1f}s ({v['events_per_s']:,}/s; "
                    f"1M -> {v['projected_1m_s']:.1f}s)",
                    "< 60 s per 1M",
                    "yes" if v["ok"] and v["projected_1m_s"] < 60 else "NO",
                )
            )
    return rows


def decide_rows(d: dict[str, Any] | None) -> list[Row]:
    if not d:
        return []
    return [
        (
            f"decide(): {d['purposes']} purposes, {d['claims']} claims",
            "-",
            f"{d['us_per_call']:.1f} us/call",
            "< 200 us",
            "yes" if d["us_per_call"] < 200 else "NO",
        )
    ]


def states_rows(name: str, s: dict[str, Any]) -> list[Row]:
    return [
        (
            "states(20 events) from DB + decide()",
            name,
            f"{s['ms_mean']:.3f} ms mean (p95 {s['ms_p95']:.3f}; states {s['states_ms_mean']:.3f})",
            "-",
            "",
        ),
        (
            f"append+checkpoint txn at log size ~{s['log_size']:,}",
            name,
            f"{s['append_on_big_log_ms_mean']:.2f} ms",
            "-",
            "",
        ),
    ]


def print_rows(lines: list[Row]) -> None:
    widths = [max(len(str(row[i])) for row in lines) for i in range(5)]
    sep = "  ".join("-" * w for w in widths)
    print()
    for i, row in enumerate(lines):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print(sep)
    print()
