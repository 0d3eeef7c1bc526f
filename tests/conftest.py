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
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from passlib.context import CryptContext
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.routing import rules as werkzeug_rules

import idp.models  # noqa: F401
from consent.store import LedgerBase, append_only_ddl, drop_append_only_ddl
from idp import create_app, db as idp_db
from idp.auth import passwords
from idp.db import Base, make_engine, new_session
from idp.migrate import upgrade
from idp.models import admins
from idp.signing import keys as signing_keys
from tests.receiver import Receiver

CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get("IDP_TEST_DATABASE_URL", "")
# pytest-xdist names its workers gw0, gw1, ...; empty when the tests run in one process.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _redis_url_of_this_worker(url: str) -> str:
    """Each xdist worker gets a Redis database of its own, below the configured one (N-1 for
    gw0, N-2 for gw1, ...), so that neither another worker nor a one-process run on db N
    sees its keys: tests FLUSHDB and count keys. PostgreSQL and SQLite need nothing of the
    kind: each worker's session makes its databases with fresh names under its own tmp dir."""
    if not url or not XDIST_WORKER:
        return url
    parts = urlsplit(url)
    number = int(parts.path.lstrip("/") or "0") - 1 - int(XDIST_WORKER.removeprefix("gw"))
    if number < 0:
        raise RuntimeError(
            f"{url}: too few Redis databases below it for xdist worker {XDIST_WORKER}; "
            "point IDP_TEST_REDIS_URL at a higher database number or run fewer workers"
        )
    return parts._replace(path=f"/{number}").geturl()


REDIS_URL = _redis_url_of_this_worker(os.environ.get("IDP_TEST_REDIS_URL", ""))

if CI and not PG_URL:
    raise RuntimeError("CI=true but IDP_TEST_DATABASE_URL is not set")


def _share_url_builders() -> None:
    """Every test makes an app, and Werkzeug compiles a Python function (through ``ast``)
    to build each of its ~150 URL rules: about half of an app's start-up. The function
    depends only on the rule's parsed parts, its defaults and ``append_unknown``, so the
    tests' apps share them. Test set-up only; a worker process makes its app once."""
    compile_builder = werkzeug_rules.Rule._compile_builder
    made: dict[Any, Any] = {}

    def shared(rule: werkzeug_rules.Rule, append_unknown: bool = True) -> Any:
        try:
            key = (tuple(rule._trace), tuple(sorted((rule.defaults or {}).items())), append_unknown)
            found = made.get(key)
        except TypeError:  # a default that cannot be a key: made for this rule alone
            return compile_builder(rule, append_unknown)
        if found is None:
            found = made[key] = compile_builder(rule, append_unknown)
        return found

    werkzeug_rules.Rule._compile_builder = shared  # type: ignore[method-assign]


_share_url_builders()

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
    emptying = _EMPTYING_ENGINES.pop(url, None)
    if emptying is not None:
        emptying.dispose()
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


# Argon2id at OWASP's parameters costs about 28 ms of CPU per hash or check, a few per test
# and minutes over the suite. Tests hash with the cheapest Argon2id instead, except those
# that use the `owasp_argon2` fixture to check the production parameters themselves
# (tests/auth/test_login.py). Servers in their own process (idp serve) keep OWASP's.
OWASP_ARGON2 = (passwords.context, passwords._DUMMY_HASH)
CHEAP_ARGON2 = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=64,
    argon2__rounds=1,
    argon2__parallelism=1,
)


@pytest.fixture(scope="session", autouse=True)
def cheap_argon2() -> Iterator[None]:
    passwords.context = CHEAP_ARGON2
    passwords._DUMMY_HASH = CHEAP_ARGON2.hash("avain-timing-equaliser")
    yield
    passwords.context, passwords._DUMMY_HASH = OWASP_ARGON2


@pytest.fixture
def owasp_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash and verify with the production parameters (idp/auth/passwords.py)."""
    monkeypatch.setattr(passwords, "context", OWASP_ARGON2[0])
    monkeypatch.setattr(passwords, "_DUMMY_HASH", OWASP_ARGON2[1])


class _KeyPool:
    """Signing keys made by the real generator (idp/signing/keys.py), handed out again in the
    next test: an RSA key costs about 0.1 s of CPU, and each app's start-up makes one on its
    emptied database. Within one test no key material is handed out twice."""

    def __init__(self) -> None:
        self.made: dict[str, list[bytes]] = {}
        self.used: dict[str, int] = {}

    def generate_pem(self, alg: str) -> bytes:
        made = self.made.setdefault(alg, [])
        n = self.used.get(alg, 0)
        if n == len(made):
            made.append(GENERATE_PEM(alg))
        self.used[alg] = n + 1
        return made[n]


GENERATE_PEM = signing_keys._generate_pem
KEY_POOL = _KeyPool()


@pytest.fixture(autouse=True)
def reused_signing_keys() -> Iterator[None]:
    KEY_POOL.used.clear()
    signing_keys._generate_pem = KEY_POOL.generate_pem
    yield
    signing_keys._generate_pem = GENERATE_PEM


_EMPTYING_ENGINES: dict[str, Engine] = {}


def _empty_tables(database_url: str) -> None:
    """Start each test from empty tables.

    On PostgreSQL one round trip: the deletes run with ``session_replication_role`` set to
    ``replica`` for the transaction, which holds back the ledger's and the admin audit
    log's append-only triggers (and the foreign keys' checks) without dropping them. That
    takes a superuser, as the tests' server is; without one, and on SQLite, the triggers
    are dropped for the deletes and made again."""
    engine = _EMPTYING_ENGINES.get(database_url)
    if engine is None:
        engine = _EMPTYING_ENGINES[database_url] = make_engine(database_url)
    tables = [*reversed(Base.metadata.sorted_tables), *reversed(LedgerBase.metadata.sorted_tables)]
    if engine.dialect.name == "postgresql":
        script = ";".join(
            ["SET LOCAL session_replication_role = replica"]
            + [f'DELETE FROM "{table.name}"' for table in tables]  # noqa: S608  # our own tables
        )
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(script)
            return
        except DBAPIError as exc:
            if "permission denied" not in str(exc):
                raise
    dialect = engine.dialect.name
    with engine.begin() as conn:
        for stmt in [*admins.drop_append_only_ddl(dialect), *drop_append_only_ddl(dialect)]:
            conn.execute(text(stmt))
        for table in tables:
            conn.execute(table.delete())
        for stmt in [*append_only_ddl(dialect), *admins.append_only_ddl(dialect)]:
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
        # a worker asks whether its copies of clients and keys are current once a minute:
        # at most once per test, so the statements a request sends are the same each time
        # (this process's own changes reach its copies at once; tests/test_cache.py)
        "cache_check_seconds": 60,
    }


_APP_ENGINES: dict[str, Engine] = {}


@contextmanager
def _engine_of_earlier_tests() -> Iterator[None]:
    """The app built in here gets the engine an earlier test's app had on the same
    database (its pool disposed at that test's end, so no connection carries over).

    SQLAlchemy keeps the statements it compiled per engine: with a new engine per test,
    every test compiled every statement it sent again, and the start-up's and the
    requests' compiling was about a tenth of the suite's time."""
    made = idp_db.make_engine

    def shared(url: str) -> Engine:
        engine = _APP_ENGINES.get(url)
        if engine is None:
            engine = _APP_ENGINES[url] = made(url)
        return engine

    idp_db.make_engine = shared
    try:
        yield
    finally:
        idp_db.make_engine = made


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    _empty_tables(app_config["database_url"])  # then start-up prepares it (idp/startup.py)
    with _engine_of_earlier_tests():
        app = create_app(app_config)
    app.config["TESTING"] = True
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
def receiver() -> Iterator[Receiver]:
    """A real HTTP server at ``receiver.url`` collecting back-channel logout tokens."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        if CI:
            pytest.fail("CI=true but IDP_TEST_REDIS_URL is not set")
        pytest.skip("IDP_TEST_REDIS_URL not set")
    return REDIS_URL


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest) -> str:
    """For tests of a shared counter or cache: run once on the database, once on Redis."""
    return str(request.param)


@pytest.fixture
def store_url(store: str, request: pytest.FixtureRequest) -> str | None:
    """The Redis URL for the ``redis`` run (its database emptied first), None otherwise."""
    if store != "redis":
        return None
    url = str(request.getfixturevalue("redis_url"))
    redis.Redis.from_url(url).flushdb()
    return url
