"""Ending SSO sessions everywhere: the session, the grants it made, and a back-channel
logout queued for every client that took part (OIDC Back-Channel Logout 1.0 §2.7), with a
CAEP session-revoked SET for their Shared Signals streams (:mod:`idp.events.signals`).

The caller commits, then kicks the outbox (:func:`idp.events.outbox.kick`) when logouts
were queued.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp import context
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
