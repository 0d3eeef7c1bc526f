"""What the running app knows about itself: settings, keys, shared state, salts.

Views and Authlib hooks reach the app's services through these helpers, so the
services themselves stay free of Flask globals.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.auth.throttle import DbCounter, LoginThrottle, RedisCounter
from idp.config import Settings
from idp.models import InstanceSecret
from idp.oauth import keys


def settings() -> Settings:
    s: Settings = current_app.config["AVAIN"]
    return s


def redis_client() -> Any | None:
    return current_app.extensions.get("avain.redis")


def throttle(session: Session) -> LoginThrottle:
    s = settings()
    client = redis_client()
    counter = (
        RedisCounter(client, s.login_throttle_window)
        if client is not None
        else DbCounter(session, s.login_throttle_window)
    )
    return LoginThrottle(counter, s.login_max_failures)


def seen_before(session: Session, key: str) -> bool:
    """Record ``key`` once (a replay cache); True when it was already recorded."""
    s = settings()
    client = redis_client()
    counter = (
        RedisCounter(client, s.login_throttle_window)
        if client is not None
        else DbCounter(session, s.login_throttle_window)
    )
    return counter.hit(f"once:{key}") > 1


def instance_secret(session: Session, name: str) -> bytes:
    row = session.get(InstanceSecret, name)
    if row is None:
        try:
            with session.begin_nested():
                row = InstanceSecret(name=name, value=secrets.token_bytes(32))
                session.add(row)
        except IntegrityError:
            row = session.get(InstanceSecret, name)
    assert row is not None
    return row.value


def signing_key(session: Session, alg: str) -> Any:
    s = settings()
    try:
        return keys.signing_key(session, s.secret_key, alg)
    except keys.KeyError_:
        if keys.list_keys(session):
            raise
        keys.ensure_keys(session, s.secret_key)
        return keys.signing_key(session, s.secret_key, alg)


def max_token_lifetime() -> int:
    s = settings()
    return int(max(s.access_token_lifetime, s.id_token_lifetime))


def public_jwks(session: Session) -> dict[str, Any]:
    """The published keys, created on first use of a fresh installation."""
    s = settings()
    data = keys.public_jwks(session, s.secret_key)
    if not data["keys"]:
        keys.ensure_keys(session, s.secret_key)
        data = keys.public_jwks(session, s.secret_key)
    return data


def consent_context() -> Any:
    """The catalogue and ledger keys of the running app."""
    from idp.ledger.consents import Context

    return Context(
        current_app.extensions["avain.catalogue"], current_app.extensions["avain.ledger_keys"]
    )
