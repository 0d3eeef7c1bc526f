"""All Authlib wiring in one place: the authorization server, its grants and endpoints."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.authenticate_client import authenticate_client_secret_basic
from authlib.oauth2.rfc6749.util import scope_to_list

from idp import cache
from idp.db import get_session
from idp.models import Client
from idp.oauth.claims import SUPPORTED_SCOPES
from idp.oauth.endpoints import Introspection, PrivateKeyJWT, Revocation
from idp.oauth.exchange import TokenExchangeGrant
from idp.oauth.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    Issuer,
    RefreshTokenGrant,
)
from idp.oauth.oidc import AvainOpenIDCode, AvainOpenIDToken
from idp.oauth.pkce import RequireS256


class AvainAuthorizationServer(AuthorizationServer):
    def query_client(self, client_id: str) -> Client | None:
        if (
            not isinstance(client_id, str)
            or not client_id
            or len(client_id) > 64
            or ("\x00" in client_id)
        ):
            return None
        return cache.row(get_session(), Client, client_id)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Grants store their tokens themselves (``idp.oauth.tokens.issue``)."""

    def validate_requested_scope(self, scope: str | None) -> None:
        """OIDC Core §3.1.2.1: scope values the server does not know are ignored."""


def client_secret_basic(query_client: Any, request: Any) -> Client | None:
    """RFC 6749 §2.3.1 over RFC 7617 §2.1 (UTF-8): credentials that do not decode name no
    client, so the request ends as ``invalid_client`` like any other wrong secret."""
    try:
        client: Client | None = authenticate_client_secret_basic(query_client, request)
    except UnicodeDecodeError:
        return None
    return client


def create_server(app: Any) -> AvainAuthorizationServer:
    server = AvainAuthorizationServer()
    server.init_app(app)
    server.scopes_supported = list(SUPPORTED_SCOPES)
    server.register_extension(Issuer())
    server.register_grant(AuthorizationCodeGrant, [RequireS256(), AvainOpenIDCode()])
    server.register_grant(RefreshTokenGrant, [AvainOpenIDToken()])
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(TokenExchangeGrant)
    server.register_client_auth_method("client_secret_basic", client_secret_basic)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT())
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    return server


def known_scopes(scope: str) -> str:
    return " ".join(s for s in scope_to_list(scope or "") if s in SUPPORTED_SCOPES)
