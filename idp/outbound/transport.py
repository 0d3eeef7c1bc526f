"""POST a form to a registered URI, connecting only to the addresses that were checked.

The name is resolved once (:func:`idp.outbound.policy.resolve`); the connection goes to that
IP with the URI's host in ``Host`` and in TLS (SNI and certificate check), so a DNS answer
that changes between the check and the connection (DNS rebinding) cannot redirect it.
No proxies from the environment, no redirects followed, the response body is not read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import certifi
import urllib3
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from idp.outbound.policy import OutboundPolicy, Target, check_target, resolve

MAX_ADDRESSES = 3  # addresses tried, in the resolver's order, when one does not connect


def _pool(target: Target, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=limits,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            assert_hostname=target.host,
            server_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(address, target.port, timeout=limits, retries=False)


def post_form(uri: str, form: dict[str, str], timeout: float, policy: OutboundPolicy) -> int:
    """Send ``form`` to ``uri``; returns the HTTP status.

    Raises :class:`~idp.outbound.policy.Refused` when the URI or its addresses may not be
    called, ``OSError`` or ``urllib3.exceptions.HTTPError`` when the network fails.
    """
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _ = post(uri, urlencode(form).encode(), headers, timeout, policy)
    return status


MAX_RESPONSE = 4096  # bytes of a response body read (an error description), the rest ignored


def post(
    uri: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    policy: OutboundPolicy,
    read_body: bool = False,
) -> tuple[int, bytes]:
    """POST ``body`` with ``headers`` to ``uri``; returns the status and, with
    ``read_body``, up to :data:`MAX_RESPONSE` bytes of the response (e.g. an RFC 8935
    §2.3 error). Raises as :func:`post_form` does."""
    target = check_target(uri, policy)
    addresses = resolve(target, policy)
    sent = {
        **headers,
        "Host": target.host_header,
        "Cache-Control": "no-cache",
        "User-Agent": "Avain",
    }
    last: Exception | None = None
    for address in addresses[:MAX_ADDRESSES]:
        pool = _pool(target, address, timeout)
        try:
            resp: Any = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=sent,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            status = int(resp.status)
            content = resp.read(MAX_RESPONSE) if read_body else b""
            resp.close()
            return status, content
        except (NewConnectionError, ConnectTimeoutError) as exc:
            last = exc
        finally:
            pool.close()
    raise last or OSError(f"no address of {target.host} to connect to")
