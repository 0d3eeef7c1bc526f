"""The URIs a browser is sent to: redirect URIs and post-logout redirect URIs.

The rules, checked for every client whatever its grant types:

* absolute, ASCII, no spaces or control characters, at most 2000 characters;
* no fragment (RFC 6749 §3.1.2) and no user information (``https://rp@evil.example``);
* ``https`` with a host (RFC 9700 §4.1.1 and §2.6: no open redirects, no clear text);
* ``http`` only to this machine: ``localhost``, ``*.localhost``, ``127.0.0.1`` or ``[::1]``
  (RFC 8252 §7.3 loopback redirects for native apps, and local development);
* for public (native) clients also a private-use scheme in reverse domain form such as
  ``com.example.app:/callback`` (RFC 8252 §7.1); this is what keeps out ``javascript:``,
  ``data:``, ``vbscript:`` and ``file:``, whose names have no dot.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

MAX_URI_LENGTH = 2000
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_PRIVATE_SCHEME = re.compile(r"^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$")


def check_browser_uri(uri: Any, native: bool = False) -> str:
    """Return ``uri`` if a browser may be sent to it; ValueError saying why not."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_LENGTH:
        raise ValueError(f"must be a non-empty URI of at most {MAX_URI_LENGTH} characters")
    if not uri.isascii() or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in uri):
        raise ValueError(f"must be an ASCII URI without spaces or control characters: {uri!r}")
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise ValueError(f"must not contain a fragment: {uri}")
    scheme = parts.scheme.lower()
    if scheme in {"http", "https"}:
        if "@" in parts.netloc:
            raise ValueError(f"must not contain user information: {uri}")
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError(f"has an invalid port: {uri}") from None
        host = parts.hostname or ""
        if scheme == "https" and host:
            return uri
        if scheme == "http" and (host in LOOPBACK_HOSTS or host.endswith(".localhost")):
            return uri
    elif native and _PRIVATE_SCHEME.match(scheme) and not parts.netloc and parts.path:
        return uri
    raise ValueError(f"must be https (or http on localhost): {uri}")
