"""The console tests' fixtures: the `idp` command on the app's own database and secret;
admin API clients (made by the service, as the CLI makes them) and their tokens."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from idp import cli
from idp.admin import api_clients
from idp.db import new_session, utcnow
from idp.models import Role
from tests.admin.api.client import token_response


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


@pytest.fixture
def make_api_client(app: Flask):  # type: ignore[no-untyped-def]
    def make(
        role: str = "owner", dangerous: bool = False, name: str = "Test tool"
    ) -> tuple[str, str]:
        with app.app_context():
            s = new_session(app)
            row, secret = api_clients.create(s, name, Role(role), dangerous, utcnow())
            s.commit()
            found = row.client_id, secret
            s.close()
        return found

    return make


@pytest.fixture
def api_token(app: Flask, client: FlaskClient, make_api_client):  # type: ignore[no-untyped-def]
    """A token of a new admin API client of ``role`` (and its client_id)."""

    def make(
        role: str = "owner", dangerous: bool = False, scope: str | None = None
    ) -> tuple[str, str]:
        client_id, secret = make_api_client(role, dangerous)
        resp = token_response(client, client_id, secret, scope)
        assert resp.status_code == 200, resp.json
        return resp.json["access_token"], client_id

    return make
