"""The console tests' fixtures: the `idp` command on the app's own database and secret."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner, Result

from idp import cli


@pytest.fixture
def cli_env(tmp_path, app_config, app):
    """The CLI on the app's database with the app's secret (so the same ledger keys)."""
    env = {k: None for k in os.environ if k.startswith("IDP_")}
    env.update(
        {
            "IDP_DATABASE_URL": app_config["database_url"],
            "IDP_SECRET_KEY": app_config["secret_key"],
            "IDP_ISSUER": app_config["issuer"],
            "IDP_INSTANCE_PATH": str(tmp_path / "inst"),
            "IDP_CONFIG_DIR": str(tmp_path),
        }
    )
    return env


def run(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)
