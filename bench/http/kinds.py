"""The request kinds of issue 14's table, each written once against an
:class:`~bench.http.agents.Agent`, and the browser flows that set them up.

A kind has ``prepare`` (per connection, before the clock: a token to present, a refresh
token to start a chain, a login form's CSRF token) and ``once`` (one measured unit; it
raises :class:`Failed` on any unexpected answer, so a broken server cannot look fast).
``once`` returns the number of HTTP requests it sent: the authorize row is two of them
(GET /authorize with PKCE, then POST /token with the code) and counts as one unit, as
in the issue.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.http.agents import Agent, Reply, basic

SCOPE = "openid profile phone"
# the ID token asks for the claims the garage's purpose releases, so the ledger decides them
CLAIMS = json.dumps({"id_token": {"name": None, "car_registration": None}})


class Failed(RuntimeError):
    """An answer the benchmark did not expect: the run stops and says which."""


@dataclass
class Setup:
    """What every connection needs: the confidential client, the signed-in customer's
    cookies, and the customers whose passwords the login kind types."""

    client_id: str
    secret: str
    redirect_uri: str
    email: str
    password: str
    login_emails: list[str] = field(default_factory=list)
    login_password: str = ""
    sso_cookies: dict[str, str] = field(default_factory=dict)
    #: customers' passkeys: (user id, credential id, the private key as DER), and the
    #: WebAuthn origin and RP ID (the issuer's)
    passkeys: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    origin: str = ""


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _csrf(body: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    if found is None:
        raise Failed("no CSRF token on the page")
    return found.group(1).decode()


def _expect(reply: Reply, status: int, what: str) -> Reply:
    if reply.status != status:
        raise Failed(f"{what}: HTTP {reply.status}: {reply.body[:300]!r}")
    return reply


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(agent: Agent, setup: Setup) -> tuple[Reply, str]:
    """GET /authorize with PKCE, a nonce and the claims request; the answer and verifier."""
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": setup.client_id,
        "redirect_uri": setup.redirect_uri,
        "scope": SCOPE,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "claims": CLAIMS,
    }
    return agent.send("GET", "/authorize", query=params), verifier


def code_and_token(agent: Agent, setup: Setup) -> dict[str, Any]:
    """A signed-in customer's authorization: the code from /authorize, redeemed at /token."""
    reply, verifier = authorize(agent, setup)
    code = _query(reply.location).get("code") if reply.status == 302 else None
    if code is None or not reply.location.startswith(setup.redirect_uri):
        raise Failed(f"authorize gave no code: HTTP {reply.status} {reply.location[:200]}")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": setup.redirect_uri,
        "code_verifier": verifier,
    }
    reply = agent.send("POST", "/token", form=form, headers=basic(setup.client_id, setup.secret))
    body: dict[str, Any] = json.loads(_expect(reply, 200, "code exchange").body)
    return body


def sign_in(agent: Agent, setup: Setup) -> None:
    """The bench customer signs in with the password on the real login form, from an
    authorization request, and agrees on the consent screen if it is shown (once: the
    consent is in the ledger afterwards); the agent then holds the SSO cookie."""
    reply, _ = authorize(agent, setup)
    if not reply.location.startswith("/login") and "/login?" not in reply.location:
        raise Failed(f"expected the login page, got HTTP {reply.status} {reply.location}")
    page = _expect(agent.send("GET", _path(reply.location)), 200, "login page")
    interaction = _query(reply.location).get("interaction", "")
    form = {
        "email": setup.email,
        "password": setup.password,
        "interaction": interaction,
        "csrf_token": _csrf(page.body),
    }
    reply = agent.send("POST", "/login", form=form)
    for _ in range(5):  # login -> authorize -> consent (or the client)
        if reply.status != 302:
            raise Failed(f"sign-in: HTTP {reply.status}: {reply.body[:300]!r}")
        if reply.location.startswith(setup.redirect_uri):
            return
        if "/consent" in reply.location:
            reply = _consent(agent, _path(reply.location))
            continue
        reply = agent.send("GET", _path(reply.location))
    raise Failed("sign-in did not come back to the client")


def _consent(agent: Agent, path: str) -> Reply:
    page = _expect(agent.send("GET", path), 200, "consent screen")
    form = {
        "interaction": _query(path)["interaction"],
        "decision": "allow",
        "csrf_token": _csrf(page.body),
    }
    for name in re.findall(rb'name="((?:agree|claim):[^"]+)"', page.body):
        form[name.decode()] = "on"
    return agent.send("POST", "/consent", form=form)


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # as in the table
    prepare: Callable[[Agent, Setup, int], Any]  # (agent, setup, connection number)
    once: Callable[[Agent, Setup, Any], int]
    needs_sso: bool = False  # the connection carries the signed-in customer's cookies
    # measured as a relying party's back end calls it: prepared in the browser (its
    # tokens come from a signed-in customer), sent without the browser's cookies
    back_channel: bool = False


def _none(agent: Agent, setup: Setup, n: int) -> None:
    return None


def _get(path: str) -> Callable[[Agent, Setup, Any], int]:
    def once(agent: Agent, setup: Setup, state: Any) -> int:
        _expect(agent.send("GET", path), 200, path)
        return 1

    return once


def _client_credentials(agent: Agent, setup: Setup, state: Any) -> int:
    reply = agent.send(
        "POST",
        "/token",
        form={"grant_type": "client_credentials"},
        headers=basic(setup.client_id, setup.secret),
    )
    if "access_token" not in json.loads(_expect(reply, 200, "client_credentials").body):
        raise Failed("client_credentials: no access token")
    return 1


def _tokens(agent: Agent, setup: Setup, n: int) -> dict[str, Any]:
    return code_and_token(agent, setup)


def _refresh(agent: Agent, setup: Setup, state: dict[str, Any]) -> int:
    """Rotating: each refresh presents the refresh token the previous one returned."""
    form = {"grant_type": "refresh_token", "refresh_token": state["refresh_token"]}
    reply = agent.send("POST", "/token", form=form, headers=basic(setup.client_id, setup.secret))
    body = json.loads(_expect(reply, 200, "refresh").body)
    if not body.get("refresh_token"):
        raise Failed("refresh: no new refresh token")
    state["refresh_token"] = body["refresh_token"]
    return 1


def _userinfo(agent: Agent, setup: Setup, state: dict[str, Any]) -> int:
    auth = {"Authorization": f"Bearer {state['access_token']}"}
    body = json.loads(_expect(agent.send("GET", "/userinfo", headers=auth), 200, "userinfo").body)
    if "sub" not in body:
        raise Failed("userinfo: no sub")
    return 1


def _introspect(agent: Agent, setup: Setup, state: dict[str, Any]) -> int:
    reply = agent.send(
        "POST",
        "/introspect",
        form={"token": state["access_token"], "token_type_hint": "access_token"},
        headers=basic(setup.client_id, setup.secret),
    )
    if json.loads(_expect(reply, 200, "introspection").body).get("active") is not True:
        raise Failed("introspection: the token is not active")
    return 1


def _authorize_and_token(agent: Agent, setup: Setup, state: Any) -> int:
    if "id_token" not in code_and_token(agent, setup):
        raise Failed("code exchange: no ID token")
    return 2


def _login_form(agent: Agent, setup: Setup, n: int) -> dict[str, str]:
    """A login page's CSRF token and cookie, kept for every POST of this connection; each
    connection signs in as its own customer (the account throttle counts per address)."""
    page = _expect(agent.send("GET", "/login"), 200, "login page")
    email = setup.login_emails[n % len(setup.login_emails)]
    return {"email": email, "password": setup.login_password, "csrf_token": _csrf(page.body)}


def _login(agent: Agent, setup: Setup, form: dict[str, str]) -> int:
    """POST the login form; the answer's signed-in cookie is not kept, so the next POST is
    again a visitor's."""
    reply = agent.send("POST", "/login", form=form, keep_cookies=False)
    if reply.status != 302:
        raise Failed(f"password login: HTTP {reply.status}: {reply.body[:200]!r}")
    return 1


def _meta_csrf(body: bytes) -> str:
    found = re.search(rb'name="csrf-token" content="([^"]+)"', body)
    if found is None:
        raise Failed("no CSRF meta tag on the page")
    return found.group(1).decode()


def _authenticator(setup: Setup, n: int) -> Any:
    """The software authenticator of the tests (P-256), holding passkey ``n``; it answers
    with a sign count of 0 as passkeys without a counter do, so connections and processes
    can use the same passkey."""
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    from tests.auth.soft_authenticator import SoftAuthenticator

    user_id, credential_id, der = setup.passkeys[n % len(setup.passkeys)]
    host = urlsplit(setup.origin).hostname or ""
    key = load_der_private_key(der, password=None)
    return SoftAuthenticator(
        origin=setup.origin,
        rp_id=host,
        key=key,  # type: ignore[arg-type]
        credential_id=credential_id,
        user_handle=user_id.encode(),
    )


def _passkey_page(agent: Agent, setup: Setup, n: int) -> tuple[Any, str]:
    page = _expect(agent.send("GET", "/login"), 200, "login page")
    return _authenticator(setup, n), _meta_csrf(page.body)


def _passkey(agent: Agent, setup: Setup, state: tuple[Any, str]) -> int:
    """Usernameless passkey login: POST the options (the challenge goes into the cookie),
    then the assertion; the signed-in cookie of the answer is not kept."""
    authenticator, csrf = state
    head = {"X-CSRFToken": csrf}
    reply = agent.send("POST", "/passkeys/login/options", json_body={}, headers=head)
    options = json.loads(_expect(reply, 200, "passkey options").body)
    body = {"credential": authenticator.assert_(options, counter=0)}
    reply = agent.send(
        "POST", "/passkeys/login/verify", json_body=body, headers=head, keep_cookies=False
    )
    if "redirect" not in json.loads(_expect(reply, 200, "passkey login").body):
        raise Failed("passkey login: no redirect")
    return 2


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("discovery", "discovery", _none, _get("/.well-known/openid-configuration")),
        Kind("jwks", "JWKS", _none, _get("/jwks.json")),
        Kind("client_credentials", "client_credentials token", _none, _client_credentials),
        Kind("refresh", "refresh, rotating", _tokens, _refresh, needs_sso=True, back_channel=True),
        Kind("userinfo", "userinfo", _tokens, _userinfo, needs_sso=True, back_channel=True),
        Kind(
            "introspection",
            "introspection",
            _tokens,
            _introspect,
            needs_sso=True,
            back_channel=True,
        ),
        Kind(
            "authorize",
            "authorize, code and token (signed in)",
            _none,
            _authorize_and_token,
            needs_sso=True,
        ),
        Kind("login", "password login", _login_form, _login),
        Kind("passkey", "passkey login", _passkey_page, _passkey),
    )
}
