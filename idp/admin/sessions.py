"""Console sessions: a cookie of their own, an idle and an absolute limit, passkey freshness.

The ``avain_admin`` cookie (Path=/admin, HttpOnly, SameSite=Strict, Secure on https) holds
a random token; the database holds its SHA-256 (``admin_sessions``), so signing out or
disabling an admin ends the session on the server, not only in the browser. Flask-Login's
customer session is a different cookie and is never consulted here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from idp.admin.accounts import digest
from idp.db import aware, utcnow
from idp.models.admins import Admin, AdminSession

COOKIE = "avain_admin"
PATH = "/admin"
IDLE = timedelta(minutes=15)
ABSOLUTE = timedelta(hours=8)
FRESH = timedelta(minutes=5)  # a dangerous action needs a passkey proven this recently
TOUCH_EVERY = timedelta(seconds=30)  # last_seen_at is written at most this often


def clock() -> datetime:
    """The time the console's sessions go by (tests replace it)."""
    return utcnow()


@dataclass(frozen=True)
class Current:
    row: AdminSession
    admin: Admin

    def fresh(self, now: datetime) -> bool:
        return now - aware(self.row.verified_at) <= FRESH


def start(session: Session, admin: Admin, now: datetime) -> str:
    """A new session for ``admin``, who has just proven a passkey; the cookie's token."""
    token = secrets.token_urlsafe(32)
    session.add(
        AdminSession(
            token_hash=digest(token),
            admin_id=admin.id,
            created_at=now,
            last_seen_at=now,
            verified_at=now,
        )
    )
    admin.last_sign_in_at = now
    session.flush()
    return token


def current(session: Session, token: str | None, now: datetime) -> Current | None:
    """The live session of ``token``: not ended, within both limits, its admin active.

    A session past a limit is ended on the spot. Seen again, ``last_seen_at`` moves on.
    """
    if not token or len(token) > 200:
        return None
    row = session.get(AdminSession, digest(token))
    if row is None or row.ended_at is not None:
        return None
    admin = session.get(Admin, row.admin_id)
    expired = now - aware(row.created_at) > ABSOLUTE or now - aware(row.last_seen_at) > IDLE
    if admin is None or not admin.active or expired:
        row.ended_at = now
        session.flush()
        return None
    if now - aware(row.last_seen_at) >= TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return Current(row, admin)


def reverified(current: Current, now: datetime) -> None:
    current.row.verified_at = now


def end(session: Session, token: str | None, now: datetime) -> None:
    if not token:
        return
    row = session.get(AdminSession, digest(token[:200]))
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.flush()
