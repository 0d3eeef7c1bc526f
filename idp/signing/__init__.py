"""Signing with Avain's keys: the one service that issues JWTs (access and ID tokens,
logout tokens) and publishes the JWKS (RFC 7517). The keys themselves, their rotation and
their storage are in :mod:`idp.signing.keys`.

Both only read: the keys are made before the first request, by ``idp db upgrade`` and at
start-up (:mod:`idp.startup`).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from joserfc import jwt
from sqlalchemy.orm import Session

from idp.config import Settings
from idp.signing import keys


def _secret_key() -> str:
    settings: Settings = current_app.config["AVAIN"]
    return settings.secret_key


def signing_key(session: Session, alg: str) -> Any:
    """The key that signs ``alg`` now; ``keys.KeyError_`` saying what to run when none does."""
    return keys.signing_key(session, _secret_key(), alg)


def sign(session: Session, alg: str, claims: dict[str, Any], typ: str | None = None) -> str:
    """A compact JWS of ``claims`` with the active ``alg`` key (its ``kid`` in the header)."""
    key = signing_key(session, alg)
    header = {"alg": alg, "kid": key.kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, key, algorithms=[alg])


def public_jwks(session: Session) -> dict[str, Any]:
    """The published keys (RFC 7517 §5)."""
    return keys.public_jwks(session, _secret_key())


__all__ = ["keys", "public_jwks", "sign", "signing_key"]
