"""What the browser tests share: accounts and relying parties made through Avain's own
services, a small real web server at each RP's redirect URI, the mail outbox, token exchange.

A real callback server rather than ``page.route``: Playwright routes only the first URL of
a redirect chain, so /authorize -> 302 -> redirect URI after ``page.goto`` is never routed."""

from __future__ import annotations

import email
import email.message
import email.policy
import html
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from tests.conftest import PASSWORD, authorize_params, query_of
from tests.live_server import LiveServer

try:
    from playwright.sync_api import Page, expect
except ImportError:  # pragma: no cover - the conftest fails under CI=true
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

__all__ = [
    "PASSWORD",
    "Page",
    "RelyingParty",
    "expect",
    "id_token_claims",
    "link_in",
    "make_user",
    "newest_mail",
    "path_of",
    "sign_in",
]


def path_of(url: str) -> str:
    return urlsplit(url).path


def make_user(
    server: LiveServer,
    email_address: str,
    name: str = "Aino Virtanen",
    password: str = PASSWORD,
    verified: bool = True,
    phone_number: str | None = None,
) -> Any:
    from idp.auth import accounts
    from idp.db import new_session

    with server.app.app_context():
        session = new_session(server.app)
        user = accounts.register(session, email_address, name, password)
        user.email_verified = verified
        user.phone_number = phone_number
        session.commit()
        session.expunge(user)
        session.close()
        return user


class _Callback(BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:  # noqa: N802
        rp = self.server.rp
        if self.path != "/favicon.ico":
            rp.hits.append(rp.origin + self.path)
        name = html.escape(rp.client.client_name)
        body = f"<!doctype html><title>{name}</title><h1>{name} callback</h1>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _CallbackServer(ThreadingHTTPServer):
    daemon_threads = True
    rp: RelyingParty


@dataclass
class RelyingParty:
    """A client registered in Avain, with a small real web server at its redirect URI that
    answers every request with a page and keeps the URLs it was sent to."""

    server: LiveServer
    client: Any
    secret: str | None
    redirect_uri: str
    post_logout_uri: str
    hits: list[str] = field(default_factory=list)
    verifiers: dict[str, str] = field(default_factory=dict)
    _http: _CallbackServer | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def start(
        cls,
        server: LiveServer,
        name: str,
        first_party: bool = False,
        client_id: str | None = None,
    ) -> RelyingParty:
        """``client_id`` fixes the id, e.g. a recipient the consent catalogue names."""
        from idp.db import new_session
        from idp.oauth.clients import ClientSpec, create

        http = _CallbackServer(("127.0.0.1", 0), _Callback)
        base = f"http://localhost:{http.server_address[1]}"
        with server.app.app_context():
            session = new_session(server.app)
            client, secret = create(
                session,
                ClientSpec(
                    name=name,
                    redirect_uris=[f"{base}/cb"],
                    post_logout_redirect_uris=[f"{base}/bye"],
                    first_party=first_party,
                    client_id=client_id,
                ),
            )
            session.commit()
            session.expunge(client)
            session.close()
        rp = cls(server, client, secret, f"{base}/cb", f"{base}/bye")
        http.rp = rp
        rp._http = http
        rp._thread = threading.Thread(
            target=http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        rp._thread.start()
        return rp

    def stop(self) -> None:
        if self._http is not None and self._thread is not None:
            self._http.shutdown()
            self._http.server_close()
            self._thread.join(timeout=5)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}"

    def authorize_url(self, **extra: str) -> str:
        params, verifier = authorize_params(self.client, **extra)
        self.verifiers[params["state"]] = verifier
        return f"{self.server.url}/authorize?{urlencode(params)}"

    def callback(self, page: Page) -> dict[str, str]:
        """Wait until the browser is at this RP's redirect URI; return its query."""
        page.wait_for_url(lambda url: url.startswith(self.redirect_uri + "?"))
        assert self.hits[-1:] == [page.url], (self.hits, page.url)
        return query_of(page.url)

    def exchange(self, callback: dict[str, str]) -> dict[str, Any]:
        """Redeem the code at the token endpoint, as the RP's back end would."""
        resp = requests.post(
            f"{self.server.url}/token",
            timeout=10,
            data={
                "grant_type": "authorization_code",
                "code": callback["code"],
                "redirect_uri": self.redirect_uri,
                "code_verifier": self.verifiers[callback["state"]],
            },
            auth=(self.client.client_id, self.secret or ""),
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def userinfo(self, access_token: str) -> requests.Response:
        return requests.get(
            f"{self.server.url}/userinfo",
            timeout=10,
            headers={"Authorization": f"Bearer {access_token}"},
        )

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 with the client's own credentials, as its resource server would."""
        resp = requests.post(
            f"{self.server.url}/introspect",
            timeout=10,
            data={"token": token},
            auth=(self.client.client_id, self.secret or ""),
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


def id_token_claims(server: LiveServer, id_token: str) -> dict[str, Any]:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    keys = KeySet.import_key_set(requests.get(f"{server.url}/jwks.json", timeout=10).json())
    claims: dict[str, Any] = jwt.decode(id_token, keys).claims
    return claims


def sign_in(page: Page, email_address: str, password: str = PASSWORD) -> None:
    """Fill the login form that is on the page and submit it."""
    assert path_of(page.url) == "/login", page.url
    page.locator("#email").fill(email_address)
    page.locator("#password").fill(password)
    page.locator("form.stack button[type=submit]").click()


def newest_mail(server: LiveServer, to: str) -> email.message.EmailMessage:
    """The newest .eml Avain wrote to its outbox for ``to`` (no SMTP configured). Mail is
    sent by the outbox after the request, so it may take a moment to appear."""
    outbox = Path(server.instance) / "outbox"
    files: list[Path] = []
    for _ in range(50):
        files = sorted(outbox.glob("*.eml"), key=lambda p: int(p.stem), reverse=True)
        for path in files:
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if msg["To"] == to:
                assert isinstance(msg, email.message.EmailMessage)
                return msg
        time.sleep(0.1)
    raise AssertionError(f"no mail to {to} in {outbox}: {[p.name for p in files]}")


def link_in(msg: email.message.EmailMessage, server: LiveServer, path_prefix: str) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    match = re.search(re.escape(server.url + path_prefix) + r"\S+", text)
    assert match, f"no {path_prefix} link in the mail:\n{text}"
    return match.group(0)
