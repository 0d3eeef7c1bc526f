"""Two ways of sending the same requests: over HTTP to the real server (keep-alive
``http.client``), or into an app in this process (Flask's test client, for counting SQL).

The request kinds (:mod:`bench.http.kinds`) are written once against :class:`Agent`, so
the statements counted in-process are those of exactly the requests the load sends.
"""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

if TYPE_CHECKING:  # the load process imports this module: no Flask in it
    from flask.testing import FlaskClient


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class Agent(Protocol):
    def send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        keep_cookies: bool = True,
    ) -> Reply:
        """One request; cookies the answer sets are kept unless ``keep_cookies`` is False."""
        ...


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _target(path: str, query: dict[str, str] | None) -> str:
    return f"{path}?{urlencode(query)}" if query else path


@dataclass
class HttpAgent:
    """One keep-alive connection to ``host:port`` and its own cookies (a browser, or a
    relying party's back end). Reconnects once if the server closed the idle connection."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    conn: http.client.HTTPConnection | None = None

    def send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        keep_cookies: bool = True,
    ) -> Reply:
        head = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            head["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            head["Content-Type"] = "application/json"
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        target = _target(path, query)
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, target, body=body, headers=head)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        if resp.will_close:
            self.close()
        if keep_cookies:
            for value in resp.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    if morsel["expires"] and "1970" in morsel["expires"] or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class TestAgent:
    """Flask's test client; its cookie jar is the browser's. It always keeps cookies: a
    password login is counted on a client of its own (:mod:`bench.http.statements`)."""

    client: FlaskClient

    def send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        keep_cookies: bool = True,
    ) -> Reply:
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if form is not None:
            kwargs["data"] = form
        elif json_body is not None:
            kwargs["json"] = json_body
        resp = self.client.open(_target(path, query), method=method, **kwargs)
        return Reply(resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, resp.data)
