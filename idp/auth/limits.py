"""The running app's throttles: counters in Redis when configured (shared by every
instance), else in the database (:mod:`idp.auth.throttle`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from idp import context
from idp.auth.throttle import (
    Counter,
    DbCounter,
    LoginThrottle,
    MailThrottle,
    RedisCounter,
    RegistrationThrottle,
)


def _counter(session: Session) -> Counter:
    window = context.settings().login_throttle_window
    client = context.redis_client()
    return RedisCounter(client, window) if client is not None else DbCounter(session, window)


def login_throttle(session: Session) -> LoginThrottle:
    return LoginThrottle(_counter(session), context.settings().login_max_failures)


def registration_throttle(session: Session) -> RegistrationThrottle:
    return RegistrationThrottle(_counter(session), context.settings().registration_max_per_ip)


def mail_throttle(session: Session) -> MailThrottle:
    s = context.settings()
    return MailThrottle(_counter(session), s.mail_max_per_address, s.registration_max_per_ip)
