"""Personal details of events, sealed under a per-customer key; salted commitments for the log.

The log commits to an event's details with ``SHA-256(salt || canonical details)``; the
details and the salt are stored encrypted (AES-256-GCM) under the customer's own key,
which is itself wrapped by the ledger's master key. Destroying the customer's key makes
the details unreadable while every hash in the log still verifies (crypto-shredding).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class SealError(Exception):
    """Details cannot be opened: the key is gone (erased) or the data was altered."""


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap(master: bytes, customer_key: bytes, customer_id: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(master).encrypt(
        nonce, customer_key, b"avain-customer-key:" + customer_id.encode()
    )


def unwrap(master: bytes, wrapped: bytes, customer_id: str) -> bytes:
    try:
        return AESGCM(master).decrypt(
            wrapped[:12], wrapped[12:], b"avain-customer-key:" + customer_id.encode()
        )
    except InvalidTag:
        raise SealError("the customer's key cannot be unwrapped with this master key") from None


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    commitment: str  # hex SHA-256(salt || canonical details)


def seal(customer_key: bytes, details: dict[str, Any], associated: bytes) -> Sealed:
    salt = os.urandom(16)
    body = canonical(details)
    nonce = os.urandom(12)
    ciphertext = nonce + AESGCM(customer_key).encrypt(nonce, salt + body, associated)
    return Sealed(ciphertext, hashlib.sha256(salt + body).hexdigest())


def open_sealed(
    customer_key: bytes, ciphertext: bytes, commitment: str, associated: bytes
) -> dict[str, Any]:
    try:
        plain = AESGCM(customer_key).decrypt(ciphertext[:12], ciphertext[12:], associated)
    except InvalidTag:
        raise SealError("the sealed details were altered or belong to another event") from None
    if hashlib.sha256(plain).hexdigest() != commitment:
        raise SealError("the details do not match their commitment")
    details: dict[str, Any] = json.loads(plain[16:])
    return details
