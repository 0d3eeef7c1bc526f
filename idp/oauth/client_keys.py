"""The public keys a client registers in ``jwks`` for private_key_jwt (RFC 7523 §2.2).

RFC 7591 §2: ``jwks`` is a JWK Set (RFC 7517 §5) of the client's *public* keys. Avain
verifies client assertions with RS256 and ES256 (``token_endpoint_auth_signing_alg_values_
supported``), so a usable key is an RSA key of at least 2048 bits (RFC 7518 §3.3) or an EC
P-256 key (RFC 7518 §3.4), not restricted to another use or algorithm. The same check runs
when a client is created and each time its stored keys are used, so keys stored before the
check existed are refused as ``invalid_client`` instead of failing the request.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, KeySet, RSAKey

MAX_KEYS = 20
SIGNING_ALGS = {"RSA": "RS256", "EC": "ES256"}
# RFC 7518 §6.2.2, §6.3.2 and §6.4.1: members that only a private or symmetric key has
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class UnusableKeys(ValueError):
    """The ``jwks`` cannot be used; the message says why (for ``error_description``)."""


def _modulus_bits(raw: dict[str, Any]) -> int:
    """The RSA modulus size, read before import (joserfc warns about small keys)."""
    n = raw.get("n")
    if not isinstance(n, str):
        raise UnusableKeys("jwks has an RSA key that cannot be read.")
    try:
        return int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))).bit_length()
    except (binascii.Error, ValueError):
        raise UnusableKeys("jwks has an RSA key that cannot be read.") from None


def _usable(raw: dict[str, Any]) -> RSAKey | ECKey | None:
    kty = raw.get("kty")
    if kty not in SIGNING_ALGS:
        return None
    if raw.get("use", "sig") != "sig" or raw.get("alg", SIGNING_ALGS[kty]) != SIGNING_ALGS[kty]:
        return None
    ops = raw.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    if kty == "RSA" and _modulus_bits(raw) < 2048:
        return None
    try:
        key = JWKRegistry.import_key(raw)
    except (JoseError, ValueError, TypeError):
        raise UnusableKeys(f"jwks has an {kty} key that cannot be read.") from None
    if isinstance(key, RSAKey):
        return key
    if isinstance(key, ECKey) and key.curve_name == "P-256":
        return key
    return None


def signing_keys(jwks: Any) -> KeySet:
    """The usable public signing keys of ``jwks``; :class:`UnusableKeys` when there are none."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise UnusableKeys('jwks must be a JWK Set: an object with an array "keys".')
    raws = jwks["keys"]
    if not raws or len(raws) > MAX_KEYS:
        raise UnusableKeys(f"jwks must hold 1 to {MAX_KEYS} keys.")
    if not all(isinstance(raw, dict) and isinstance(raw.get("kty"), str) for raw in raws):
        raise UnusableKeys('Every key in jwks must be an object with a "kty".')
    if any(PRIVATE_MEMBERS & raw.keys() for raw in raws):
        raise UnusableKeys("jwks must hold public keys only, without private key material.")
    usable = [key for key in map(_usable, raws) if key is not None]
    if not usable:
        raise UnusableKeys(
            "jwks has no usable signing key: RSA of 2048 bits or more (RS256) or EC P-256 (ES256)."
        )
    return KeySet(list(usable))
