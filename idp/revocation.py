"""Revoking a whole grant and every token issued from it (RFC 9700 §4.14, RFC 7009 §2.1).

Below both :mod:`idp.oauth` (a code or refresh token used again revokes its grant) and
:mod:`idp.sso` (a logout ends the grants of the session): neither imports the other for it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from idp.db import utcnow
from idp.models import Grant, Handoff, Token


def _revoke_grants(session: Session, *where: Any) -> int:
    """Revoke the grants that match, then every token issued from them.

    The grants go first: their row locks wait for a redemption or rotation in flight, whose
    new tokens are committed by the time the second statement reads ``tokens``.
    """
    now = utcnow()
    ids = list(
        session.scalars(
            update(Grant)
            .where(Grant.revoked_at.is_(None), *where)
            .values(revoked_at=now)
            .returning(Grant.id)
        )
    )
    if not ids:
        return 0
    result = session.execute(
        update(Token)
        .where(Token.grant_id.in_(ids), Token.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def revoke_grant(session: Session, grant_id: str) -> int:
    """One grant, e.g. when its code or a rotated refresh token is used again."""
    count = _revoke_grants(session, Grant.id == grant_id)
    # Client-credentials tokens have no grant row.
    result = session.execute(
        update(Token)
        .where(Token.grant_id == grant_id, Token.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return count + int(getattr(result, "rowcount", 0) or 0)


def revoke_session_tokens(session: Session, sid: str) -> int:
    """At logout: grants of the session end, except offline_access grants already redeemed
    (OIDC Core §11); a code not yet redeemed ends with the session in any case."""
    return _revoke_grants(
        session, Grant.sid == sid, or_(Grant.offline.is_(False), Grant.used_at.is_(None))
    )


def revoke_client_tokens(session: Session, user_id: str, client_id: str) -> int:
    """Every grant of this customer at this client, e.g. when consent is withdrawn, and the
    handoff tokens (RFC 8693) for this client not redeemed yet.

    The handoffs go first: a redemption in flight holds its row, so this waits for it and
    the grant it opened is committed by the time the grants are revoked.
    """
    session.execute(
        update(Handoff)
        .where(
            Handoff.user_id == user_id,
            Handoff.audience == client_id,
            Handoff.used_at.is_(None),
            Handoff.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return _revoke_grants(session, Grant.user_id == user_id, Grant.client_id == client_id)


def revoke_purpose_tokens(session: Session, user_id: str, client_id: str, purpose_id: str) -> int:
    """What rested on one purpose of a client that keeps others: the handoff tokens (RFC
    8693) issued for it and not redeemed yet, and the grants their redemptions opened.

    The client's other grants stand: the claims they release are decided again at every
    release, so the purpose's claims stop there without ending the customer's sign-in.
    Handoffs go first, as in :func:`revoke_client_tokens`.
    """
    mine = (
        Handoff.user_id == user_id,
        Handoff.audience == client_id,
        Handoff.purpose_id == purpose_id,
    )
    session.execute(
        update(Handoff)
        .where(*mine, Handoff.used_at.is_(None), Handoff.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    opened = select(Handoff.redeemed_grant_id).where(*mine, Handoff.redeemed_grant_id.is_not(None))
    return _revoke_grants(session, Grant.id.in_(opened), Grant.user_id == user_id)


def revoke_user_grants(session: Session, user_id: str) -> int:
    """Every grant of the customer, offline ones included: "signed out everywhere"."""
    return _revoke_grants(session, Grant.user_id == user_id)
