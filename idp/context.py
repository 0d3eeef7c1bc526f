"""What the running app knows about itself: settings, keys, shared state, salts.

Views and Authlib hooks reach the app's services through these helpers, so the
services themselves stay free of Flask globals.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.auth.replay import DbReplayCache, RedisReplayCache, ReplayCache
from idp.auth.throttle import (
    Counter,
    DbCounter,
    LoginThrottle,
    MailThrottle,
    RedisCounter,
    RegistrationThrottle,
)
from idp.config import Settings
from idp.models import InstanceSecret


def settings() -> Settings:
    s: Settings = current_app.config["AVAIN"]
    return s


def redis_client() -> Any | None:
    return current_app.extensions.get("avain.redis")


def _counter(session: Session) -> Counter:
    """Redis when configured (shared by every instance), else the database."""
    window = settings().login_throttle_window
    client = redis_client()
    return RedisCounter(client, window) if client is not None else DbCounter(session, window)


def throttle(session: Session) -> LoginThrottle:
    return LoginThrottle(_counter(session), settings().login_max_failures)


def registration_throttle(session: Session) -> RegistrationThrottle:
    return RegistrationThrottle(_counter(session), settings().registration_max_per_ip)


def mail_throttle(session: Session) -> MailThrottle:
    s = settings()
    return MailThrottle(_counter(session), s.mail_max_per_address, s.registration_max_per_ip)


def first_use(session: Session, key: str, until: datetime) -> bool:
    """Remember ``key`` until ``until`` (a replay cache: Redis when configured, else the
    database); True the first time, False while it is remembered."""
    client = redis_client()
    cache: ReplayCache = RedisReplayCache(client) if client is not None else DbReplayCache(session)
    return cache.first_use(key, until)


def instance_secret(session: Session, name: str) -> bytes:
    """The installation's secret ``name``, made on first use (by whichever request is first)."""
    row = session.get(InstanceSecret, name)
    if row is None:
        try:
            with session.begin_nested():
                row = InstanceSecret(name=name, value=secrets.token_bytes(32))
                session.add(row)
        except IntegrityError:  # another request made it first: use theirs
            row = session.get(InstanceSecret, name)
    if row is None:
        raise RuntimeError(f"instance secret {name!r} was neither created nor found")
    return row.value


def max_token_lifetime() -> int:
    s = settings()
    return int(max(s.access_token_lifetime, s.id_token_lifetime))


def consent_context() -> Any:
    """The catalogue, ledger keys and customers' rate limit of the running app."""
    from consent.ledger import RateLimit
    from idp.ledger.consents import Context

    return Context(
        current_app.extensions["avain.catalogue"],
        current_app.extensions["avain.ledger_keys"],
        RateLimit(settings().consent_events_per_minute),
    )
