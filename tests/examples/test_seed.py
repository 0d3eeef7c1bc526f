"""`idp seed` registers the partner sites' clients and hands their secrets to the sites through
instance/demo-clients.json: stable when run again, following the sites' URLs, and renewed
when the file is lost."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.examples.demo import _clean_env, _run

IDP = [sys.executable, "-m", "idp.cli"]


def _clients(instance: Path) -> dict[str, dict[str, str]]:
    path = instance / "demo-clients.json"
    assert path.stat().st_mode & 0o077 == 0, "the secrets file is readable by others"
    return json.loads(path.read_text())["clients"]


def _show(env: dict[str, str], client_id: str) -> dict[str, object]:
    return json.loads(_run([*IDP, "clients", "show", client_id], env))


def test_seed_hands_the_partner_secrets_to_the_sites(tmp_path: Path) -> None:
    env = _clean_env() | {
        "IDP_INSTANCE_PATH": str(tmp_path),
        "IDP_SECRET_KEY": "seed-test-secret-" + "s" * 32,
        "IDP_OUTBOUND_ALLOW_HOSTS": "localhost:5001,localhost:5002,localhost:6001",
        "IDP_OUTBOUND_ALLOW_HTTP": "true",
    }
    _run([*IDP, "db", "upgrade"], env)
    first = _run([*IDP, "seed"], env)
    clients = _clients(tmp_path)
    assert set(clients) == {"tire-shop", "garage"}
    assert clients["tire-shop"]["site_url"] == "http://localhost:5001"
    assert all(c["client_secret"] not in first for c in clients.values())  # not printed
    shop = _show(env, "tire-shop")
    assert shop["redirect_uris"] == ["http://localhost:5001/callback"]
    assert shop["post_logout_redirect_uris"] == ["http://localhost:5001/"]
    assert shop["backchannel_logout_uri"] == "http://localhost:5001/backchannel-logout"

    assert _run([*IDP, "seed"], env) == first
    assert _clients(tmp_path) == clients  # the same secrets: the sites need no restart

    _run([*IDP, "seed", "--site", "tire-shop=http://localhost:6001"], env)
    assert _show(env, "tire-shop")["redirect_uris"] == ["http://localhost:6001/callback"]
    assert _clients(tmp_path)["tire-shop"]["client_secret"] == clients["tire-shop"]["client_secret"]

    (tmp_path / "demo-clients.json").unlink()
    _run([*IDP, "seed"], env)
    renewed = _clients(tmp_path)
    assert renewed["garage"]["client_secret"] != clients["garage"]["client_secret"]
    assert renewed["tire-shop"]["site_url"] == "http://localhost:5001"
