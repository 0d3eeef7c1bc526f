"""Server-side SSO sessions: start (a fresh id at every login), load, list, revoke."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from idp import direct
from idp.db import aware, loaded, mark_written, utcnow
from idp.models import SsoSession, User

ACR_PASSWORD = "urn:avain:acr:pwd"  # noqa: S105


def start_session(
    session: Session,
    user: User,
    lifetime: int,
    amr: list[str],
    acr: str = ACR_PASSWORD,
    user_agent: str | None = None,
    ip: str | None = None,
) -> SsoSession:
    now = utcnow()
    row = {
        "id": secrets.token_urlsafe(32),
        "user_id": user.id,
        "created_at": now,
        "auth_time": now,
        "last_seen_at": now,
        "expires_at": now + timedelta(seconds=lifetime),
        "revoked_at": None,
        "amr": amr,
        "acr": acr,
        "user_agent": (user_agent or "")[:300] or None,
        "ip_address": ip,
    }
    session.execute(_INSERT, row)
    mark_written(session)
    sso = loaded(session, SsoSession, row)
    set_committed_value(sso, "user", user)
    return sso


# one prebuilt Core INSERT: a sign-in writes the row and reads nothing back
_INSERT = insert(cast(Table, SsoSession.__table__))


def load_active(session: Session, sid: str) -> SsoSession | None:
    if not sid or len(sid) > 64:
        return None
    # the customer with it: every caller goes on to use ``sso.user``
    sso = session.identity_map.get(_SSO.cls.__mapper__.identity_key_from_primary_key((sid,)))
    if sso is None:
        row = _WITH_CUSTOMER.execute(session, {"sid": sid}).first()
        sso = _SSO.of(session, row) if row is not None else None
        if sso is not None and "user" not in sso.__dict__:
            set_committed_value(sso, "user", _USER.of(session, row, _SSO.width))
    now = utcnow()
    if sso is None or not sso.is_active_at(now):
        return None
    if now - aware(sso.last_seen_at) > timedelta(minutes=5):
        sso.last_seen_at = now
    return sso


_sso, _users = (cast(Table, m.__table__) for m in (SsoSession, User))
_SSO, _USER = direct.Entity(SsoSession), direct.Entity(User)
_WITH_CUSTOMER = direct.Statement(
    select(_sso, _users)
    .select_from(_sso.outerjoin(_users, _users.c.id == _sso.c.user_id))
    .where(_sso.c.id == bindparam("sid"))
)


def revoke(session: Session, sso: SsoSession, when: datetime | None = None) -> None:
    if sso.revoked_at is None:
        sso.revoked_at = when or utcnow()


def revoke_all(session: Session, user_id: str, except_sid: str | None = None) -> list[str]:
    """Revoke every active session of a customer; returns the revoked ids."""
    now = utcnow()
    stmt = select(SsoSession).where(SsoSession.user_id == user_id, SsoSession.revoked_at.is_(None))
    revoked = []
    for sso in session.scalars(stmt):
        if sso.id != except_sid and sso.is_active_at(now):
            sso.revoked_at = now
            revoked.append(sso.id)
    return revoked


def list_active(session: Session, user_id: str) -> list[SsoSession]:
    now = utcnow()
    stmt = (
        select(SsoSession)
        .where(SsoSession.user_id == user_id, SsoSession.revoked_at.is_(None))
        .order_by(SsoSession.auth_time.desc())
    )
    return [s for s in session.scalars(stmt) if s.is_active_at(now)]
