"""The issue's goals, and whether the measurements met them (``goals`` in the JSON)."""

from __future__ import annotations

from typing import Any

GOALS = {
    "append_per_s_postgresql": 2000.0,  # appends per second on PostgreSQL
    "verify_1m_s": 60.0,  # seconds to verify 1,000,000 events
    "decide_us": 200.0,  # µs per decide() call
}


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pg = results["appends"].get("postgresql", {})
    if pg:
        out["append_2000_per_s_postgresql"] = append_verdict(pg)
    for name in ("sqlite", "postgresql"):
        v = results["verify"].get(name)
        if v:
            out[f"verify_1m_under_60s_{name}"] = verify_verdict(v)
    d = results.get("decide")
    if d:
        out["decide_under_200us"] = {
            "goal_us": GOALS["decide_us"],
            "measured_us": d["us_per_call"],
            "met": d["us_per_call"] < GOALS["decide_us"],
        }
    return out


def append_verdict(pg: dict[str, Any]) -> dict[str, Any]:
    """≥ 2,000 appends/s on PostgreSQL: for each way of appending, and through the intake
    for the whole system, the consent screen and the log's own (serial) rate."""
    best = {
        k: v["appends_per_s"] for k, v in pg.items() if isinstance(v, dict) and "appends_per_s" in v
    }
    verdict: dict[str, Any] = {
        "goal": GOALS["append_per_s_postgresql"],
        "measured": best,
        "met_per_request": (best.get("per_request") or 0) >= 2000,
        "met_concurrent": (best.get("concurrent") or 0) >= 2000,
        "met_batched": (best.get("batched") or 0) >= 2000,
    }
    runs = pg.get("intake") or []
    single = [r for r in runs if r["together"] and r.get("events_per_request", 1) == 1]
    if single:
        verdict.update(intake_verdict(single, pg.get("request_ceiling") or {}))
    screens = [r for r in runs if r["together"] and r.get("events_per_request", 1) > 1]
    if screens:
        top = max(screens, key=lambda r: r["logged_per_s"])
        verdict["consent_screen"] = {
            "events_per_request": top["events_per_request"],
            "requests_per_s": top["requests_per_s"],
            "logged_per_s": top["logged_per_s"],
            "met": min(top["appends_per_s"], top["logged_per_s"]) >= 2000,
        }
    alone = [r for r in runs if not r["together"]]
    if alone:
        log_rate = max(r["logged_per_s"] for r in alone)
        # the serial part: one sequencer moving queued events into the signed log
        verdict["log"] = {"sequencer_alone_per_s": log_rate, "met": log_rate >= 2000}
    return verdict


def intake_verdict(single: list[dict[str, Any]], ceiling: dict[str, Any]) -> dict[str, Any]:
    """The best one-event-per-request intake run with the sequencer alongside, beside the
    bare one-row requests of as many processes."""
    top = max(single, key=lambda r: r["logged_per_s"])
    return {
        "intake": {
            "workers": top["workers"],
            "accepted_per_s": top["appends_per_s"],
            "logged_per_s": top["logged_per_s"],
            "bare_one_row_requests_per_s": ceiling.get(f"{top['workers']}_proc_requests_per_s"),
        },
        "met_per_request_via_intake": min(top["appends_per_s"], top["logged_per_s"]) >= 2000,
    }


def verify_verdict(v: dict[str, Any]) -> dict[str, Any]:
    """``verify`` of 1,000,000 events in under 60 s: met only when measured at that size."""
    return {
        "goal_s": GOALS["verify_1m_s"],
        "events": v["events"],
        "seconds": v["seconds"],
        "projected_1m_s": v["projected_1m_s"],
        "ok": v["ok"],
        "met": v["ok"] and v["projected_1m_s"] < 60 and v["events"] >= 1_000_000,
    }
