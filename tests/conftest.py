"""Shared fixtures: an app on SQLite and (when IDP_TEST_DATABASE_URL is set) on PostgreSQL.

The schema is made once per backend by the Alembic migrations; each test starts from
empty tables. Under CI=true a missing PostgreSQL or Redis is a failure, not a skip.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

import idp.models  # noqa: F401
from consent.store import LedgerBase, append_only_ddl, drop_append_only_ddl
from idp import create_app
from idp.db import Base, new_session
from idp.migrate import upgrade

CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get("IDP_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL", "")

if CI and not PG_URL:
    raise RuntimeError("CI=true but IDP_TEST_DATABASE_URL is not set")

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
PASSWORD = "correct horse battery"


def _fresh_pg_database(base_url: str) -> str:
    name = f"avain_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    parts = urlsplit(base_url)
    return parts._replace(path=f"/{name}").geturl()


def _drop_pg_database(base_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'avain.db'}"
        upgrade(url)
        yield url
        return
    url = _fresh_pg_database(PG_URL)
    upgrade(url)
    yield url
    _drop_pg_database(PG_URL, url)


def _empty_tables(app: Flask) -> None:
    """Start each test from empty tables; the ledger's triggers are lifted for the purpose."""
    engine = app.extensions["avain.engine"]
    dialect = engine.dialect.name
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        for stmt in drop_append_only_ddl(dialect):
            conn.execute(text(stmt))
        for table in reversed(LedgerBase.metadata.sorted_tables):
            conn.execute(table.delete())
        for stmt in append_only_ddl(dialect):
            conn.execute(text(stmt))


@pytest.fixture
def instance_dir(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def app_config(database_url: str, instance_dir: Path) -> dict[str, Any]:
    """Override in a test module to change settings."""
    return {
        "database_url": database_url,
        "instance_path": str(instance_dir),
        "secret_key": "test-secret-key-" + "x" * 32,
        "issuer": "http://localhost",
        "initial_access_token": "initial-access-token-for-tests",
        # the back-channel receivers of the tests listen on localhost (tests/oauth/test_logout.py)
        "outbound_allow_hosts": ["localhost"],
        "outbound_allow_http": True,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    app.config["TESTING"] = True
    _empty_tables(app)
    yield app
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)
    app.extensions["avain.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    session = new_session(app)
    yield session
    session.close()


# -- factories --------------------------------------------------------------------


@pytest.fixture
def make_user(app: Flask):  # type: ignore[no-untyped-def]
    from idp.auth import accounts

    def make(
        email: str | None = None,
        name: str = "Testi Asiakas",
        password: str = PASSWORD,
        verified: bool = True,
    ) -> Any:
        with app.app_context():
            session = new_session(app)
            user = accounts.register(
                session, email or f"u{secrets.token_hex(4)}@example.com", name, password
            )
            user.email_verified = verified
            session.commit()
            session.expunge(user)
            session.close()
            return user

    return make


@pytest.fixture
def make_client(app: Flask):  # type: ignore[no-untyped-def]
    from idp.oauth.clients import ClientSpec, create
    from idp.outbound import policy_from

    def make(**kwargs: Any) -> tuple[Any, str | None]:
        kwargs.setdefault("name", "Test RP")
        kwargs.setdefault("redirect_uris", ["https://rp.example.com/cb"])
        kwargs.setdefault("post_logout_redirect_uris", ["https://rp.example.com/bye"])
        with app.app_context():
            session = new_session(app)
            rp, secret = create(session, ClientSpec(**kwargs), policy_from(app.config["AVAIN"]))
            session.commit()
            session.expunge(rp)
            session.close()
            return rp, secret

    return make


# -- protocol helpers ---------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def csrf_of(html: bytes | str) -> str:
    body = html.decode() if isinstance(html, bytes) else html
    match = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert match, "no CSRF token on the page"
    return match.group(1)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def login(client: FlaskClient, email: str, password: str = PASSWORD, interaction: str = "") -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "interaction": interaction,
            "csrf_token": csrf_of(page.data),
        },
    )


def authorize_params(rp: Any, **extra: str) -> tuple[dict[str, str], str]:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uris[0],
        "scope": "openid profile email",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return params, verifier


def follow_to_code(
    client: FlaskClient,
    params: dict[str, str],
    email: str,
    password: str = PASSWORD,
    allow: bool = True,
) -> dict[str, str]:
    """Drive /authorize through login and consent as a browser would; return the callback query."""
    resp = client.get("/authorize", query_string=params)
    for _ in range(6):
        assert resp.status_code == 302, resp.data[:500]
        location = resp.headers["Location"]
        path = urlsplit(location).path
        if path == "/login":
            interaction = query_of(location)["interaction"]
            resp = login(client, email, password, interaction)
        elif path == "/consent":
            page = client.get(location)
            resp = client.post(
                "/consent",
                data={
                    "interaction": query_of(location)["interaction"],
                    "decision": "allow" if allow else "deny",
                    "scope_offline_access": "on",
                    "csrf_token": csrf_of(page.data),
                },
            )
        elif path == "/authorize":
            resp = client.get(location)
        else:
            return query_of(location)
    raise AssertionError("too many redirects")


def exchange(client: FlaskClient, rp: Any, secret: str | None, code: str, verifier: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uris[0],
        "code_verifier": verifier,
    }
    if secret is None:
        data["client_id"] = rp.client_id
        return client.post("/token", data=data)
    return client.post("/token", data=data, auth=(rp.client_id, secret))


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        if CI:
            pytest.fail("CI=true but IDP_TEST_REDIS_URL is not set")
        pytest.skip("IDP_TEST_REDIS_URL not set")
    return REDIS_URL
