"""The `idp` command, run in this process with Click's CliRunner and its own environment.

One test (`idp serve`) starts the installed `idp` entry point as a real process: it checks
the console script and Granian; the others need no process start-up (about 2 s each).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp import cli
from tests.conftest import PG_URL, _drop_pg_database, _fresh_pg_database

IDP_SCRIPT = Path(sys.executable).with_name("idp")


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def env(tmp_path: Path, database_url: str, app: object) -> dict[str, str | None]:
    """The CLI against the test database, emptied first by the app fixture; inherited
    IDP_* variables are unset."""
    e: dict[str, str | None] = {k: None for k in os.environ if k.startswith("IDP_")}
    e.update(
        {
            "IDP_INSTANCE_PATH": str(tmp_path / "inst"),
            "IDP_DATABASE_URL": database_url,
            "IDP_SECRET_KEY": "cli-test-secret-" + "z" * 32,
            "IDP_CONFIG_DIR": str(tmp_path),
        }
    )
    return e


def idp(env, *args, stdin=None, check=True):
    """`idp ARGS` in this process; an unexpected exception propagates (it would have been a
    traceback on the terminal)."""
    result = CliRunner().invoke(cli.main, list(args), input=stdin, env=env, catch_exceptions=False)
    ran = Ran(result.exit_code, result.stdout, result.stderr)
    if check and ran.returncode != 0:
        raise AssertionError(ran.stderr + ran.stdout)
    return ran


@pytest.fixture
def new_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend, never migrated nor prepared by an app."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'new.db'}"
        return
    url = _fresh_pg_database(PG_URL)
    try:
        yield url
    finally:
        _drop_pg_database(PG_URL, url)


def test_db_upgrade_creates_keys_once(env, new_database):
    env = dict(env, IDP_DATABASE_URL=new_database)
    out = idp(env, "db", "upgrade").stdout
    assert "database at revision" in out
    assert out.count("created signing key") == 2  # RS256 and ES256
    again = idp(env, "db", "upgrade").stdout
    assert "database at revision" in again
    assert "created signing key" not in again
    listing = idp(env, "keys", "list").stdout
    assert "RS256" in listing and "ES256" in listing


def test_clients_create_json_list_show_delete(env):
    idp(env, "db", "upgrade")
    out = idp(
        env,
        "clients",
        "create",
        "--name",
        "Shop",
        "--redirect-uri",
        "https://shop.example/cb",
        "--redirect-uri",
        "https://shop.example/cb2",
        "--post-logout-redirect-uri",
        "https://shop.example/",
        "--backchannel-logout-uri",
        "https://shop.example/bc",
        "--subject-type",
        "pairwise",
        "--json",
    ).stdout
    created = json.loads(out)
    assert created["client_id"] and created["client_secret"]
    assert created["client_id"].isalnum()  # never "-abc...", which the CLI reads as an option
    shown = json.loads(idp(env, "clients", "show", created["client_id"]).stdout)
    assert shown["redirect_uris"] == ["https://shop.example/cb", "https://shop.example/cb2"]
    assert shown["subject_type"] == "pairwise"
    assert "client_secret" not in shown
    public = json.loads(
        idp(
            env,
            "clients",
            "create",
            "--name",
            "App",
            "--public",
            "--redirect-uri",
            "http://localhost:7000/cb",
            "--json",
        ).stdout
    )
    assert public["client_secret"] is None
    assert created["client_id"] in idp(env, "clients", "list").stdout
    idp(env, "clients", "delete", created["client_id"], "--yes")
    assert created["client_id"] not in idp(env, "clients", "list").stdout


def test_bad_client_input_is_a_clear_error(env):
    idp(env, "db", "upgrade")
    proc = idp(
        env, "clients", "create", "--name", "X", "--redirect-uri", "http://evil.com/cb", check=False
    )
    assert proc.returncode != 0
    assert "https" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_users_create_reads_the_password_from_stdin(env):
    idp(env, "db", "upgrade")
    out = idp(
        env,
        "users",
        "create",
        "--email",
        "Op@Example.com",
        "--name",
        "Operaattori",
        "--password-stdin",
        "--verified",
        stdin="a good long password\n",
    ).stdout
    assert "op@example.com" in out
    weak = idp(
        env,
        "users",
        "create",
        "--email",
        "w@example.com",
        "--name",
        "W",
        "--password-stdin",
        stdin="short\n",
        check=False,
    )
    assert weak.returncode != 0 and "10 characters" in weak.stderr


def test_keys_rotate_publishes_next_keys(env):
    idp(env, "db", "upgrade")
    out = idp(env, "keys", "rotate").stdout
    assert out.count("published") == 2
    states = idp(env, "keys", "list").stdout
    assert states.count("\tnext\t") == 2 and states.count("\tsigning\t") == 2
    idp(env, "keys", "rotate", "--now", "--alg", "ES256")
    lines = [line.split("\t") for line in idp(env, "keys", "list").stdout.splitlines()]
    es = sorted(state for _, alg, state, *_ in lines if alg == "ES256")
    rs = sorted(state for _, alg, state, *_ in lines if alg == "RS256")
    # the pending ES256 key is dropped, the old one retires, the new one signs
    assert es == ["retiring", "signing"]
    assert rs == ["next", "signing"]


def test_configuration_errors_say_what_to_fix(env, tmp_path):
    bad = dict(env, IDP_ISSUER="https://login.example.com", IDP_SECRET_KEY="")
    proc = idp(bad, "keys", "list", check=False)
    assert proc.returncode != 0 and "IDP_SECRET_KEY is required" in proc.stderr
    (tmp_path / "avain.toml").write_text('[avain]\nsmtp_password = "x"\n')
    proc = idp(env, "keys", "list", check=False)
    assert "secret" in proc.stderr and "IDP_SMTP_PASSWORD" in proc.stderr
    (tmp_path / "avain.toml").write_text("[avain]\nunknown_key = 1\n")
    assert "unknown key" in idp(env, "keys", "list", check=False).stderr


def test_seed_prints_how_to_log_in_and_is_idempotent(env):
    idp(env, "db", "upgrade")
    first = idp(env, "seed").stdout
    second = idp(env, "seed").stdout
    assert "demo@avain.example" in first and "password:" in first
    assert first == second


def test_serve_runs_granian_and_answers(env):
    """The one real-process test: the installed `idp` script, then Granian serving, and a
    graceful stop on SIGTERM."""
    import time
    import urllib.request

    from tests.live_server import free_port

    assert IDP_SCRIPT.exists(), f"{IDP_SCRIPT}: the `idp` entry point is not installed"
    process_env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    process_env.update({k: v for k, v in env.items() if v is not None})
    upgraded = subprocess.run(
        [str(IDP_SCRIPT), "db", "upgrade"],
        env=process_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database at revision" in upgraded.stdout
    port = free_port()
    proc = subprocess.Popen(
        [str(IDP_SCRIPT), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=dict(process_env, IDP_ISSUER=f"http://localhost:{port}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    body = r.read()
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.2)
        assert body == b'{"status":"ok"}', proc.stdout.read() if proc.poll() is not None else ""
        url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
        with urllib.request.urlopen(url, timeout=5) as r:
            assert json.load(r)["issuer"] == f"http://localhost:{port}"
        proc.terminate()
        assert proc.wait(timeout=30) == 0, proc.stdout.read()
    finally:
        proc.kill()
        proc.wait(timeout=30)


@pytest.mark.parametrize("bind", ["localhost", "127.0.0.1:http", "127.0.0.1:70000", ":"])
def test_serve_refuses_a_bind_without_a_port(env, bind):
    # refused before anything starts (or the process re-executes itself: serving.py)
    result = idp(env, "serve", "--bind", bind, check=False)
    assert result.returncode == 2
    assert "give host:port" in result.stderr, result.stderr


def test_ledger_verify_and_purposes(env, new_database):
    env = dict(env, IDP_DATABASE_URL=new_database)  # no checkpoint of the app fixture's issuer
    idp(env, "db", "upgrade")
    out = idp(env, "ledger", "purposes").stdout
    assert "garage_booking\tv1\tconsent\tgarage" in out
    note = idp(env, "ledger", "checkpoint").stdout
    assert note.startswith("localhost:5000/consent-log\n0\n")
    assert idp(env, "ledger", "verify").stdout.startswith("ok: 0 entries")


def test_users_delete_erases_the_consent_details_and_keeps_the_log_valid(
    env, app, client, make_user, make_client
):
    from consent import ledger as L
    from idp.db import new_session
    from tests.conftest import authorize_params, follow_to_code

    user = make_user(email="leaving@example.com")
    rp, _ = make_client()
    follow_to_code(client, authorize_params(rp)[0], user.email)  # consent event + session
    out = idp(env, "users", "delete", "--email", "leaving@example.com", "--yes").stdout
    assert "deleted leaving@example.com" in out
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context():
        s = new_session(app)
        assert L.customer_key(s, keys, user.id) is None
        assert L.verify(s, keys.origin).ok
        s.close()
    assert client.get("/account/").status_code == 302  # signed out
    missing = idp(env, "users", "delete", "--email", "leaving@example.com", "--yes", check=False)
    assert missing.returncode != 0 and "no customer" in missing.stderr
