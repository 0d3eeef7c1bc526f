"""Issuing and finding tokens: JWT access tokens (RFC 9068), ID tokens (OIDC Core §2),
refresh tokens, and revocation of a whole grant (RFC 9700 §4.14)."""

from __future__ import annotations

import secrets
import time
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from authlib.oidc.core.util import create_half_hash
from sqlalchemy import Table, bindparam, insert, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from consent import ledger
from idp import context, contributions, direct, signing
from idp.db import aware, mark_written, utcnow
from idp.ledger import disclosures
from idp.ledger.consents import keep_rows, release
from idp.ledger.context import consent_context
from idp.models import (
    AuthorizationCode,
    Client,
    DisclosureChannel,
    Grant,
    SsoSession,
    Token,
    User,
    digest,
)
from idp.oauth import claims as claims_mod
from idp.subjects import subject


@dataclass
class GrantContext:
    """Facts of the authentication that a token chain carries along."""

    grant_id: str
    sid: str | None = None
    auth_time: datetime | None = None
    acr: str | None = None
    amr: list[str] | None = None
    nonce: str | None = None
    claims_request: dict[str, Any] | None = None
    grant_scope: str = ""
    #: RFC 9396: what the grant was authorised for (a handoff's order), from :class:`Held`
    authorization_details: list[dict[str, Any]] | None = None

    @classmethod
    def carried_by(
        cls, row: AuthorizationCode | Token, grant_scope: str, nonce: str | None = None
    ) -> GrantContext:
        """The authentication facts a code or an earlier token passes on."""
        return cls(
            grant_id=row.grant_id,
            sid=row.sid,
            auth_time=row.auth_time,
            acr=row.acr,
            amr=row.amr,
            nonce=nonce,
            claims_request=row.claims_request,
            grant_scope=grant_scope,
        )


def issue(
    session: Session,
    client: Client,
    user: User | None,
    scope: str,
    ctx: GrantContext,
    include_refresh_token: bool,
    *,
    audience: str | None = None,
    lifetime: int | None = None,
) -> dict[str, Any]:
    """Create and store an access token (and maybe a refresh token); return the response dict.

    ``audience`` and ``lifetime`` default to the issuer and ``access_token_lifetime``; an
    admin API token (:mod:`idp.oauth.admin_scopes`) has the API as its audience.
    """
    s = context.settings()
    now = int(time.time())
    jti = secrets.token_urlsafe(24)
    sub = subject(session, user, client) if user else client.client_id
    lifetime = lifetime or s.access_token_lifetime
    at_claims: dict[str, Any] = {
        "iss": s.issuer,
        "sub": sub,
        "aud": audience or s.issuer,
        "client_id": client.client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": jti,
        "scope": scope,
    }
    if ctx.authorization_details:
        at_claims["authorization_details"] = ctx.authorization_details  # RFC 9396 §9.1
    if user and ctx.auth_time:
        at_claims["auth_time"] = int(aware(ctx.auth_time).timestamp())
        if ctx.acr:
            at_claims["acr"] = ctx.acr
        if ctx.amr:
            at_claims["amr"] = ctx.amr
    alg = client.access_token_signed_response_alg or s.access_token_signing_alg
    access_token = signing.sign(session, alg, at_claims, typ="at+jwt")
    token: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope,
    }
    if ctx.authorization_details:
        token["authorization_details"] = ctx.authorization_details  # RFC 9396 §7
    refresh_token = secrets.token_urlsafe(48) if include_refresh_token and user else None
    issued = utcnow()
    # one INSERT, without the unit of work: nothing in the request reads the row back
    row = {
        "grant_id": ctx.grant_id,
        "jti": jti,
        "access_token_hash": digest(access_token),
        "refresh_token_hash": digest(refresh_token) if refresh_token else None,
        "client_id": client.client_id,
        "user_id": user.id if user else None,
        "sid": ctx.sid,
        "scope": scope,
        "grant_scope": ctx.grant_scope or scope,
        "claims_request": ctx.claims_request,
        "auth_time": ctx.auth_time,
        "acr": ctx.acr,
        "amr": ctx.amr,
        "issued_at": issued,
        "access_expires_at": issued + timedelta(seconds=lifetime),
        "refresh_expires_at": (
            issued + timedelta(seconds=s.refresh_token_lifetime) if refresh_token else None
        ),
    }
    _INSERT_TOKEN.execute(session, row)
    if refresh_token:
        token["refresh_token"] = refresh_token
    return token


# Core statements on the tables, built once and sent direct (idp.direct): nothing in the
# session mirrors these rows, and SQLAlchemy's execution of a statement costs more CPU than
# its round trip
_grants, _tokens, _sso, _users = (
    cast(Table, m.__table__) for m in (Grant, Token, SsoSession, User)
)
# every column but the id and the three a token's later life sets
_INSERT_TOKEN = direct.Statement(
    insert(_tokens).inline(),  # no RETURNING of the new id: nothing reads it
    given=tuple(
        c.name
        for c in _tokens.c
        if c.name not in ("id", "refresh_used_at", "revoked_at", "access_revoked_at")
    ),
)


def id_token(
    session: Session,
    client: Client,
    user: User,
    ctx: GrantContext,
    access_token: str | None,
    code: str | None = None,
    alg: str | None = None,
) -> str:
    """OIDC Core §2 and §3.1.3.6; claims asked for in ``claims.id_token`` are added.

    Called from Authlib's ``OpenIDToken`` hook (``idp.oauth.oidc``), which chooses ``alg``.
    """
    s = context.settings()
    alg = alg or client.id_token_signed_response_alg or "RS256"
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": s.issuer,
        "sub": subject(session, user, client),
        "aud": client.client_id,
        "iat": now,
        "exp": now + s.id_token_lifetime,
    }
    if ctx.auth_time:
        payload["auth_time"] = int(aware(ctx.auth_time).timestamp())
    if ctx.nonce:
        payload["nonce"] = ctx.nonce
    if ctx.acr:
        payload["acr"] = ctx.acr
    if ctx.amr:
        payload["amr"] = ctx.amr
    if ctx.sid:
        payload["sid"] = ctx.sid
    if access_token:
        payload["at_hash"] = create_half_hash(access_token, alg).decode()
    if code:
        payload["c_hash"] = create_half_hash(code, alg).decode()
    wanted = claims_mod.requested_claims("", ctx.claims_request, "id_token")
    payload.update(released_claims(session, user, client, wanted, DisclosureChannel.ID_TOKEN))
    return signing.sign(session, alg, payload)


def released_claims(
    session: Session, user: User, client: Client, wanted: set[str], channel: DisclosureChannel
) -> dict[str, Any]:
    """The values of the claims the consent ledger lets this client have (``decide()``).

    What leaves is recorded in the disclosure log (:func:`idp.ledger.disclosures.record`)
    with the caller's commit, unless the ``disclosure_log`` setting is off. The one way out
    for customer claims: a new channel (token exchange) calls this with its own.
    """
    wanted = wanted - claims_mod.PROTOCOL_CLAIMS
    if not wanted:
        return {}
    now = utcnow()
    decision = release(session, consent_context(), user, client, wanted, now)
    values = claims_mod.claim_values(user, set(decision.claims))
    values.update(contributions.latest_values(session, user.id, set(decision.claims)))
    if values and context.settings().disclosure_log:
        disclosures.record(session, user.id, client.client_id, decision, values, channel, now)
    return values


def find_by_access_token(session: Session, value: str, with_consent: bool = False) -> Token | None:
    """``with_consent``: the caller releases claims to the token's client next (userinfo);
    on PostgreSQL the customer's events for that client are read in the same statement."""
    if with_consent and _lateral(session):
        return _with_customer(session, _BY_ACCESS_WITH_EVENTS, digest(value), events=True)
    return _with_customer(session, _BY_ACCESS, digest(value))


def find_by_refresh_token(session: Session, value: str) -> Token | None:
    return _with_customer(session, _BY_REFRESH, digest(value))


def find_for_introspection(session: Session, value: str, kind: str) -> Token | None:
    """As the two above, with the grant's ``authorization_details`` (RFC 9396 §9.2) read in
    the same statement (:meth:`Token.authorization_details`), and on PostgreSQL the
    customer's events for the token's client (introspection releases claims to it)."""
    access = kind == "access_token"
    if _lateral(session):
        stmt = _DETAILED_WITH_EVENTS[access]
    else:
        stmt = _DETAILED_BY_ACCESS if access else _DETAILED_BY_REFRESH
    rows = stmt.execute(session, {"digest": digest(value)}).rows
    if not rows:
        return None
    token = _token_of(session, rows, events=stmt in _DETAILED_WITH_EVENTS.values())
    token.keep_details(rows[0][_TOKEN.width + _USER.width])
    return token


def _with_customer(
    session: Session, stmt: direct.Statement, hashed: str, events: bool = False
) -> Token | None:
    """The token and its customer (none for a client's own token) in one round trip; the
    token holds the customer for the request (:meth:`Token.get_user`)."""
    rows = stmt.execute(session, {"digest": hashed}).rows
    return _token_of(session, rows, events) if rows else None


def _token_of(session: Session, rows: list[Any], events: bool) -> Token:
    """The token of the first row; with ``events``, each row's last columns are one of the
    customer's consent events for the token's client (or NULLs when there is none), kept
    for the release that follows (:func:`idp.ledger.consents.keep_rows`)."""
    first = rows[0]
    token: Token = _TOKEN.found(session, first)
    token.keep_user(_USER.of(session, first, _TOKEN.width))
    if events and token.user_id:
        tail = -len(ledger.EVENT_COLUMNS)
        found = [_EVENT_ROW(r[tail:]) for r in rows if r[tail] is not None]
        keep_rows(session, token.user_id, token.client_id, found)
    return token


def _lateral(session: Session) -> bool:
    """Whether the database joins a subquery on the row before it (``LATERAL``)."""
    bind = session.get_bind()
    return bind.dialect.name == "postgresql"


_TOKEN, _USER = direct.Entity(Token), direct.Entity(User)
_TOKEN_AND_CUSTOMER = select(_tokens, _users).select_from(
    _tokens.outerjoin(_users, _users.c.id == _tokens.c.user_id)
)
_BY_ACCESS, _BY_REFRESH = (
    direct.Statement(_TOKEN_AND_CUSTOMER.where(column == bindparam("digest")))
    for column in (_tokens.c.access_token_hash, _tokens.c.refresh_token_hash)
)
_DETAILED = _TOKEN_AND_CUSTOMER.add_columns(_grants.c.authorization_details).outerjoin_from(
    _tokens, _grants, _grants.c.id == _tokens.c.grant_id
)
_DETAILED_BY_ACCESS, _DETAILED_BY_REFRESH = (
    direct.Statement(_DETAILED.where(column == bindparam("digest")))
    for column in (_tokens.c.access_token_hash, _tokens.c.refresh_token_hash)
)


def _with_events(stmt: Any) -> Any:
    """``stmt`` (a token's row) with the customer's consent events for the token's client
    joined on (PostgreSQL's ``LATERAL``), one row per event, in the ledger's order."""
    events = ledger.recipient_events(_tokens.c.user_id, _tokens.c.client_id).lateral("events")
    columns = [events.c[name] for name in ledger.EVENT_COLUMNS]
    return (
        stmt.add_columns(*columns)
        .outerjoin_from(_tokens, events, true())
        .order_by(events.c.queued, events.c.pos)
    )


_EVENT_ROW = namedtuple("_EVENT_ROW", ledger.EVENT_COLUMNS)._make  # type: ignore[attr-defined]
_BY_ACCESS_WITH_EVENTS = direct.Statement(
    _with_events(_TOKEN_AND_CUSTOMER.where(_tokens.c.access_token_hash == bindparam("digest")))
)
_DETAILED_WITH_EVENTS = {
    access: direct.Statement(_with_events(_DETAILED.where(column == bindparam("digest"))))
    for access, column in (
        (True, _tokens.c.access_token_hash),
        (False, _tokens.c.refresh_token_hash),
    )
}


def access_active(token: Token, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        token.revoked_at is None
        and token.access_revoked_at is None
        and aware(token.access_expires_at) > now
    )


def refresh_active(token: Token, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (
        token.revoked_at is None
        and token.refresh_used_at is None
        and token.refresh_expires_at is not None
        and aware(token.refresh_expires_at) > now
    )


def open_grant(
    session: Session,
    grant_id: str,
    client_id: str,
    user_id: str,
    sid: str | None,
    scope: str,
    *,
    used_at: datetime | None = None,
    authorization_details: list[dict[str, Any]] | None = None,
) -> None:
    """Record the grant an authorization code starts, before the code is handed out (or a
    handoff's grant, ``used_at`` its redemption)."""
    _INSERT_GRANT.execute(
        session,
        {
            "id": grant_id,
            "client_id": client_id,
            "user_id": user_id,
            "sid": sid,
            "offline": "offline_access" in scope.split(),
            "created_at": utcnow(),
            "used_at": used_at,
            "authorization_details": authorization_details,
        },
    )
    mark_written(session)


_INSERT_GRANT = direct.Statement(
    insert(_grants).inline(),
    given=(
        "id",
        "client_id",
        "user_id",
        "sid",
        "offline",
        "created_at",
        "used_at",
        "authorization_details",
    ),
)


@dataclass(frozen=True)
class Held:
    """A live grant, held (row-locked) for issuing tokens from it."""

    authorization_details: list[dict[str, Any]] | None


def hold_grant(session: Session, grant_id: str, first_use: bool = False) -> Held | None:
    """Lock a live grant for issuing tokens from it; None when it is revoked or gone.

    RFC 9700 §4.14: rotation and revocation serialise on the grant row. The UPDATE waits
    for a revoking transaction that holds the row and then re-checks ``revoked_at``, so no
    token is issued from a grant whose revocation committed first. ``first_use`` is the
    code's redemption: its SSO session must still stand (OIDC Core §3.1.3: a code issued
    before logout is not redeemable after it), read under a share lock so that a logout in
    flight is waited for.
    """
    stmt = _HOLD_FIRST_USE if first_use else _HOLD
    row = stmt.execute(session, {"grant_id": grant_id, "now": utcnow()}).first()
    return Held(row[0]) if row is not None else None


# RETURNING: what the tokens carry comes back with the lock, not with another SELECT
_HOLD_ANY = (
    update(_grants)
    .where(_grants.c.id == bindparam("grant_id"), _grants.c.revoked_at.is_(None))
    .values(used_at=bindparam("now"))
    .returning(_grants.c.authorization_details)
)
_HOLD = direct.Statement(_HOLD_ANY)
_HOLD_FIRST_USE = direct.Statement(
    _HOLD_ANY.where(
        or_(
            _grants.c.sid.is_(None),
            select(_sso.c.id)
            .where(
                _sso.c.id == _grants.c.sid,
                _sso.c.revoked_at.is_(None),
                _sso.c.expires_at > bindparam("now"),
            )
            .with_for_update(read=True)
            .exists(),
        )
    )
)


def claim_refresh(session: Session, token: Token) -> bool:
    """Mark a refresh token used, atomically; False when another request used it first or it
    was revoked meanwhile. Called with the grant held (:func:`hold_grant`)."""
    now = utcnow()
    claimed = _CLAIM_REFRESH.execute(session, {"token_id": token.id, "now": now}).rowcount == 1
    if claimed:  # what the row now holds, without reading it back
        set_committed_value(token, "refresh_used_at", now)
    return claimed


_CLAIM_REFRESH = direct.Statement(
    update(_tokens)
    .where(
        _tokens.c.id == bindparam("token_id"),
        _tokens.c.refresh_used_at.is_(None),
        _tokens.c.revoked_at.is_(None),
    )
    .values(refresh_used_at=bindparam("now"))
)
