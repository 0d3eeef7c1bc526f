"""Reading a request so that malformed input is one clear 4xx, before any view reads it:
a query string that is not UTF-8, an Authorization header that is not ASCII, and JSON
nested past Python's recursion limit, where the parser raises ``RecursionError`` (not
``ValueError``, so ``get_json(silent=True)`` lets it through as a 500). No message Avain
reads comes near the depth allowed below.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import TYPE_CHECKING, Any

import flask
from flask import Flask, request
from flask_babel import lazy_gettext

from idp.errors import Invalid

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

MAX_JSON_DEPTH = 32  # a JWKS in a registration request is 3 deep
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class Request(flask.Request):
    """Flask's request with a query string that is not UTF-8 read as Werkzeug reads such a
    form body, the stray bytes percent-encoded: otherwise every read of ``args`` (the error
    page's own included) raises ``UnicodeDecodeError``."""

    def __init__(self, environ: WSGIEnvironment, *args: Any, **kwargs: Any) -> None:
        super().__init__(environ, *args, **kwargs)
        self.query_string = self.query_string.decode("utf-8", "werkzeug.url_quote").encode()


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in ``body`` (brackets inside strings not counted)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    return max(accumulate(1 if b in b"[{" else -1 for b in brackets), default=0)


def refuse_deep_json() -> None:
    """A 400 in the route's own format (``idp.errors``), before a view parses the body."""
    if request.is_json and json_depth(request.get_data(cache=True)) > MAX_JSON_DEPTH:
        raise Invalid(lazy_gettext("The JSON body is nested too deeply."))


def refuse_malformed_authorization() -> None:
    """RFC 7235 §2.1 with RFC 7617 §2 and RFC 6750 §2.1: Basic and Bearer credentials are
    printable ASCII; anything else is a malformed request (RFC 6750 §3.1 invalid_request)."""
    value = request.headers.get("Authorization", "")
    if not (value.isascii() and value.isprintable()):
        raise Invalid(lazy_gettext("The Authorization header is malformed."))


def init_app(app: Flask) -> None:
    app.request_class = Request
    app.before_request(refuse_malformed_authorization)
    app.before_request(refuse_deep_json)
