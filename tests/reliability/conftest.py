"""Reliability fixtures: a fresh PostgreSQL database, seeded through the `idp` command, served
by a real Granian (`idp serve`, several workers) on a free loopback port.

These tests need PostgreSQL (IDP_TEST_DATABASE_URL, the server's base URL): without it they
skip, except under CI=true, where a missing database is a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _drop_pg_database, _fresh_pg_database
from tests.live_server import free_port
from tests.reliability.client import PASSWORD, Rp
from tests.reliability.server import ServedAvain, avain_env, idp_ok

CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get("IDP_TEST_DATABASE_URL", "")
WORKERS = 3
CUSTOMERS = 3


@dataclass
class Avain:
    server: ServedAvain
    env: dict[str, str | None]
    admin_url: str
    database_url: str
    churn: Rp  # a partner the customers consent to and withdraw from, over and over
    keep: Rp  # a first-party client whose refresh tokens are kept and rotated
    emails: list[str]


@pytest.fixture
def pg_admin_url() -> str:
    if not PG_URL:
        if CI:
            pytest.fail("CI=true but IDP_TEST_DATABASE_URL is not set")
        pytest.skip("IDP_TEST_DATABASE_URL not set")
    return PG_URL


@pytest.fixture
def fresh_database(pg_admin_url: str) -> Iterator[str]:
    url = _fresh_pg_database(pg_admin_url)
    try:
        yield url
    finally:
        _drop_pg_database(pg_admin_url, url)


def _client(env: dict[str, str | None], client_id: str, *flags: str) -> Rp:
    redirect_uri = f"http://127.0.0.1:9/{client_id}/callback"  # never followed
    out = idp_ok(
        env,
        "clients",
        "create",
        "--name",
        client_id,
        "--client-id",
        client_id,
        "--redirect-uri",
        redirect_uri,
        "--json",
        *flags,
    )
    created = json.loads(out)
    return Rp(created["client_id"], created["client_secret"], redirect_uri)


@pytest.fixture
def avain(
    request: pytest.FixtureRequest, pg_admin_url: str, fresh_database: str, tmp_path: Path
) -> Iterator[Avain]:
    """Migrate and seed through the CLI, then start `idp serve`; always stopped afterwards."""
    port = free_port()
    instance = tmp_path / "instance"
    instance.mkdir()
    env = avain_env(fresh_database, instance, f"http://127.0.0.1:{port}")
    idp_ok(env, "db", "upgrade")
    emails = [f"customer{i}@reliability.example" for i in range(CUSTOMERS)]
    for email in emails:
        idp_ok(
            env,
            "users",
            "create",
            "--email",
            email,
            "--name",
            "Luotettava Asiakas",
            "--password-stdin",
            "--verified",
            stdin=PASSWORD + "\n",
        )
    churn = _client(env, "churn-rp")
    keep = _client(env, "keep-rp", "--first-party")
    server = ServedAvain.start(env, port, WORKERS, tmp_path / "serve.log")
    try:
        yield Avain(server, env, pg_admin_url, fresh_database, churn, keep, emails)
    finally:
        server.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f"--- end of the server log ({server.log_path}) ---\n{server.tail()}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show the measured figures even under -q (they are in the JUnit XML as well)."""
    lines = []
    for key in ("passed", "failed"):
        for report in terminalreporter.stats.get(key, []):
            figures = [
                f"{name[len('reliability_') :]}={value}"
                for name, value in report.user_properties
                if name.startswith("reliability_")
            ]
            if figures and report.when == "call":
                lines.append(f"{report.nodeid.split('::')[-1]}: {', '.join(figures)}")
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
