"""What the running app knows about itself: settings, keys, shared state, salts.

Views and Authlib hooks reach the app's state through these helpers, so the services
themselves stay free of Flask globals. This module sits below every service and imports
none: the throttles are made in :mod:`idp.auth.limits`, the replay cache in
:mod:`idp.replay`, the consent context in :mod:`idp.ledger.context`.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp import cache
from idp.config import Settings
from idp.models import InstanceSecret


def settings() -> Settings:
    s: Settings = current_app.config["AVAIN"]
    return s


def redis_client() -> Any | None:
    return current_app.extensions.get("avain.redis")


def instance_secret(session: Session, name: str) -> bytes:
    """The installation's secret ``name``, made on first use (by whichever request is first);
    kept in memory once it is in the database (:mod:`idp.cache`)."""
    kept = cache.value(session, "secret", name, lambda: _stored_secret(session, name))
    if kept is not None:
        return kept
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


def _stored_secret(session: Session, name: str) -> bytes | None:
    row = session.get(InstanceSecret, name)
    return None if row is None else row.value


def max_token_lifetime() -> int:
    s = settings()
    return int(max(s.access_token_lifetime, s.id_token_lifetime))
