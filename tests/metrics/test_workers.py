"""Under `idp serve` (Granian, two workers, SQLite) each worker counts into its own file in
a directory the server made for the purpose, a scrape (answered by one worker) adds up
all of them, a worker that ends leaves its counts in the totals, and the directory goes
when the server stops."""

from __future__ import annotations

import json
import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from prometheus_client.mmap_dict import MmapedDict

from tests.live_server import free_port
from tests.metrics.conftest import BEARER, TOKEN, Scrape
from tests.reliability.server import ServedAvain, avain_env, idp_ok

WORKERS = 2
DISCOVERY = "/.well-known/openid-configuration"
COUNTED = {"endpoint": "oauth.openid_configuration", "method": "GET", "status": "200"}


def _discovery_counts(directory: Path) -> dict[int, float]:
    """Discovery requests counted per worker, read from each worker's own file (as the
    library's multiprocess collector reads them; the pid is in the file's name)."""
    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(re.fullmatch(r"counter_(\d+)\.db", path.name).group(1))  # type: ignore[union-attr]
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            _, sample, labels, _ = json.loads(key)
            if sample == "avain_http_requests_total" and labels == COUNTED:
                counts[pid] = counts.get(pid, 0.0) + value
    return counts


def _scrape(base: str) -> Scrape:
    resp = requests.get(f"{base}/metrics", headers=BEARER, timeout=10)
    assert resp.status_code == 200, resp.text[:300]
    return Scrape(resp.text)


def test_a_scrape_adds_up_every_worker(tmp_path, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)  # the server makes its own
    port = free_port()
    instance = tmp_path / "instance"
    instance.mkdir()
    env = avain_env(f"sqlite:///{instance / 'avain.db'}", instance, f"http://127.0.0.1:{port}")
    idp_ok(env, "db", "upgrade")
    temp = tmp_path / "tmp"  # where the server makes its metrics directory
    temp.mkdir()
    env |= {"IDP_METRICS_TOKEN": TOKEN, "TMPDIR": str(temp)}
    server = ServedAvain.start(env, port, WORKERS, tmp_path / "serve.log")
    try:
        (directory,) = temp.glob("avain-metrics-*")
        workers = set(server.worker_pids())
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            for _round in range(40):  # until both workers have answered some (the kernel picks)
                codes = list(
                    pool.map(
                        lambda _n: requests.get(server.url + DISCOVERY, timeout=10).status_code,
                        range(16),
                    )
                )
                assert codes == [200] * 16
                sent += 16
                if set(_discovery_counts(directory)) >= workers:
                    break
        per_worker = _discovery_counts(directory)
        assert set(per_worker) == workers, (per_worker, workers, server.tail())
        assert sum(per_worker.values()) == sent
        assert _scrape(server.url).value("avain_http_requests_total", **COUNTED) == sent

        # a worker that ends (it leaves through `idp serve`'s code too) removes nothing, and
        # what it counted stays in the totals
        os.kill(min(workers), signal.SIGTERM)
        assert server.wait_workers(workers) is not None, server.tail()
        assert directory.is_dir()
        assert _scrape(server.url).value("avain_http_requests_total", **COUNTED) == sent

        os.kill(server.master, signal.SIGTERM)  # a graceful stop
        assert server.proc.wait(timeout=30) == 0, server.tail()
        assert not directory.exists(), list(directory.iterdir())
    finally:
        server.stop()
