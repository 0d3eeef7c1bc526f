"""The console's clients (relying parties): create, edit, rotate a secret, delete.

Plain functions on a Session, for the console's pages and the admin API alike. Every
change goes through :func:`idp.oauth.clients.validate`, the check dynamic registration
(RFC 7591) and the ``idp clients`` command use, so a client the console saves is one
registration would have accepted too. Secrets are issued here, shown once by the caller
and stored only as :func:`idp.models.hash_secret` digests.

Deleting a client first revokes every grant, token and handoff issued to it (as a
withdrawal does), then removes the row; the foreign keys take the revoked rows, its
Shared Signals stream and its queued events with it. The consent ledger and the disclosure
log keep their records: they are the evidence, and name the recipient by id only.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from idp.db import utcnow
from idp.models import AdminApiClient, Client, Grant, Handoff, Token, hash_secret
from idp.oauth.clients import ClientError, ClientSpec, create, describe, validate
from idp.outbound import OutboundPolicy

SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_URIS = 20  # per list: more is a mistake in a form, not a client


class PartnerError(Exception):
    """A request the console refuses; ``code`` names it for the page and the API."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


def is_admin_api_client(session: Session, client_id: str) -> bool:
    """An admin API client is the operator's (``idp admins api-client``), never a partner:
    whoever could rotate its secret here could act in its role, an owner's included."""
    return session.get(AdminApiClient, client_id) is not None


def find(session: Session, client_id: str) -> Client:
    """The partner client, or :class:`PartnerError` ``not_found`` (also for an admin API
    client)."""
    client = session.get(Client, client_id) if 0 < len(client_id) <= 64 else None
    if client is None or is_admin_api_client(session, client_id):
        raise PartnerError("not_found")
    return client


def all_clients(session: Session) -> list[Client]:
    """Every partner client, admin API clients left out."""
    return list(
        session.scalars(
            select(Client)
            .where(Client.client_id.not_in(select(AdminApiClient.client_id)))
            .order_by(Client.client_name, Client.client_id)
        )
    )


def spec_of(client: Client) -> ClientSpec:
    """What the client holds, as the edit form starts from."""
    return ClientSpec(
        name=client.client_name,
        redirect_uris=list(client.redirect_uris),
        grant_types=list(client.grant_types),
        token_endpoint_auth_method=client.token_endpoint_auth_method,
        post_logout_redirect_uris=list(client.post_logout_redirect_uris),
        backchannel_logout_uri=client.backchannel_logout_uri,
        backchannel_logout_session_required=client.backchannel_logout_session_required,
        subject_type=client.subject_type,
        scope=client.scope,
        id_token_signed_response_alg=client.id_token_signed_response_alg,
        access_token_signed_response_alg=client.access_token_signed_response_alg,
        jwks=client.jwks,
        first_party=client.first_party,
        client_id=client.client_id,
    )


def _bounded(spec: ClientSpec) -> None:
    """What a form can get wrong that registration's JSON types already rule out."""
    for uris in (spec.redirect_uris, spec.post_logout_redirect_uris):
        if len(uris) > MAX_URIS:
            raise ClientError(f"At most {MAX_URIS} URIs per list.")
    if len(spec.scope) > 2000:
        raise ClientError("scope is too long.")


def create_client(
    session: Session, spec: ClientSpec, outbound: OutboundPolicy | None
) -> tuple[Client, str | None]:
    """A new client and its secret (None for a public or private_key_jwt client)."""
    if spec.client_id is not None and not CLIENT_ID.match(spec.client_id):
        raise ClientError(
            "client_id must be 1 to 64 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit."
        )
    _bounded(spec)
    return create(session, spec, outbound)


@dataclass(frozen=True)
class Updated:
    changed: list[str]  # metadata names whose value changed, sorted
    secret: str | None  # issued when the client moved to a secret method without one


def _snapshot(client: Client) -> dict[str, Any]:
    return {**describe(client), "first_party": client.first_party, "jwks": client.jwks}


def dangerous_change(client: Client, spec: ClientSpec) -> bool:
    """Whether saving ``spec`` needs a fresh passkey in the console (``admin:dangerous`` in
    the API), as rotating a secret does.

    A change of how ``client`` proves itself at /token, its method (a secret issued or
    dropped) or its ``jwks`` (the keys a ``private_key_jwt`` client signs its assertions
    with): whoever puts their own key there gets the client's tokens. And making a client
    first-party: its customers are then never asked, so their claims flow without the
    consent screen."""
    method = spec.token_endpoint_auth_method or "client_secret_basic"
    credential = method != client.token_endpoint_auth_method or (spec.jwks or None) != (
        client.jwks or None
    )
    return credential or (spec.first_party and not client.first_party)


def update_client(
    session: Session, client: Client, spec: ClientSpec, outbound: OutboundPolicy | None
) -> Updated:
    """Apply ``spec`` (checked as registration checks it) to ``client``.

    The client id never changes. Moving to a secret method from one without a secret
    issues one (returned, to be shown once); moving away from secrets drops the digest, so
    the old secret stops working at once.
    """
    _bounded(spec)
    spec = validate(replace(spec, client_id=client.client_id), outbound)
    before = _snapshot(client)
    secret = None
    method = spec.token_endpoint_auth_method or "client_secret_basic"
    if method in SECRET_METHODS:
        if client.client_secret_hash is None:
            secret = secrets.token_urlsafe(32)
            client.client_secret_hash = hash_secret(secret)
    else:
        client.client_secret_hash = None
    client.client_name = spec.name
    client.redirect_uris = spec.redirect_uris
    client.post_logout_redirect_uris = spec.post_logout_redirect_uris
    client.grant_types = spec.grant_types
    client.response_types = ["code"] if "authorization_code" in spec.grant_types else []
    client.scope = spec.scope
    client.token_endpoint_auth_method = method
    client.subject_type = spec.subject_type
    client.id_token_signed_response_alg = spec.id_token_signed_response_alg
    client.access_token_signed_response_alg = spec.access_token_signed_response_alg
    client.jwks = spec.jwks
    client.backchannel_logout_uri = spec.backchannel_logout_uri
    client.backchannel_logout_session_required = spec.backchannel_logout_session_required
    client.first_party = spec.first_party
    session.flush()
    after = _snapshot(client)
    changed = sorted(k for k in after if after[k] != before.get(k))
    if secret:
        changed.append("client_secret")
    return Updated(changed, secret)


def rotate_secret(session: Session, client: Client) -> str:
    """A new secret for a client that authenticates with one; the old one stops working
    now (only its digest was kept). Tokens already issued stay valid until they expire."""
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise PartnerError("no_secret")
    secret = secrets.token_urlsafe(32)
    client.client_secret_hash = hash_secret(secret)
    session.flush()
    return secret


@dataclass(frozen=True)
class Removal:
    """What deleting a client ends (counted before the rows go)."""

    grants: int
    tokens: int
    handoffs: int


def in_use(session: Session, client_id: str) -> Removal:
    """The client's live grants, tokens and handoffs, as the delete page states them."""
    now = utcnow()
    grants = session.scalar(
        select(func.count())
        .select_from(Grant)
        .where(Grant.client_id == client_id, Grant.revoked_at.is_(None))
    )
    tokens = session.scalar(
        select(func.count())
        .select_from(Token)
        .where(
            Token.client_id == client_id,
            Token.revoked_at.is_(None),
            or_(
                Token.access_expires_at > now,
                Token.refresh_expires_at > now,
            ),
        )
    )
    handoffs = session.scalar(
        select(func.count())
        .select_from(Handoff)
        .where(
            or_(Handoff.client_id == client_id, Handoff.audience == client_id),
            Handoff.used_at.is_(None),
            Handoff.revoked_at.is_(None),
        )
    )
    return Removal(grants or 0, tokens or 0, handoffs or 0)


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def delete_client(session: Session, client: Client) -> Removal:
    """Revoke everything issued to the client, then delete it.

    The grants go first, as :mod:`idp.revocation` does: their row locks wait for a
    redemption or rotation in flight, whose tokens are then revoked with the rest.
    Client-credentials tokens have no grant and are revoked by client id.
    """
    now = utcnow()
    client_id = client.client_id
    handoffs = session.execute(
        update(Handoff)
        .where(
            or_(Handoff.client_id == client_id, Handoff.audience == client_id),
            Handoff.used_at.is_(None),
            Handoff.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    grants = session.execute(
        update(Grant)
        .where(Grant.client_id == client_id, Grant.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    tokens = session.execute(
        update(Token)
        .where(Token.client_id == client_id, Token.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    removal = Removal(_count(grants), _count(tokens), _count(handoffs))
    session.delete(client)
    session.flush()
    return removal


def describe_client(client: Client) -> dict[str, Any]:
    """The client as the admin API gives it: registration's metadata (RFC 7591 §3.2.1,
    never a secret or its hash) and what only an operator sets."""
    return {
        **describe(client),
        # null: the server's access_token_signing_alg
        "access_token_signed_response_alg": client.access_token_signed_response_alg,
        "first_party": client.first_party,
        "jwks": client.jwks,
        "has_secret": client.client_secret_hash is not None,
    }


def spec_from_metadata(meta: dict[str, Any], client_id: str | None = None) -> ClientSpec:
    """Registration metadata (already of the right JSON types) as a :class:`ClientSpec`,
    with registration's defaults for what is left out."""
    return ClientSpec(
        name=" ".join(str(meta.get("client_name") or "").split()),
        redirect_uris=list(meta.get("redirect_uris") or []),
        grant_types=list(meta.get("grant_types") or ["authorization_code"]),
        token_endpoint_auth_method=meta.get("token_endpoint_auth_method") or "client_secret_basic",
        post_logout_redirect_uris=list(meta.get("post_logout_redirect_uris") or []),
        backchannel_logout_uri=meta.get("backchannel_logout_uri") or None,
        backchannel_logout_session_required=bool(
            meta.get("backchannel_logout_session_required", True)
        ),
        subject_type=meta.get("subject_type") or "public",
        scope=" ".join(str(meta.get("scope") or "openid").split()),
        id_token_signed_response_alg=meta.get("id_token_signed_response_alg") or "RS256",
        access_token_signed_response_alg=meta.get("access_token_signed_response_alg") or None,
        jwks=meta.get("jwks"),
        first_party=bool(meta.get("first_party", False)),
        client_id=client_id,
    )
