"""The partner sites' back-channel logout receiver (Back-Channel Logout 1.0 §2.6), without a
browser: a small issuer serves discovery and a JWKS, the site runs in Flask's test client."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from examples import site
from examples.garage import create_app as create_garage
from examples.tire_shop import create_app as create_shop

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
KEY = RSAKey.generate_key(2048, parameters={"kid": "avain-1"}, private=True)
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "avain-1"}, private=True)


class _Issuer(BaseHTTPRequestHandler):
    server: _IssuerServer

    def do_GET(self) -> None:  # noqa: N802
        issuer = self.server.url
        documents = {
            "/.well-known/openid-configuration": {
                "issuer": issuer,
                "authorization_endpoint": issuer + "/authorize",
                "token_endpoint": issuer + "/token",
                "end_session_endpoint": issuer + "/logout",
                "jwks_uri": issuer + "/jwks.json",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            },
            "/jwks.json": {"keys": [KEY.as_dict(private=False)]},
        }
        body = json.dumps(documents.get(self.path, {})).encode()
        self.send_response(200 if self.path in documents else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _IssuerServer(ThreadingHTTPServer):
    daemon_threads = True
    url: str


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    server = _IssuerServer(("127.0.0.1", 0), _Issuer)
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["tire-shop", "garage"])
def app(request: Any, issuer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("AVAIN_ISSUER", issuer)
    monkeypatch.setenv("SITE_INSTANCE", str(tmp_path))
    monkeypatch.setenv("CLIENT_SECRET", "test-secret")
    monkeypatch.setenv("SITE_URL", "http://localhost:5999")
    monkeypatch.delenv("CLIENT_ID", raising=False)
    flask_app = (create_shop if request.param == "tire-shop" else create_garage)()
    flask_app.config["TESTING"] = True
    return flask_app


def signed_in(app: Flask, sub: str = "customer-1", sid: str = "sso-1") -> FlaskClient:
    """A browser with a session at the site, as the callback would have made it."""
    login_id = secrets.token_urlsafe(16)
    with app.app_context():
        site.db().execute(
            "INSERT INTO logins (id, sub, sid, name, id_token, created_at)"
            " VALUES (?, ?, ?, 'Aino', 'x', ?)",
            (login_id, sub, sid, int(time.time())),
        )
        site.db().commit()
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["login"] = login_id
    return browser


def is_signed_in(browser: FlaskClient) -> bool:
    return b'id="signed-in"' in browser.get("/").data


def logout_token(
    app: Flask, key: RSAKey = KEY, header: dict[str, str] | None = None, **changes: Any
) -> str:
    now = int(time.time())
    claims = {
        "iss": app.config["AVAIN_ISSUER"],
        "aud": app.config["CLIENT_ID"],
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(12),
        "sub": "customer-1",
        "sid": "sso-1",
        "events": {LOGOUT_EVENT: {}},
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    protected = {"alg": "RS256", "kid": "avain-1", "typ": "logout+jwt", **(header or {})}
    return jwt.encode(protected, claims, key)


def post(app: Flask, token: str) -> Any:
    return app.test_client().post("/backchannel-logout", data={"logout_token": token})


def test_valid_token_ends_the_session_and_its_replay_is_refused(app: Flask) -> None:
    browser = signed_in(app)
    other = signed_in(app, sub="customer-2", sid="sso-2")
    assert is_signed_in(browser)
    token = logout_token(app)
    answer = post(app, token)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert not is_signed_in(browser)
    assert is_signed_in(other)  # another customer's session stays
    replay = post(app, token)
    assert replay.status_code == 400
    assert "replayed" in replay.get_json()["error_description"]


def test_sub_alone_ends_every_session_of_that_customer(app: Flask) -> None:
    first, second = signed_in(app, sid="sso-1"), signed_in(app, sid="sso-9")
    assert post(app, logout_token(app, sid=None)).status_code == 200
    assert not is_signed_in(first)
    assert not is_signed_in(second)


@pytest.mark.parametrize(
    ("what", "make"),
    [
        ("forged", lambda app: logout_token(app, key=OTHER_KEY)),
        ("wrong audience", lambda app: logout_token(app, aud="someone-else")),
        ("wrong issuer", lambda app: logout_token(app, iss="https://evil.example")),
        ("nonce", lambda app: logout_token(app, nonce="n-0S6_WzA2Mj")),
        ("no event", lambda app: logout_token(app, events={"other": {}})),
        ("neither sid nor sub", lambda app: logout_token(app, sid=None, sub=None)),
        ("no jti", lambda app: logout_token(app, jti=None)),
        ("old", lambda app: logout_token(app, iat=int(time.time()) - 3600)),
        ("expired", lambda app: logout_token(app, exp=int(time.time()) - 600)),
        ("not a logout token", lambda app: logout_token(app, header={"typ": "JWT"})),
        ("unsigned", lambda app: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJjdXN0b21lci0xIn0."),
        ("garbage", lambda app: "not.a.jwt"),
    ],
)
def test_bad_tokens_are_refused_and_the_session_stays(app: Flask, what: str, make: Any) -> None:
    browser = signed_in(app)
    answer = post(app, make(app))
    assert answer.status_code == 400, what
    assert answer.get_json()["error"] == "invalid_request"
    assert is_signed_in(browser), what
