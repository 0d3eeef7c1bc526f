"""What counting and timing every request for /metrics costs (:mod:`idp.metrics`).

The whole app runs in this process (``idp.create_app`` on a migrated SQLite database, no
HTTP server): two apps on the same database, one with ``metrics_token`` set (every request
counted and timed) and one without (no hook at all). Each request is a WSGI environ handed
to the app's WSGI callable, and the figure is the app's own CPU for it (``time.thread_time``),
the metrics' wrapper and hook included. The two apps take turns request by request (the
order swapped each time), so that the machine's other work falls on both alike; the
medians and trimmed means of the per-request figures are compared.

``--multiprocess`` sets ``PROMETHEUS_MULTIPROC_DIR`` to a fresh directory before anything
imports ``prometheus_client``, as ``idp serve`` does: every count is then a write to a
memory-mapped file, as in production under gunicorn.

    .venv/bin/python -m bench.metrics_overhead
    .venv/bin/python -m bench.metrics_overhead --multiprocess --requests 20000

Also printed: the CPU of one call of :func:`idp.instruments.request_answered` alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOKEN = "bench-metrics-token-" + "m" * 32


def _paths(app: Any, client_id: str, secret: str) -> dict[str, Callable[[], dict[str, Any]]]:
    from werkzeug.test import EnvironBuilder

    def environ(**kwargs: Any) -> Callable[[], dict[str, Any]]:
        return lambda: EnvironBuilder(base_url="http://localhost", **kwargs).get_environ()

    return {
        "discovery": environ(path="/.well-known/openid-configuration"),
        "client_credentials": environ(
            path="/token",
            method="POST",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        ),
    }


def _start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
    if not status.startswith("200"):
        raise RuntimeError(f"the benchmark's request failed: {status}")
    return lambda _data: None


def _cpu(app: Any, environ: dict[str, Any]) -> float:
    """Microseconds of this thread's CPU for one request, its body read."""
    started = time.thread_time()
    body = app(environ, _start_response)
    for _chunk in body:
        pass
    getattr(body, "close", lambda: None)()
    return (time.thread_time() - started) * 1e6


def _trimmed_mean(values: list[float], cut: float = 0.1) -> float:
    ordered = sorted(values)
    k = int(len(ordered) * cut)
    return statistics.fmean(ordered[k : len(ordered) - k])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="per app and path")
    parser.add_argument("--multiprocess", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="avain-bench-metrics-"))
    if args.multiprocess:
        (work / "prom").mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(work / "prom")

    from idp import create_app, instruments
    from idp.db import new_session
    from idp.migrate import upgrade
    from idp.oauth.clients import ClientSpec, create
    from idp.outbound import OutboundPolicy

    url = f"sqlite:///{work / 'avain.db'}"
    upgrade(url)
    base = {
        "database_url": url,
        "instance_path": str(work / "instance"),
        "secret_key": "bench-secret-key-" + "b" * 32,
        "issuer": "http://localhost",
    }
    apps = {"off": create_app(base), "on": create_app({**base, "metrics_token": TOKEN})}
    with apps["off"].app_context():
        session = new_session(apps["off"])
        rp, secret = create(
            session,
            ClientSpec(name="bench", grant_types=["client_credentials"], redirect_uris=[]),
            OutboundPolicy(),
        )
        session.commit()
        client_id = rp.client_id
        session.close()

    mode = "multiprocess files" if args.multiprocess else "in-process memory"
    print(f"metrics kept in {mode}; {args.requests} requests per app and path, alternating")
    for name, build in _paths(apps["off"], client_id, secret or "").items():
        for app in apps.values():  # warm up: first requests fill caches and compile templates
            for _ in range(50):
                _cpu(app, build())
        runs: dict[str, list[float]] = {"off": [], "on": []}
        for n in range(args.requests):
            for which in ("off", "on") if n % 2 == 0 else ("on", "off"):
                runs[which].append(_cpu(apps[which], build()))
        off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
        mean_off, mean_on = _trimmed_mean(runs["off"]), _trimmed_mean(runs["on"])
        print(
            f"{name:20s} median off {off:7.1f} us  on {on:7.1f} us  difference {on - off:+5.1f} us"
            f";  10%-trimmed mean off {mean_off:7.1f}  on {mean_on:7.1f}  "
            f"difference {mean_on - mean_off:+5.1f} us"
        )
    calls = 100_000
    seconds = timeit.Timer(
        lambda: instruments.request_answered("oauth.token", "POST", 200, 0.002),
        timer=time.thread_time,
    ).timeit(number=calls)
    print(f"request_answered() alone: {seconds / calls * 1e6:.2f} us of CPU per call")


if __name__ == "__main__":
    main()
