"""Ending SSO sessions everywhere: the session, the grants it made, and a back-channel
logout queued for every client that took part (OIDC Back-Channel Logout 1.0 §2.7), with a
CAEP session-revoked SET for their Shared Signals streams (:mod:`idp.events.signals`).

The caller commits, then kicks the outbox (:func:`idp.events.outbox.kick`) when logouts
were queued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp import context
from idp.db import utcnow
from idp.events import signals
from idp.models import Client, Grant, SsoSession, User
from idp.revocation import revoke_session_tokens, revoke_user_grants
from idp.sso import backchannel, sessions


def end_session(db: Session, sso: SsoSession) -> int:
    """Revoke the SSO session and its session-bound tokens; returns the logouts queued."""
    issuer = context.settings().issuer
    sessions.revoke(db, sso)
    revoke_session_tokens(db, sso.id)
    signals.session_revoked(db, issuer, sso.user, backchannel.clients_in_session(db, sso.id))
    queued = backchannel.enqueue_session_logout(db, issuer, sso.user, sso.id)
    return len(queued)


def end_expired_sessions(db: Session, now: datetime, limit: int = 500) -> int:
    """Sessions whose time ran out end as a logout does, as of their expiry: their
    session-bound tokens revoked (a grant without offline access does not outlive the
    sign-in, OIDC Core §11), a back-channel logout and a CAEP session-revoked SET
    (``initiating_entity`` "policy") to each client that took part. Returns the sessions
    ended; the outbox worker calls it every minute, at most ``limit`` at a time."""
    issuer = context.settings().issuer
    expired = db.scalars(
        select(SsoSession)
        .where(SsoSession.revoked_at.is_(None), SsoSession.expires_at <= now)
        .order_by(SsoSession.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for sso in expired:
        sessions.revoke(db, sso, when=sso.expires_at)
        revoke_session_tokens(db, sso.id)
        clients = backchannel.clients_in_session(db, sso.id)
        signals.session_revoked(db, issuer, sso.user, clients, initiating_entity="policy")
        backchannel.enqueue_session_logout(db, issuer, sso.user, sso.id)
    return len(expired)


def sweep_expired_sessions(app: Any) -> int:
    """:func:`end_expired_sessions` in a transaction of its own, for the outbox worker (the
    logouts and SETs it queues go out on the worker's next round)."""
    with app.app_context(), app.extensions["avain.sessionmaker"]() as db:
        ended = end_expired_sessions(db, utcnow())
        db.commit()
    return ended


def end_other_sessions(db: Session, user: User, keep: str | None = None) -> int:
    """End every active session of the customer but ``keep`` (e.g. after a password change,
    the browser that changed it); returns the logouts queued."""
    return sum(end_session(db, sso) for sso in sessions.list_active(db, user.id) if sso.id != keep)


def sign_out_everywhere(db: Session, user: User) -> int:
    """Every session and every grant, offline ones included (a password reset, a deleted
    account): no app keeps access. Returns the logouts queued."""
    told = {
        c.client_id
        for sso in sessions.list_active(db, user.id)
        for c in backchannel.clients_in_session(db, sso.id)
    }
    queued = end_other_sessions(db, user)
    live = db.scalars(
        select(Grant.client_id)
        .where(Grant.user_id == user.id, Grant.revoked_at.is_(None))
        .distinct()
    )
    others = [db.get(Client, cid) for cid in sorted(set(live) - told)]
    signals.session_revoked(
        db, context.settings().issuer, user, [c for c in others if c is not None]
    )
    revoke_user_grants(db, user.id)
    return queued
