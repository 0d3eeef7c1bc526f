"""Which IP addresses Avain may connect to when it calls a URI a client registered.

OWASP SSRF Prevention Cheat Sheet: check the address a name resolves to, not the name;
refuse every range that reaches this machine, its network or the provider's metadata
service (RFC 6890 special-purpose registries), and look inside IPv6 forms that carry an
IPv4 address (RFC 4291 §2.5.5 mapped and compatible, RFC 3056 6to4, RFC 6052 NAT64).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address

_SHARED = IPv4Network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_IETF = IPv4Network("192.0.0.0/24")  # RFC 6890 §2.2.2 protocol assignments
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))  # RFC 6052, RFC 8215
_COMPATIBLE = IPv6Network("::/96")  # RFC 4291 §2.5.5.1, deprecated IPv4-compatible


def parse_ip(text: str) -> IPAddress | None:
    """An IP address written in ``text`` (brackets and an IPv6 zone allowed), else None."""
    try:
        return ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64) or (ip in _COMPATIBLE and int(ip) > 1):
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be called, or None for a globally routable unicast address."""
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = refusal(embedded)
            return f"{inner} (inside {ip})" if inner else None
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (isinstance(ip, IPv6Address) and ip.is_site_local, "a site-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, IPv4Address) and ip in _SHARED, "a shared (carrier-grade NAT) address"),
        (ip.is_reserved, "a reserved address"),
        (isinstance(ip, IPv4Address) and ip in _IETF, "a special-purpose address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "not a public address"),
    )
    for hit, why in checks:
        if hit:
            return f"{ip} is {why}"
    return None
