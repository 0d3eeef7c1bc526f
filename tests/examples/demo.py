"""The demo as `make run` starts it, on free ports: Avain (`idp serve`), the tire shop and the
garage as three real processes, after `idp db upgrade` and `idp seed`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


@dataclass
class Demo:
    avain: str
    shop: str
    garage: str
    email: str
    password: str
    clients: dict[str, dict[str, str]]
    logs: Path


def _clean_env() -> dict[str, str]:
    """This environment without any IDP_* setting or site setting that would leak in."""
    site_keys = {
        "AVAIN_ISSUER",
        "SITE_URL",
        "SITE_INSTANCE",
        "CLIENT_ID",
        "CLIENT_SECRET",
        "GARAGE_URL",
    }
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("IDP_") and k not in site_keys and k != "AVAIN_CLIENTS_FILE"
    }


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@contextmanager
def _process(name: str, args: list[str], env: dict[str, str], logs: Path) -> Iterator[None]:
    log = (logs / f"{name}.log").open("wb")
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_for(url: str, logs: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    output = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs.glob("*.log"))
    raise AssertionError(f"{url} did not answer within {START_TIMEOUT} s\n{output}")


@contextmanager
def running_demo(tmp: Path) -> Iterator[Demo]:
    ports = {"avain": free_port(), "shop": free_port(), "garage": free_port()}
    urls = {name: f"http://localhost:{port}" for name, port in ports.items()}
    instance, logs = tmp / "avain", tmp / "logs"
    logs.mkdir(parents=True)
    env = _clean_env() | {
        "IDP_INSTANCE_PATH": str(instance),
        "IDP_ISSUER": urls["avain"],
        "IDP_SECRET_KEY": "demo-test-secret-" + "d" * 32,
        "IDP_SMTP_HOST": "",
        "IDP_OUTBOUND_ALLOW_HOSTS": f"localhost:{ports['shop']},localhost:{ports['garage']}",
        "IDP_OUTBOUND_ALLOW_HTTP": "true",
        "IDP_THEME_FILE": "config/themes/rengasverkkokauppa/theme.toml",  # as `make run`
        "PYTHONUNBUFFERED": "1",
    }
    idp = [sys.executable, "-m", "idp.cli"]
    _run([*idp, "db", "upgrade"], env)
    seeded = _run(
        [*idp, "seed", f"--site=tire-shop={urls['shop']}", f"--site=garage={urls['garage']}"],
        env,
    )
    assert "demo@avain.example" in seeded, seeded
    clients_file = instance / "demo-clients.json"

    def site_env(name: str) -> dict[str, str]:
        return env | {
            "AVAIN_ISSUER": urls["avain"],
            "SITE_URL": urls[name],
            "SITE_INSTANCE": str(tmp / name),
            "AVAIN_CLIENTS_FILE": str(clients_file),
            "GARAGE_URL": urls["garage"],  # where the shop posts the handoff token
        }

    with ExitStack() as stack:
        serve = [*idp, "serve", "--bind", f"127.0.0.1:{ports['avain']}", "--workers", "1"]
        stack.enter_context(_process("avain", serve, env, logs))
        for name, module in (("shop", "examples.tire_shop"), ("garage", "examples.garage")):
            args = [sys.executable, "-m", module]
            stack.enter_context(_process(name, args, site_env(name), logs))
        _wait_for(urls["avain"] + "/health", logs)
        _wait_for(urls["shop"] + "/", logs)
        _wait_for(urls["garage"] + "/", logs)
        yield Demo(
            avain=urls["avain"],
            shop=urls["shop"],
            garage=urls["garage"],
            email="demo@avain.example",
            password=(instance / "demo-password.txt").read_text().strip(),
            clients=json.loads(clients_file.read_text())["clients"],
            logs=logs,
        )
