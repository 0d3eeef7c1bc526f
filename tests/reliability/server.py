"""A real `idp serve` (Granian, several workers) on a free loopback port, and the two faults.

The server runs in its own process group so that teardown can always stop the master and
every worker, whatever state a test left them in.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import requests
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from idp import cli

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0  # seconds for the workers to boot on a busy 2-core machine
STOP_TIMEOUT = 10.0


def avain_env(database_url: str, instance: Path, issuer: str) -> dict[str, str | None]:
    """The IDP_* settings of the server and of the CLI; inherited IDP_* variables are unset."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("IDP_")}
    env.update(
        IDP_DATABASE_URL=database_url,
        IDP_INSTANCE_PATH=str(instance),
        IDP_ISSUER=issuer,
        IDP_SECRET_KEY="reliability-test-secret-" + "r" * 32,
        IDP_PURPOSES_FILE=str(ROOT / "config" / "purposes.toml"),
        IDP_CONFIG_DIR=str(instance),  # no config/*.toml of the developer's
        IDP_SMTP_HOST="",
        # every client thread signs in from 127.0.0.1: no throttle may count them
        IDP_LOGIN_MAX_FAILURES="100000",
    )
    return env


def run_idp(env: dict[str, str | None], *args: str, stdin: str | None = None) -> Result:
    """Run an `idp` command in this process (a subprocess would cost ~2 s of start-up)."""
    return CliRunner().invoke(cli.main, list(args), input=stdin, env=env, catch_exceptions=False)


def idp_ok(env: dict[str, str | None], *args: str, stdin: str | None = None) -> str:
    result = run_idp(env, *args, stdin=stdin)
    assert result.exit_code == 0, f"idp {' '.join(args)}: {result.output}"
    return result.output


@dataclass
class ServedAvain:
    """`idp serve` in its own process group; ``log`` collects its output."""

    proc: subprocess.Popen[bytes]
    url: str
    workers: int
    log_path: Path
    log: IO[bytes]

    @classmethod
    def start(
        cls, env: dict[str, str | None], port: int, workers: int, log_path: Path
    ) -> ServedAvain:
        full = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
        full.update({k: v for k, v in env.items() if v is not None})
        log = log_path.open("wb")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "idp.cli",
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=full,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        server = cls(proc, f"http://127.0.0.1:{port}", workers, log_path, log)
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def master(self) -> int:
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        """The master's live children (its workers), from /proc."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...; comm may hold spaces, so split after the last ')'
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == self.master and fields[0] != "Z":
                pids.append(int(entry.name))
        return sorted(pids)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"idp serve exited with {self.proc.returncode}:\n{self.tail()}")
            if len(self.worker_pids()) == self.workers and self.healthy():
                return
            time.sleep(0.2)
        raise RuntimeError(f"idp serve did not answer in {START_TIMEOUT} s:\n{self.tail()}")

    def healthy(self) -> bool:
        try:
            with requests.get(f"{self.url}/health", timeout=2) as resp:
                return resp.status_code == 200
        except requests.RequestException:
            return False

    def wait_workers(self, old: set[int], timeout: float = 30.0) -> float | None:
        """Seconds until the master has all its workers again, one of them not in ``old``
        (a replacement); None if that did not happen within ``timeout``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            pids = set(self.worker_pids())
            if len(pids) == self.workers and pids - old:
                return time.monotonic() - start
            time.sleep(0.02)
        return None

    def tail(self, lines: int = 60) -> str:
        if not self.log.closed:
            self.log.flush()
        text_ = self.log_path.read_text(errors="replace")
        return "\n".join(text_.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGKILL the whole process group: master and workers, whatever state they are in.
        (A graceful stop would cost seconds per test, and a test server keeps nothing.)"""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT)
        self.log.close()


# -- faults ---------------------------------------------------------------------------


def kill_worker(server: ServedAvain) -> tuple[int, float]:
    """kill -9 the worker that is busiest right now (most likely mid-request); its pid and
    the time.time() of the kill."""

    def cpu(pid: int) -> int:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return -1
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks

    before = {pid: cpu(pid) for pid in server.worker_pids()}
    time.sleep(0.1)
    victim = max(before, key=lambda pid: cpu(pid) - before[pid])
    killed_at = time.time()
    os.kill(victim, signal.SIGKILL)
    return victim, killed_at


def cut_database_connections(admin_url: str, database_url: str) -> tuple[int, float]:
    """Terminate every backend connected to the test database; how many there were, and the
    time.time() of the cut."""
    name = urlsplit(database_url).path.lstrip("/")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            cut_at = time.time()
            killed = conn.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            ).scalar_one()
    finally:
        admin.dispose()
    return int(killed), cut_at
