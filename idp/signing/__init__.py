"""Signing with Avain's keys: the one service that issues JWTs (access and ID tokens,
logout tokens) and publishes the JWKS (RFC 7517). The keys themselves, their rotation and
their storage are in :mod:`idp.signing.keys`.

Both only read: the keys are made before the first request, by ``idp db upgrade`` and at
start-up (:mod:`idp.startup`). Each worker keeps them in memory until they change
(:mod:`idp.cache`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import current_app
from joserfc import jwt
from sqlalchemy.orm import Session

from idp import cache
from idp.config import Settings
from idp.db import utcnow
from idp.signing import keys


def _secret_key() -> str:
    settings: Settings = current_app.config["AVAIN"]
    return settings.secret_key


def _stored(session: Session) -> tuple[keys.StoredKey, ...]:
    """The keys, as this worker last read them (:mod:`idp.cache`)."""
    return cache.value(session, "signing", "keys", lambda: keys.stored_keys(session)) or ()


def signing_key(session: Session, alg: str) -> Any:
    """The key that signs ``alg`` now; ``keys.KeyError_`` saying what to run when none does."""
    return keys.active_key(_stored(session), _secret_key(), alg)


def sign(session: Session, alg: str, claims: dict[str, Any], typ: str | None = None) -> str:
    """A compact JWS of ``claims`` with the active ``alg`` key (its ``kid`` in the header)."""
    key = signing_key(session, alg)
    header = {"alg": alg, "kid": key.kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, key, algorithms=[alg])


def public_jwks(session: Session) -> dict[str, Any]:
    """The published keys (RFC 7517 §5)."""
    return keys.jwks_of(_stored(session), _secret_key())


def jwks_document(session: Session) -> tuple[bytes, str]:
    """The JWKS as sent, and its ETag; made again when the published keys change (a
    rotation, or a key's retirement coming due)."""
    stored = _stored(session)
    kids = ",".join(k.kid for k in keys.published(stored, utcnow()))

    def build() -> tuple[bytes, str]:
        body = json.dumps(keys.jwks_of(stored, _secret_key())).encode()
        return body, hashlib.sha256(body).hexdigest()[:32]

    return cache.value(session, "jwks", kids, build) or build()


__all__ = ["jwks_document", "keys", "public_jwks", "sign", "signing_key"]
