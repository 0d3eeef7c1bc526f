"""A real ``idp serve`` on SQLite for a test module: ``served = served_fixture()``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.http import server as srv
from bench.ledger.environment import ROOT


def served_fixture(*options: str) -> Callable[..., Any]:
    """A module-scoped fixture: one worker, no access log, and ``options``."""

    @pytest.fixture(scope="module")
    def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[srv.Server]:
        tmp: Path = tmp_path_factory.mktemp("served")
        port = srv.free_port()
        env = srv.environment(f"sqlite:///{tmp / 'avain.db'}", tmp, port)
        env["IDP_PURPOSES_FILE"] = str(ROOT / "config" / "purposes.toml")
        srv.idp(env, "db", "upgrade")
        with srv.serve(env, port, 1, tmp, ("--no-access-log", *options)) as server:
            yield server

    return served
