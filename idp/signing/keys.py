"""Token-signing keys: ES256 and RS256, rotation, JWKS (RFC 7517).

Life of a key: created and published in the JWKS at once; signs from ``active_from``
(``key_publish_delay`` later on rotation, so relying parties have fetched it first)
until a newer key of the same algorithm becomes active; after that it stays
published until every token it signed has expired (``retire_after``).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.db import aware, utcnow
from idp.models import SigningKey

ALGORITHMS = ("RS256", "ES256")


class KeyError_(Exception):
    """No usable signing key; the message says what to run."""


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    state: str  # "next", "signing", "retiring"
    created_at: datetime
    active_from: datetime
    retire_after: datetime | None


def _fernet(secret_key: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"avain signing keys v1")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(secret_key.encode())))


def _generate_pem(alg: str) -> bytes:
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"unsupported algorithm {alg}")
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def create_key(
    session: Session, secret_key: str, alg: str, active_from: datetime | None = None
) -> SigningKey:
    pem = _generate_pem(alg)
    kid = f"{alg.lower()}-{secrets.token_hex(8)}"
    now = utcnow()
    key = SigningKey(
        kid=kid,
        alg=alg,
        private_key=_fernet(secret_key).encrypt(pem),
        created_at=now,
        active_from=active_from or now,
    )
    session.add(key)
    session.flush()
    return key


def ensure_keys(session: Session, secret_key: str) -> list[SigningKey]:
    """First start: create one key per algorithm where none exists. The caller serialises
    instances that start at once (:func:`idp.startup.prepare`)."""
    created = []
    for alg in ALGORITHMS:
        exists = session.scalar(select(SigningKey.kid).where(SigningKey.alg == alg).limit(1))
        if exists is None:
            created.append(create_key(session, secret_key, alg))
    return created


def rotate(
    session: Session,
    secret_key: str,
    publish_delay: int,
    max_token_lifetime: int,
    algs: tuple[str, ...] = ALGORITHMS,
) -> list[SigningKey]:
    """Publish a new key per algorithm that starts signing after ``publish_delay``.

    The keys it replaces are marked to retire once their last tokens have expired.
    """
    now = utcnow()
    starts = now + timedelta(seconds=publish_delay)
    new_keys = []
    for alg in algs:
        for old in _published(session, alg, now):
            if aware(old.active_from) >= starts:
                # a key from an earlier rotation that has not signed yet never will
                old.superseded_at = old.active_from
                old.retire_after = starts
            elif old.superseded_at is None or aware(old.superseded_at) > starts:
                old.superseded_at = starts
                old.retire_after = starts + timedelta(seconds=max_token_lifetime)
        new_keys.append(create_key(session, secret_key, alg, active_from=starts))
    return new_keys


def _published(session: Session, alg: str | None, now: datetime) -> list[SigningKey]:
    stmt = select(SigningKey).order_by(SigningKey.active_from.desc(), SigningKey.created_at.desc())
    if alg:
        stmt = stmt.where(SigningKey.alg == alg)
    return [
        k for k in session.scalars(stmt) if k.retire_after is None or aware(k.retire_after) > now
    ]


@dataclass(frozen=True)
class StoredKey:
    """A row of ``signing_keys`` as plain values (times aware), for keeping in memory."""

    kid: str
    alg: str
    private_key: bytes
    created_at: datetime
    active_from: datetime
    superseded_at: datetime | None
    retire_after: datetime | None


def stored_keys(session: Session) -> tuple[StoredKey, ...]:
    """Every key, the newest to sign first."""
    stmt = select(SigningKey).order_by(SigningKey.active_from.desc(), SigningKey.created_at.desc())
    return tuple(
        StoredKey(
            k.kid,
            k.alg,
            k.private_key,
            aware(k.created_at),
            aware(k.active_from),
            aware(k.superseded_at) if k.superseded_at else None,
            aware(k.retire_after) if k.retire_after else None,
        )
        for k in session.scalars(stmt)
    )


def published(stored: tuple[StoredKey, ...], now: datetime) -> list[StoredKey]:
    """The keys in the JWKS at ``now``: made, and not yet retired."""
    return [k for k in stored if k.retire_after is None or k.retire_after > now]


def _state(key: SigningKey | StoredKey, now: datetime) -> str:
    if aware(key.active_from) > now:
        return "next"
    if key.superseded_at is not None and aware(key.superseded_at) <= now:
        return "retiring"
    return "signing"


def list_keys(session: Session) -> list[KeyInfo]:
    now = utcnow()
    return [
        KeyInfo(
            k.kid,
            k.alg,
            _state(k, now),
            aware(k.created_at),
            aware(k.active_from),
            aware(k.retire_after) if k.retire_after else None,
        )
        for k in _published(session, None, now)
    ]


@lru_cache(maxsize=64)
def _load_private(kid: str, blob: bytes, secret_key: str, alg: str) -> Any:
    try:
        pem = _fernet(secret_key).decrypt(blob)
    except InvalidToken:
        raise KeyError_(
            f"signing key {kid} cannot be decrypted: IDP_SECRET_KEY differs from the one "
            "it was created with. Restore the old secret or run `idp keys rotate --now`."
        ) from None
    key_cls = RSAKey if alg == "RS256" else ECKey
    return key_cls.import_key(pem, {"kid": kid, "alg": alg, "use": "sig"})


def signing_key(session: Session, secret_key: str, alg: str) -> Any:
    """The joserfc key that signs now for ``alg``, read from the database."""
    return active_key(stored_keys(session), secret_key, alg)


def active_key(stored: tuple[StoredKey, ...], secret_key: str, alg: str) -> Any:
    """The joserfc key of ``stored`` that signs now for ``alg``."""
    now = utcnow()
    for key in published(stored, now):
        if key.alg == alg and _state(key, now) == "signing":
            return _load_private(key.kid, key.private_key, secret_key, key.alg)
    raise KeyError_(
        f"no active {alg} signing key; run `idp db upgrade` (a new installation) "
        "or `idp keys rotate --now`"
    )


def public_jwks(session: Session, secret_key: str) -> dict[str, Any]:
    return jwks_of(stored_keys(session), secret_key)


def jwks_of(stored: tuple[StoredKey, ...], secret_key: str) -> dict[str, Any]:
    """The published keys' public parts (RFC 7517 §5)."""
    keys = [
        _load_private(k.kid, k.private_key, secret_key, k.alg) for k in published(stored, utcnow())
    ]
    return {"keys": [k.as_dict(private=False) for k in keys]}
