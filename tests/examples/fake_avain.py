"""A small stand-in for Avain that the partner sites talk to over HTTP in the example tests:
discovery, JWKS, /authorize (never visited: the tests read the redirect), /token (code,
refresh and token exchange), /userinfo (for a sign-in's access token, and for the access
token a redeemed handoff gave the garage) and /claims/tire_purchase. Each answer can be set
by a test; every request is recorded."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from joserfc import jwt
from joserfc.jwk import RSAKey

KEY = RSAKey.generate_key(2048, parameters={"kid": "avain-1"}, private=True)
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "avain-1"}, private=True)
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


@dataclass
class Script:
    """What the fake answers; tests change it."""

    sub: str = "customer-1"  # the sub of the next ID token and /userinfo
    nonce: str = ""  # the nonce of the next ID token (the test copies it from /authorize)
    profile: dict[str, Any] = field(
        default_factory=lambda: {"name": "Demo Asiakas", "phone_number": "+358 40 123 4567"}
    )
    access_lifetime: int = 300
    refresh_ok: bool = True
    claims_status: int = 201  # the answer to POST /claims/tire_purchase
    exchange_error: tuple[str, str] | None = None  # (error, description) for token exchange
    handoff_token: str = "handoff-jwt"  # what the shop's exchange returns
    redeemed: set[str] = field(default_factory=set)  # handoff tokens redeemed (single use)
    # what /userinfo answers for the access token of a redeemed handoff: the garage's sub and
    # the claims released to the garage (the handoff token itself carries none of them)
    handoff_userinfo: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "customer-1",
            "name": "Demo Asiakas",
            "phone_number": "+358 40 123 4567",
            "car_registration": "ABC-123",
        }
    )
    handoff_userinfo_status: int = 200
    handoff_access_tokens: set[str] = field(default_factory=set)


class _Handler(BaseHTTPRequestHandler):
    server: FakeAvain

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        issuer = self.server.url
        self.server.requests.append(("GET", self.path, {}, dict(self.headers)))
        if self.path == "/.well-known/openid-configuration":
            self._send(
                200,
                {
                    "issuer": issuer,
                    "authorization_endpoint": issuer + "/authorize",
                    "token_endpoint": issuer + "/token",
                    "userinfo_endpoint": issuer + "/userinfo",
                    "end_session_endpoint": issuer + "/logout",
                    "jwks_uri": issuer + "/jwks.json",
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        elif self.path == "/jwks.json":
            self._send(200, {"keys": [KEY.as_dict(private=False)]})
        elif self.path == "/userinfo":
            script = self.server.script
            bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if bearer not in script.handoff_access_tokens:
                self._send(200, {"sub": script.sub, **script.profile})
            elif script.handoff_userinfo_status != 200:
                self._send(script.handoff_userinfo_status, {"error": "invalid_token"})
            else:
                self._send(200, script.handoff_userinfo)
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        script = self.server.script
        if self.path == "/claims/tire_purchase":
            body = json.loads(raw)
            self.server.requests.append(("POST", self.path, body, dict(self.headers)))
            status = script.claims_status
            self._send(status, body if status < 400 else {"error": "invalid_token"})
            return
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        self.server.requests.append(("POST", self.path, form, dict(self.headers)))
        if self.path != "/token":
            self._send(404, {"error": "not_found"})
            return
        grant = form.get("grant_type")
        if grant == "authorization_code":
            self._send(200, self.server.tokens(with_id_token=True))
        elif grant == "refresh_token":
            if script.refresh_ok:
                self._send(200, self.server.tokens(with_id_token=False))
            else:
                self._send(400, {"error": "invalid_grant", "error_description": "expired"})
        elif grant == TOKEN_EXCHANGE and form.get("subject_token_type") == JWT_TYPE:
            token = form.get("subject_token", "")
            if token in script.redeemed:
                self._send(
                    400,
                    {"error": "invalid_grant", "error_description": "The handoff was redeemed."},
                )
                return
            script.redeemed.add(token)
            access_token = "garage-at-" + secrets.token_urlsafe(8)
            script.handoff_access_tokens.add(access_token)
            self._send(
                200,
                {
                    "access_token": access_token,
                    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "token_type": "Bearer",
                    "expires_in": 300,
                },
            )
        elif grant == TOKEN_EXCHANGE:
            if script.exchange_error:
                error, description = script.exchange_error
                self._send(400, {"error": error, "error_description": description})
                return
            self._send(
                200,
                {
                    "access_token": script.handoff_token,
                    "issued_token_type": JWT_TYPE,
                    "token_type": "N_A",
                    "expires_in": 120,
                },
            )
        else:
            self._send(400, {"error": "unsupported_grant_type"})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class FakeAvain(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.script = Script()
        self.requests: list[tuple[str, str, dict[str, Any], dict[str, str]]] = []

    def tokens(self, with_id_token: bool) -> dict[str, Any]:
        script = self.script
        answer: dict[str, Any] = {
            "access_token": "at-" + secrets.token_urlsafe(8),
            "refresh_token": "rt-" + secrets.token_urlsafe(8),
            "token_type": "Bearer",
            "expires_in": script.access_lifetime,
        }
        if with_id_token:
            now = int(time.time())
            claims = {
                "iss": self.url,
                "aud": self.client_id,
                "sub": script.sub,
                "iat": now,
                "exp": now + 300,
                "nonce": script.nonce,
                "sid": "sso-1",
            }
            answer["id_token"] = jwt.encode({"alg": "RS256", "kid": "avain-1"}, claims, KEY)
        return answer

    client_id = ""

    def posted(self, path: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
        return [
            (body, headers) for m, p, body, headers in self.requests if m == "POST" and p == path
        ]


def running() -> Iterator[FakeAvain]:
    server = FakeAvain()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def handoff_jwt(
    issuer: str, key: RSAKey = KEY, header: dict[str, Any] | None = None, **changes: Any
) -> str:
    """A handoff token as Avain signs it (step B of the handoff): the order and who it is for,
    but no customer claims and no ``sub`` (the shop holding it must not read them)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": "garage",
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(12),
        "client_id": "tire-shop",
        "purpose": "garage_booking",
        "authorization_details": [
            {
                "type": "tire_fitting",
                "locations": ["http://localhost:5002/"],
                "order": {
                    "number": "R-1042",
                    "bought_at": "2026-12-02T10:14:00Z",
                    "items": [{"name": "Nokian Hakkapeliitta R5 205/55 R16", "quantity": 4}],
                },
            }
        ],
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    protected = {"alg": "RS256", "kid": "avain-1", "typ": "handoff+jwt", **(header or {})}
    protected = {k: v for k, v in protected.items() if v is not None}
    return jwt.encode(protected, claims, key)
