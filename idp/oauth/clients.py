"""Creating and validating clients, shared by the CLI, the admin and dynamic registration."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.models import Client, hash_secret
from idp.oauth.claims import OIDC_SCOPES, SUPPORTED_SCOPES
from idp.oauth.client_keys import UnusableKeys, signing_keys
from idp.oauth.client_uris import check_browser_uri
from idp.outbound import OutboundPolicy, Refused, check_target

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (RFC 8693)
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE)
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")


class ClientError(Exception):
    """Invalid client metadata; ``error`` is the RFC 7591 §3.2.2 code."""

    def __init__(self, description: str, error: str = "invalid_client_metadata") -> None:
        super().__init__(description)
        self.description = description
        self.error = error


@dataclass
class ClientSpec:
    name: str
    redirect_uris: list[str]
    public: bool = False
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code", "refresh_token"])
    token_endpoint_auth_method: str | None = None
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = True
    subject_type: str = "public"
    scope: str = " ".join(OIDC_SCOPES)
    id_token_signed_response_alg: str = "RS256"  # noqa: S105
    #: its access tokens' algorithm; None follows the server's ``access_token_signing_alg``
    access_token_signed_response_alg: str | None = None
    jwks: dict[str, Any] | None = None
    first_party: bool = False
    client_id: str | None = None


def _browser_uris(uris: list[str], what: str, native: bool) -> list[str]:
    """RFC 7591 §3.2.2: a bad redirect URI is ``invalid_redirect_uri``; other URIs are
    ``invalid_client_metadata``."""
    error = "invalid_redirect_uri" if what == "redirect_uri" else "invalid_client_metadata"
    checked = []
    for uri in uris:
        try:
            checked.append(check_browser_uri(uri, native=native))
        except ValueError as exc:
            raise ClientError(f"{what} {exc}", error) from None
    return checked


def validate(spec: ClientSpec, outbound: OutboundPolicy | None = None) -> ClientSpec:
    """Check every field of ``spec``; ``outbound`` says which URIs Avain may call itself."""
    if not spec.name or len(spec.name) > 200:
        raise ClientError("client_name must be 1 to 200 characters.")
    unknown = set(spec.grant_types) - set(GRANT_TYPES)
    if unknown:
        raise ClientError(f"Unsupported grant type {sorted(unknown)[0]}.")
    if not spec.grant_types:
        raise ClientError("At least one grant type is required.")
    method = spec.token_endpoint_auth_method or ("none" if spec.public else "client_secret_basic")
    if method not in AUTH_METHODS:
        raise ClientError(f"Unsupported token_endpoint_auth_method {method}.")
    spec.token_endpoint_auth_method = method
    spec.public = method == "none"
    if spec.public and "client_credentials" in spec.grant_types:
        raise ClientError("A public client cannot use client_credentials.")
    if spec.public and TOKEN_EXCHANGE in spec.grant_types:
        raise ClientError("A public client cannot use token exchange.")
    if method == "private_key_jwt" and spec.jwks is None:
        raise ClientError("private_key_jwt needs the client's public keys in jwks.")
    if spec.jwks is not None:
        try:
            signing_keys(spec.jwks)
        except UnusableKeys as exc:
            raise ClientError(str(exc)) from None
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        raise ClientError("At least one redirect_uri is required.", "invalid_redirect_uri")
    spec.redirect_uris = _browser_uris(spec.redirect_uris, "redirect_uri", native=spec.public)
    spec.post_logout_redirect_uris = _browser_uris(
        spec.post_logout_redirect_uris, "post_logout_redirect_uri", native=False
    )
    if spec.backchannel_logout_uri is not None:
        try:
            check_target(spec.backchannel_logout_uri, outbound or OutboundPolicy(), not spec.public)
        except Refused as exc:
            raise ClientError(f"backchannel_logout_uri {exc.reason}.") from None
    if spec.subject_type not in {"public", "pairwise"}:
        raise ClientError("subject_type must be public or pairwise.")
    if spec.subject_type == "pairwise":
        hosts = {urlsplit(u).hostname for u in spec.redirect_uris}
        if len(hosts) > 1:
            raise ClientError("Pairwise clients need their redirect URIs on one host.")
    if spec.id_token_signed_response_alg not in {"RS256", "ES256"}:
        raise ClientError("id_token_signed_response_alg must be RS256 or ES256.")
    if spec.access_token_signed_response_alg not in {None, "RS256", "ES256"}:
        raise ClientError("access_token_signed_response_alg must be RS256 or ES256.")
    spec.scope = " ".join(s for s in spec.scope.split() if s in SUPPORTED_SCOPES) or "openid"
    return spec


_CLIENT_ID_ALPHABET = string.ascii_letters + string.digits


def new_client_id() -> str:
    """A random client_id of 24 letters and digits (about 143 bits).

    Letters and digits only: a base64url id may begin with "-", which a command line reads
    as an option (``idp clients show -a8h...`` failed), and "_"/"-" are easy to lose when
    a partner copies the id out of an e-mail.
    """
    return "".join(secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(24))


def create(
    session: Session, spec: ClientSpec, outbound: OutboundPolicy | None = None
) -> tuple[Client, str | None]:
    """Create a client; returns it and its secret, shown once (None for other methods).

    ``outbound`` is the operator's policy for URIs Avain calls (``policy_from(settings)``);
    without it, the strict default: https to public hosts only.
    """
    spec = validate(spec, outbound)
    client_id = spec.client_id or new_client_id()
    if session.get(Client, client_id) is not None:
        raise ClientError(f"A client with id {client_id} exists already.")
    secret = (
        secrets.token_urlsafe(32)
        if spec.token_endpoint_auth_method in {"client_secret_basic", "client_secret_post"}
        else None
    )
    response_types = ["code"] if "authorization_code" in spec.grant_types else []
    client = Client(
        client_id=client_id,
        client_secret_hash=hash_secret(secret) if secret else None,
        client_name=spec.name,
        redirect_uris=spec.redirect_uris,
        post_logout_redirect_uris=spec.post_logout_redirect_uris,
        grant_types=spec.grant_types,
        response_types=response_types,
        scope=spec.scope,
        token_endpoint_auth_method=spec.token_endpoint_auth_method,
        subject_type=spec.subject_type,
        id_token_signed_response_alg=spec.id_token_signed_response_alg,
        access_token_signed_response_alg=spec.access_token_signed_response_alg,
        jwks=spec.jwks,
        backchannel_logout_uri=spec.backchannel_logout_uri,
        backchannel_logout_session_required=spec.backchannel_logout_session_required,
        first_party=spec.first_party,
    )
    session.add(client)
    session.flush()
    return client, secret


def all_clients(session: Session) -> list[Client]:
    return list(session.scalars(select(Client).order_by(Client.created_at)))


def describe(client: Client) -> dict[str, Any]:
    """Registered metadata in RFC 7591 §3.2.1 form (no secret)."""
    return {
        "client_id": client.client_id,
        "client_name": client.client_name,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "grant_types": client.grant_types,
        "response_types": client.response_types,
        "scope": client.scope,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "subject_type": client.subject_type,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        **(
            {"access_token_signed_response_alg": client.access_token_signed_response_alg}
            if client.access_token_signed_response_alg
            else {}
        ),
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "backchannel_logout_session_required": client.backchannel_logout_session_required,
        "client_id_issued_at": int(client.created_at.timestamp()),
    }
