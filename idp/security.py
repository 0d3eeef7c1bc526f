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


_FORM_ACTION = "X-Avain-Form-Action"  # a form_post answer's target, for its CSP
_NO_STORE_PAGES = frozenset({"auth", "account", "oauth"})


def init_app(app: Flask) -> None:
    settings: Settings = app.config["AVAIN"]
    app.before_request(_refuse_nul)
    # what every answer carries unless its view set its own: made once, added in one pass
    # over the answer's headers (Werkzeug's setdefault raises and catches an exception
    # for each header it does not find)
    defaults = [
        ("Content-Security-Policy", CSP.format(extra="").strip()),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ]
    if settings.issuer_is_https:
        defaults.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))

    @app.after_request
    def _headers(resp: Response) -> Response:
        headers = resp.headers
        present = {name.lower() for name, _ in headers.items()}
        missing = [(n, v) for n, v in defaults if n.lower() not in present]
        if _FORM_ACTION.lower() in present:
            # form_post responses submit to the client's redirect URI: allow that target
            extra = headers.pop(_FORM_ACTION, "")
            missing = [
                (n, CSP.format(extra=extra).strip() if n == "Content-Security-Policy" else v)
                for n, v in missing
            ]
        if (
            "cache-control" not in present
            and request.blueprint in _NO_STORE_PAGES
            and resp.mimetype == "text/html"
        ):
            missing.append(("Cache-Control", "no-store"))
        headers.extend(missing)
        return resp
