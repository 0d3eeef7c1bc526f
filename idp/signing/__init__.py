"""Signing with Avain's keys: the one service that issues JWTs (access and ID tokens,
logout tokens) and publishes the JWKS (RFC 7517). The keys themselves, their rotation and
their storage are in :mod:`idp.signing.keys`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from joserfc import jwt
from sqlalchemy.orm import Session

from idp.signing import keys


def _secret_key() -> str:
    return str(current_app.config["AVAIN"].secret_key)


def signing_key(session: Session, alg: str) -> Any:
    """The key that signs ``alg`` now; a fresh installation's keys are made on first use."""
    secret_key = _secret_key()
    try:
        return keys.signing_key(session, secret_key, alg)
    except keys.KeyError_:
        if keys.list_keys(session):
            raise
        keys.ensure_keys(session, secret_key)
        return keys.signing_key(session, secret_key, alg)


def sign(session: Session, alg: str, claims: dict[str, Any], typ: str | None = None) -> str:
    """A compact JWS of ``claims`` with the active ``alg`` key (its ``kid`` in the header)."""
    key = signing_key(session, alg)
    header = {"alg": alg, "kid": key.kid}
    if typ:
        header["typ"] = typ
    return jwt.encode(header, claims, key, algorithms=[alg])


def public_jwks(session: Session) -> dict[str, Any]:
    """The published keys, created on first use of a fresh installation."""
    secret_key = _secret_key()
    data = keys.public_jwks(session, secret_key)
    if not data["keys"]:
        keys.ensure_keys(session, secret_key)
        data = keys.public_jwks(session, secret_key)
    return data


__all__ = ["keys", "public_jwks", "sign", "signing_key"]
