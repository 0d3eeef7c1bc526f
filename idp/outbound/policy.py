"""Which registered URIs Avain may call from the server, checked when a client is created and
again, after DNS resolution, every time Avain calls one.

OpenID Connect Back-Channel Logout 1.0 §2.2: the ``backchannel_logout_uri`` SHOULD use https;
http only for a confidential client and only when the OP allows it (``outbound_allow_http``),
and never with a fragment. Beyond the spec, against server-side request forgery (OWASP SSRF
Prevention Cheat Sheet): no IP literals, no names of this machine, and every address a name
resolves to must be public (:mod:`idp.outbound.addresses`), unless the operator lists the host
in ``outbound_allow_hosts`` (the demo partners on localhost).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from idp.outbound.addresses import parse_ip, refusal

Resolver = Callable[[str, int], list[str]]
MAX_URI_LENGTH = 2000
DEFAULT_PORTS = {"https": 443, "http": 80}


class Refused(ValueError):
    """Avain will not call this URI; ``reason`` says why, for the client or the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def system_resolver(host: str, port: int) -> list[str]:
    """Every address of ``host`` as the operating system resolves it, in its order."""
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class AllowEntry:
    """One ``outbound_allow_hosts`` entry: a host, and a port or None for every port."""

    host: str
    port: int | None

    @classmethod
    def parse(cls, text: str) -> AllowEntry:
        """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; ValueError when it is none."""
        entry = text.strip().lower()
        host, port = entry, ""
        if entry.startswith("["):
            host, bracket, rest = entry[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError(text)
            port = rest[1:]
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        host = host.rstrip(".")
        if not host or any(ch in host for ch in "/@?# ") or (port and not port.isdigit()):
            raise ValueError(text)
        number = int(port) if port else None
        if number is not None and not 0 < number < 65536:
            raise ValueError(text)
        return cls(host, number)

    def matches(self, host: str, port: int) -> bool:
        return self.host == host and self.port in (None, port)


@dataclass(frozen=True)
class OutboundPolicy:
    """The operator's settings for calls Avain makes; the defaults are the strict ones."""

    allow_hosts: tuple[AllowEntry, ...] = ()
    allow_http: bool = False
    resolver: Resolver = field(default=system_resolver, compare=False)

    def allows(self, host: str, port: int) -> bool:
        return any(entry.matches(host, port) for entry in self.allow_hosts)


class OutboundSettings(Protocol):
    """What :func:`policy_from` reads of :class:`idp.config.Settings`. A protocol, not an
    import: the settings use :class:`AllowEntry` to check ``outbound_allow_hosts``, so
    configuration sits below this package and is not imported back."""

    @property
    def outbound_allow_hosts(self) -> Sequence[str]: ...

    @property
    def outbound_allow_http(self) -> bool: ...


def policy_from(settings: OutboundSettings) -> OutboundPolicy:
    return OutboundPolicy(
        allow_hosts=tuple(AllowEntry.parse(e) for e in settings.outbound_allow_hosts),
        allow_http=bool(settings.outbound_allow_http),
    )


@dataclass(frozen=True)
class Target:
    """A checked URI: where to connect and what to say in ``Host`` and TLS SNI."""

    scheme: str
    host: str
    port: int
    path: str
    allow_listed: bool

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _is_ip_literal(host: str) -> bool:
    """An IP address, also in the legacy IPv4 forms resolvers accept (``127.1``, ``2130706433``)."""
    if parse_ip(host) is not None:
        return True
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def check_target(uri: Any, policy: OutboundPolicy, confidential: bool = True) -> Target:
    """The static checks: at registration, and again before each call (Back-Channel Logout §2.2)."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI_LENGTH:
        raise Refused(f"must be a URI of at most {MAX_URI_LENGTH} characters")
    if not uri.isascii() or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in uri):
        raise Refused("must be an ASCII URI without spaces or control characters")
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise Refused("must not contain a fragment")
    if parts.scheme == "http":
        if not policy.allow_http:
            raise Refused("must use https")
        if not confidential:
            raise Refused("may use http only for a confidential client")
    elif parts.scheme != "https":
        raise Refused("must use https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Refused("must not contain user information")
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise Refused("has an invalid port") from None
    if not host:
        raise Refused("must name a host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if policy.allows(host, port):
        return Target(parts.scheme, host, port, path, allow_listed=True)
    if _is_ip_literal(host):
        raise Refused("must name a host, not an IP address")
    if host == "localhost" or host.endswith(".localhost") or "." not in host:
        raise Refused("must name a public host")
    return Target(parts.scheme, host, port, path, allow_listed=False)


def resolve(target: Target, policy: OutboundPolicy) -> list[str]:
    """Resolve once and check every address; the caller connects only to what this returns.

    A name with any non-public address is refused as a whole, so a DNS answer cannot mix
    one public address with an internal one. Allow-listed hosts skip the address check
    but are still pinned to the addresses resolved here.
    """
    literal = parse_ip(target.host)
    addresses = [str(literal)] if literal is not None else policy.resolver(target.host, target.port)
    if not addresses:
        raise Refused(f"{target.host} has no address")
    if not target.allow_listed:
        for address in addresses:
            ip = parse_ip(address)
            why = refusal(ip) if ip is not None else f"{address} is not an IP address"
            if why:
                raise Refused(f"{target.host} resolves to {why}")
    return addresses
