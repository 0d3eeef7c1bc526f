"""OpenID Connect Back-Channel Logout 1.0: which clients to tell, and their logout tokens.

The fan-out decision is SSO knowledge (who took part in a session); the tokens are queued in
the outbox, which delivers them (:mod:`idp.events.outbox`) without knowing about sessions."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp import signing
from idp.events.kinds import BACKCHANNEL_LOGOUT
from idp.models import AuthorizationCode, Client, Delivery, User
from idp.sso.sessions import list_active
from idp.subjects import subject

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def clients_in_session(session: Session, sid: str) -> list[Client]:
    ids = session.scalars(
        select(AuthorizationCode.client_id).where(AuthorizationCode.sid == sid).distinct()
    )
    found = [session.get(Client, cid) for cid in ids]
    return [c for c in found if c is not None]


def logout_token(session: Session, issuer: str, client: Client, user: User, sid: str | None) -> str:
    """§2.4: iss, aud, iat, exp, jti, events, and sub and/or sid; never a nonce."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "sub": subject(session, user, client),
        "events": {LOGOUT_EVENT: {}},
    }
    if sid:
        claims["sid"] = sid
    return signing.sign(
        session, client.id_token_signed_response_alg or "RS256", claims, typ="logout+jwt"
    )


def enqueue_session_logout(session: Session, issuer: str, user: User, sid: str) -> list[Delivery]:
    """Queue a logout token for each client that took part in the session."""
    queued = []
    for client in clients_in_session(session, sid):
        if not client.backchannel_logout_uri:
            continue
        delivery = Delivery(
            kind=BACKCHANNEL_LOGOUT,
            client_id=client.client_id,
            url=client.backchannel_logout_uri,
            payload=logout_token(session, issuer, client, user, sid),
        )
        session.add(delivery)
        queued.append(delivery)
    session.flush()
    return queued


def enqueue_client_logout(
    session: Session, issuer: str, user: User, client: Client
) -> list[Delivery]:
    """Tell one client that the customer's sessions with it are over (e.g. consent withdrawn)."""
    if not client.backchannel_logout_uri:
        return []
    queued = []
    for sso in list_active(session, user.id):
        took_part = session.scalar(
            select(AuthorizationCode.code_hash)
            .where(AuthorizationCode.sid == sso.id, AuthorizationCode.client_id == client.client_id)
            .limit(1)
        )
        if took_part is None:
            continue
        delivery = Delivery(
            kind=BACKCHANNEL_LOGOUT,
            client_id=client.client_id,
            url=client.backchannel_logout_uri,
            payload=logout_token(session, issuer, client, user, sso.id),
        )
        session.add(delivery)
        queued.append(delivery)
    session.flush()
    return queued
