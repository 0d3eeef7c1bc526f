"""Security headers on every response (CSP without inline script, no framing, HSTS on https)."""

from __future__ import annotations

import json
import re

from flask import Flask, Response, abort, request
from flask_babel import lazy_gettext

from idp.config import Settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' {extra}"
)


# a JSON escape of a UTF-16 surrogate (U+D800 to U+DFFF), paired or not
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_surrogate(body: bytes) -> bool:
    """Whether a JSON body holds a lone surrogate escape (``"\\ud800"``): valid JSON text,
    which Python's parser turns into a ``str`` that is no text at all. It cannot be encoded
    as UTF-8, so storing it, hashing it into a log or writing it out fails deep inside a
    view. A pair (an emoji escaped as two) is one character and passes."""
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        parsed = json.loads(body)
        json.dumps(parsed, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):  # not JSON: the view answers that in its own way
        return False
    return False


def _refuse_nul() -> None:
    """No legitimate parameter holds a NUL byte, and PostgreSQL text cannot store one; no
    JSON body a lone surrogate (:func:`_lone_surrogate`)."""
    for key, value in request.values.items(multi=True):
        if "\x00" in key or "\x00" in value:
            abort(400, description=lazy_gettext("A parameter contains a NUL character."))
    if "\x00" in request.path:
        abort(400, description=lazy_gettext("The path contains a NUL character."))
    if request.is_json:
        body = request.get_data(cache=True)
        if b"\x00" in body or b"\\u0000" in body.lower():
            abort(400, description=lazy_gettext("The JSON body contains a NUL character."))
        if _lone_surrogate(body):
            abort(400, description=lazy_gettext("The JSON body contains a lone surrogate."))


def init_app(app: Flask) -> None:
    settings: Settings = app.config["AVAIN"]
    https = settings.issuer_is_https
    app.before_request(_refuse_nul)

    @app.after_request
    def _headers(resp: Response) -> Response:
        # form_post responses submit to the client's redirect URI: allow that one target.
        extra = resp.headers.pop("X-Avain-Form-Action", "")
        resp.headers.setdefault("Content-Security-Policy", CSP.format(extra=extra).strip())
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        if https:
            resp.headers.setdefault(
                "Strict-Transport-Security", "max-age=63072000; includeSubDomains"
            )
        if request.blueprint in {"auth", "account", "oauth"} and resp.mimetype == "text/html":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
