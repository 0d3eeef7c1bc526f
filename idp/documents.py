"""The discovery document and the JWKS, answered from memory before Flask.

Relying parties and resource servers fetch these two documents more than anything else,
and the answer is the same bytes for every one of them. Each worker keeps the answer its
Flask view last gave (status, every header the app's hooks added, body) and sends that
again, without building a request context, opening a cookie session or running the hooks
(a few hundred microseconds per request, most of what these requests cost).

What is kept is exactly what the app answered, so the two ways cannot differ. A copy is
used only for a request that the app would answer the same way for anyone: GET or HEAD of
the exact path, with no query, no cookie, no credentials, no body, and no precondition but
``If-None-Match`` (answered 304 as Werkzeug does: RFC 9110 §13.1.2, weak comparison). Any
other request goes to the app, as does every request once the copy is older than
``cache_check_seconds``: the view then asks the database whether keys changed
(:mod:`idp.cache`), so a key rotated elsewhere reaches the JWKS within the same bound as
before; one rotated by this process drops the copy at once (the cache's version moves).
An answer that sets a cookie, varies by a request header a kept answer may be given for,
or is not a 200 is never kept. A ``Date`` the app sent is sent fresh each time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.http import http_date, parse_etags, remove_entity_headers, unquote_etag

from idp.cache import ProcessCache
from idp.metrics import ANSWERED

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


PATHS = frozenset(
    {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks.json"}
)
# what makes an answer depend on the request: such requests always go to the app
_PERSONAL = (
    "QUERY_STRING",
    "HTTP_COOKIE",
    "HTTP_AUTHORIZATION",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
    "HTTP_RANGE",
    "HTTP_TRANSFER_ENCODING",
)
_KEEPABLE_STATUS = "200 OK"
_NEVER_GIVEN = {"cookie", "authorization"}  # what _PERSONAL rules out, as Vary names it


@dataclass(frozen=True)
class _Kept:
    status: str
    headers: list[tuple[str, str]]
    not_modified: list[tuple[str, str]]  # the 304's headers: the entity headers left out
    body: bytes
    etag: str | None
    dated: bool  # the app sent a Date (Werkzeug's conditional answers do): sent fresh
    endpoint: str | None  # the metrics label the app gave it
    until: float  # time.monotonic()
    version: int  # the cache's, when the app answered

    def fresh(self, version: int) -> bool:
        return version == self.version and time.monotonic() < self.until

    def answer(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        given = environ.get("HTTP_IF_NONE_MATCH")
        dated = [("Date", http_date())] if self.dated else []
        if given and self.etag is not None and parse_etags(given).contains_weak(self.etag):
            self._label(environ, method, 304)
            start_response("304 NOT MODIFIED", self.not_modified + dated)
            return []
        self._label(environ, method, 200)
        start_response(self.status, self.headers + dated)
        return [] if method == "HEAD" else [self.body]

    def _label(self, environ: WSGIEnvironment, method: str, status: int) -> None:
        if self.endpoint is not None:  # /metrics is on (idp.metrics._timed reads this)
            environ[ANSWERED] = (self.endpoint, method, status)


def _no_write(_data: bytes) -> None:
    """WSGI's ``write`` for an app that asks for it: Flask never does."""
    raise RuntimeError("the documents' views return their body")


def _same_for_anyone(headers: list[tuple[str, str]]) -> bool:
    """No cookie set, and varying (RFC 9110 §12.5.5) at most by request headers that a
    kept answer is never given for (Flask names Cookie once a hook looked at the session;
    for a request without one, that is one answer)."""
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            return False
        if lowered == "vary" and {v.strip().lower() for v in value.split(",")} - _NEVER_GIVEN:
            return False
    return True


def _plain(environ: WSGIEnvironment) -> bool:
    """A request the app answers the same way for anyone (see the module's text)."""
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return False
    if environ.get("CONTENT_LENGTH") not in (None, "", "0"):
        return False
    return not any(environ.get(name) for name in _PERSONAL)


class KeptDocuments:
    """WSGI middleware around the app (inside the metrics timer, so kept answers count)."""

    def __init__(self, app: WSGIApplication, cache: ProcessCache) -> None:
        self.app = app
        self.cache = cache
        self._kept: dict[str, _Kept] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in PATHS or not _plain(environ):
            return self.app(environ, start_response)
        kept = self._kept.get(path)
        if kept is not None and kept.fresh(self.cache.version):
            return kept.answer(environ, start_response)
        return self._through(path, environ, start_response)

    def _through(
        self, path: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """The app's answer to the plain GET this request comes down to, kept when it is a
        full 200, and this request's own answer made from it as for a kept one (a HEAD's
        without the body, a 304 for a matching ``If-None-Match``). So a client that always
        asks conditionally renews the copy too. An answer that is not kept goes out as the
        app gave it, a HEAD's without the body: ``If-None-Match`` changes only a 200."""
        plain = dict(environ, REQUEST_METHOD="GET")
        plain.pop("HTTP_IF_NONE_MATCH", None)
        until = time.monotonic() + self.cache.check_seconds
        version = self.cache.version
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.update(status=status, headers=list(headers))
            return _no_write

        result = self.app(plain, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        kept = self._keep(path, seen, body, plain, until, version)
        if kept is not None:
            return kept.answer(environ, start_response)
        if ANSWERED in plain:  # /metrics is on: the label, with this request's method
            endpoint, _, status = plain[ANSWERED]
            environ[ANSWERED] = (endpoint, environ["REQUEST_METHOD"], status)
        start_response(seen["status"], seen["headers"])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _keep(
        self,
        path: str,
        seen: dict[str, Any],
        body: bytes,
        environ: WSGIEnvironment,
        until: float,
        version: int,
    ) -> _Kept | None:
        given: list[tuple[str, str]] = seen.get("headers", [])
        if seen.get("status") != _KEEPABLE_STATUS or not _same_for_anyone(given):
            return None
        headers = [(n, v) for n, v in given if n.lower() != "date"]
        etag = next((unquote_etag(v)[0] for n, v in headers if n.lower() == "etag"), None)
        not_modified = list(headers)
        remove_entity_headers(not_modified)
        answered = environ.get(ANSWERED)
        kept = _Kept(
            status=_KEEPABLE_STATUS,
            headers=headers,
            not_modified=not_modified,
            body=body,
            etag=etag,
            dated=len(headers) < len(given),
            endpoint=answered[0] if answered else None,
            until=until,
            version=version,
        )
        with self._lock:
            self._kept[path] = kept
        return kept
