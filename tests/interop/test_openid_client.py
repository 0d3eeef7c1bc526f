"""Avain as seen by an independent, certified relying party: openid-client (v6) on Node.

A live Avain is served on localhost; ``rp.mjs`` does discovery, the code flow with PKCE,
ID token validation, userinfo, refresh, introspection, revocation and RP-initiated logout
through openid-client, and this test plays the browser with ``requests`` in between
(login form, consent page, redirects). The library's own checks are the point: whatever
it refuses, a real client would refuse too.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from tests.live_server import live_avain

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
CI = os.environ.get("CI") == "true"
EMAIL = "interop@example.com"
NAME = "Iida Interop"
PASSWORD = "correct horse battery"
REDIRECT_URI = "http://localhost:9/cb"
POST_LOGOUT_URI = "http://localhost:9/bye"
NODE_TIMEOUT = 120


def _unavailable(reason: str) -> None:
    if CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with openid-client installed from package-lock.json."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("node and npm are needed for the openid-client interop test")
    assert node and npm
    # pytest-xdist workers share this folder: one installs while the others wait (npm ci
    # first deletes node_modules, under the feet of a worker already running a script)
    with (HERE / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (HERE / "node_modules" / "openid-client" / "package.json").is_file():
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if proc.returncode != 0:
                _unavailable(f"npm ci failed in {HERE}:\n{proc.stdout}\n{proc.stderr}")
    return node


# -- the browser ---------------------------------------------------------------------


class _Forms(HTMLParser):
    """The POST forms of a page: each one's action and its named inputs' values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self._inside = True
            self.forms.append((a.get("action", ""), {}))
        elif (
            tag == "input"
            and self._inside
            and a.get("name")
            and (a.get("type") not in {"checkbox", "radio"} or "checked" in a)
        ):
            self.forms[-1][1][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def _forms(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Browser:
    """A person with a browser: follows redirects, signs in, allows consent."""

    def __init__(self) -> None:
        self.http = requests.Session()
        self.visited: list[str] = []

    def follow(self, url: str, stop_at: str, max_steps: int = 12) -> str:
        """Go to url and act on each page until a redirect to stop_at; return that URL."""
        resp = self.http.get(url, allow_redirects=False, timeout=30)
        for _ in range(max_steps):
            self.visited.append(urlsplit(resp.url).path)
            if resp.is_redirect:
                location = urljoin(resp.url, resp.headers["Location"])
                if location.split("?")[0] == stop_at:
                    return location
                resp = self.http.get(location, allow_redirects=False, timeout=30)
                continue
            assert resp.status_code == 200, f"{resp.status_code} at {resp.url}:\n{resp.text[:2000]}"
            for action, fields in _forms(resp.text):
                path = urlsplit(urljoin(resp.url, action)).path
                if path == "/login" and "password" in fields:
                    fields.update(email=EMAIL, password=PASSWORD)
                    break
                if path == "/consent":
                    fields["decision"] = "allow"
                    break
            else:
                raise AssertionError(f"unexpected page at {resp.url}:\n{resp.text[:2000]}")
            resp = self.http.post(
                urljoin(resp.url, action), data=fields, allow_redirects=False, timeout=30
            )
        raise AssertionError(f"no redirect to {stop_at} after {max_steps} steps: {self.visited}")


# -- the relying party -----------------------------------------------------------------


class RelyingParty:
    """A script of this folder (rp.mjs, exchange.mjs) under Node, spoken to in
    line-delimited JSON."""

    def __init__(
        self, node: str, settings: dict[str, Any], log: Path, script: str = "rp.mjs"
    ) -> None:
        self.script = script
        self._stderr = log.open("w+")
        self.proc = subprocess.Popen(
            [node, str(HERE / script), json.dumps(settings)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._watchdog = threading.Timer(NODE_TIMEOUT, self.proc.kill)
        self._watchdog.start()

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise AssertionError(
                f"{self.script} ended (status {self.proc.returncode}) without answering:\n"
                + self.stderr()
            )
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            raise AssertionError(
                "openid-client refused: " + json.dumps(message, indent=2) + "\n" + self.stderr()
            )
        return message

    def reply(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def close(self) -> None:
        self._watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_openid_client_against_live_avain(node: str, tmp_path: Path) -> None:
    from idp.auth import accounts
    from idp.db import new_session
    from idp.oauth.clients import ClientSpec, create

    with live_avain(tmp_path) as server:
        with server.app.app_context():
            s = new_session(server.app)
            user = accounts.register(s, EMAIL, NAME, PASSWORD)
            user.email_verified = True
            rp, secret = create(
                s,
                ClientSpec(
                    name="Interop RP",
                    redirect_uris=[REDIRECT_URI],
                    post_logout_redirect_uris=[POST_LOGOUT_URI],
                    grant_types=["authorization_code", "refresh_token"],
                ),
            )
            s.commit()
            user_id, client_id = user.id, rp.client_id
            s.close()
        assert secret is not None

        browser = Browser()
        party = RelyingParty(
            node,
            {
                "issuer": server.url,
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uri": REDIRECT_URI,
                "post_logout_redirect_uri": POST_LOGOUT_URI,
            },
            tmp_path / "rp.stderr",
        )
        try:
            ask = party.read()
            assert ask["purpose"] == "authorize"
            auth_url = ask["browse"]
            auth_query = _query(auth_url)
            assert auth_url.startswith(server.url + "/authorize?")
            assert auth_query["code_challenge_method"] == "S256"
            assert {"state", "nonce", "code_challenge"} <= set(auth_query)
            party.reply(browser.follow(auth_url, REDIRECT_URI))
            assert {"/login", "/consent"} <= set(browser.visited), browser.visited

            ask = party.read()
            assert ask["purpose"] == "logout"
            logout_url = ask["browse"]
            landed = browser.follow(logout_url, POST_LOGOUT_URI)
            party.reply(landed)
            result = party.read()["result"]
            party.proc.wait(timeout=30)
            assert party.proc.returncode == 0, party.stderr()

            # The browser's SSO session is gone: a new authorization request needs a login.
            again = browser.http.get(auth_url, allow_redirects=False, timeout=30)
            assert again.is_redirect
            assert urlsplit(again.headers["Location"]).path == "/login"
        finally:
            party.close()
            browser.http.close()

    # Discovery.
    assert result["discovery"]["issuer"] == server.url
    assert result["discovery"]["supportsPKCE"] is True
    assert result["discovery"]["iss_parameter_supported"] is True
    assert result["discovery"]["end_session_endpoint"] == server.url + "/logout"

    # The authorization response (RFC 9207 iss), checked by openid-client as well.
    assert result["callback"]["iss"] == server.url
    assert result["callback"]["state"] == auth_query["state"]
    assert "code" in result["callback"]

    # Tokens and the ID token openid-client validated.
    assert result["tokens"]["token_type"].lower() == "bearer"
    assert result["tokens"]["expires_in"] > 0
    assert result["tokens"]["has_refresh_token"] is True
    assert set(result["tokens"]["scope"].split()) == {"openid", "profile", "email"}
    claims = result["id_token_claims"]
    assert claims["iss"] == server.url
    assert claims["sub"] == user_id
    assert claims["aud"] == client_id
    assert claims["nonce"] == auth_query["nonce"]
    assert claims["amr"] == ["pwd"]
    assert {"auth_time", "sid", "at_hash", "iat", "exp"} <= set(claims)

    # UserInfo.
    info = result["userinfo"]
    assert info["sub"] == user_id
    assert info["email"] == EMAIL
    assert info["email_verified"] is True
    assert info["name"] == NAME
    assert result["userinfo_after_refresh"]["sub"] == user_id

    # Refresh: rotated tokens and a new ID token for the same authentication.
    refresh = result["refresh"]
    assert refresh["new_access_token"] is True
    assert refresh["new_refresh_token"] is True
    assert refresh["id_token_claims"]["sub"] == user_id
    assert refresh["id_token_claims"]["auth_time"] == claims["auth_time"]
    assert refresh["id_token_claims"]["sid"] == claims["sid"]

    # Introspection.
    access = result["introspect"]["access"]
    assert access["active"] is True
    assert access["client_id"] == client_id
    assert access["sub"] == user_id
    assert "openid" in access["scope"].split()
    assert result["introspect"]["refresh"]["active"] is True
    assert result["introspect"]["first_access"]["active"] is True
    assert result["introspect"]["rotated_refresh"] == {"active": False}

    # Revocation of one access token: it is dead, the other access token is not.
    after = result["after_access_revocation"]
    assert after["revoked"] == {"active": False}
    assert after["other_access"]["active"] is True
    assert after["userinfo"] is not None, "userinfo accepted a revoked access token"
    assert after["userinfo"]["status"] == 401
    assert after["userinfo"]["challenges"]["error"] == "invalid_token"
    # Revocation of the refresh token ends the grant (RFC 7009 §2.1).
    after = result["after_refresh_revocation"]
    assert after["refresh"] == {"active": False}
    assert after["access"] == {"active": False}
    assert after["refresh_grant"] is not None, "a revoked refresh token still worked"
    assert after["refresh_grant"]["error"] == "invalid_grant"
    assert result["rotated_refresh_grant"] is not None, "a rotated refresh token still worked"
    assert result["rotated_refresh_grant"]["error"] == "invalid_grant"

    # RP-initiated logout.
    logout_query = _query(result["logout"]["end_session_url"])
    assert result["logout"]["end_session_url"].startswith(server.url + "/logout?")
    assert logout_query["post_logout_redirect_uri"] == POST_LOGOUT_URI
    assert "id_token_hint" in logout_query
    assert landed.split("?")[0] == POST_LOGOUT_URI
    assert _query(landed) == {"state": logout_query["state"]}
    assert result["logout"]["landed_at_post_logout_uri"] is True
    assert result["logout"]["state_matches"] is True
