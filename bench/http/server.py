"""The real server: ``idp db upgrade`` and ``idp serve`` (Granian, the operator's
command) as subprocesses on a free port, with their settings in the environment, and the
CPU time its processes used, read from ``/proc``.

CPU is ``utime + stime`` of the main process and of every live worker (its children),
plus ``cutime + cstime`` of the main process, so a worker that died and was replaced during a run
is still counted. PostgreSQL's own processes are not included (as in the issue).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(database_url: str, tmp: Path, port: int) -> dict[str, str]:
    """The settings of a bench server: a random secret key, an empty config folder (so no
    ``config/*.toml`` of the checkout applies), the repository's consent catalogue."""
    config_dir = tmp / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    instance = tmp / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(
        IDP_DATABASE_URL=database_url,
        IDP_SECRET_KEY=secrets.token_urlsafe(48),
        IDP_ISSUER=f"http://127.0.0.1:{port}",
        IDP_INSTANCE_PATH=str(instance),
        IDP_CONFIG_DIR=str(config_dir),
        IDP_PURPOSES_FILE=str(ROOT / "config" / "purposes.toml"),
    )
    return env


def idp(env: dict[str, str], *args: str) -> str:
    """Run an ``idp`` command to completion; its output, or its error raised."""
    done = subprocess.run(
        [sys.executable, "-m", "idp.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"idp {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    host: str
    port: int
    log: Path

    def pids(self) -> list[int]:
        """The master and its children (the workers)."""
        master = self.process.pid
        children: list[int] = []
        for task in Path(f"/proc/{master}/task").iterdir():
            text = (task / "children").read_text().split()
            children.extend(int(p) for p in text)
        return [master, *children]

    def cpu_seconds(self) -> float:
        """utime + stime of the master and live workers, + cutime + cstime of the master."""
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:  # a worker that just exited: the master's cutime has it
                continue
            # fields[0] is the state (field 3 of proc(5)); utime is field 14, stime 15,
            # cutime 16, cstime 17
            utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
            total += utime + stime + (cutime + cstime if pid == self.process.pid else 0)
        return total / TICK

    def rss_mb(self) -> dict[int, float]:
        """Resident memory of each process, MB."""
        out = {}
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out[pid] = round(int(line.split()[1]) / 1024, 1)
            except FileNotFoundError:
                continue
        return out


def _wait_ready(server: Server, workers: int, timeout: float = 120.0) -> None:
    """Until the port answers and every worker is up (its post-init has run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"idp serve exited:\n{server.log.read_text()[-3000:]}")
        try:
            with socket.create_connection((server.host, server.port), timeout=1):
                pass
            if len(server.pids()) - 1 >= workers:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"idp serve did not start:\n{server.log.read_text()[-3000:]}")


@contextmanager
def serve(
    env: dict[str, str],
    port: int,
    workers: int,
    tmp: Path,
    extra: tuple[str, ...] = (),
    root: Path = ROOT,
) -> Iterator[Server]:
    """``idp serve --bind 127.0.0.1:PORT --workers N`` and ``extra`` options, stopped
    (SIGTERM, then SIGKILL) on the way out; its access log goes to a file, as it would to
    an operator's log. ``root``: the tree whose code is served (``bench.http.pair``)."""
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "idp.cli",
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                *extra,
            ],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, "127.0.0.1", port, log)
    try:
        _wait_ready(server, workers)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
