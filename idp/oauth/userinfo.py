"""The UserInfo endpoint (OIDC Core §5.3) on Authlib's ``UserInfoEndpoint``, behind a
``ResourceProtector`` for bearer access tokens (RFC 6750).

Authlib parses the ``Authorization`` header, runs the validator and calls
:meth:`UserInfo.generate_user_info`. Two things are added here because Authlib lacks them:

* RFC 6750 §2.2: the token may come in a form-encoded POST body (``access_token``);
  Authlib reads only the header, and answers a request without one with its own
  ``missing_authorization`` error. Avain answers ``missing_token`` with a bare
  ``WWW-Authenticate: Bearer realm=...`` challenge, as RFC 6750 §3.1 asks of a request
  that carries no authentication at all.
* RFC 6750 §3: ``insufficient_scope`` must carry the ``WWW-Authenticate`` challenge too;
  Authlib's ``InsufficientScopeError`` sends none.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.errors import MissingAuthorizationError, UnsupportedTokenTypeError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from authlib.oidc.core import UserInfoEndpoint
from flask import request as flask_request

from idp import cache, subjects
from idp.db import get_session
from idp.models import Client, DisclosureChannel, Token, User
from idp.oauth import claims as claims_mod, tokens

REALM = "avain"


class MissingToken(OAuth2Error):
    """RFC 6750 §3.1: a request without a token gets the challenge and no error code."""

    error = "missing_token"
    description = "An access token is required."
    status_code = 401

    def get_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = super().get_headers()
        headers.append(("WWW-Authenticate", f'Bearer realm="{REALM}"'))
        return headers


class InsufficientScope(InvalidTokenError):
    """RFC 6750 §3.1 ``insufficient_scope`` (403), with the challenge §3 requires."""

    error = "insufficient_scope"
    status_code = 403


class AccessTokens(BearerTokenValidator):
    """Avain's JWT access tokens, found by their digest and checked against their row."""

    def authenticate_token(self, token_string: str) -> Token | None:
        session = get_session()
        token = tokens.find_by_access_token(session, token_string)
        if token is not None:
            token.keep_client(cache.row(session, Client, token.client_id))
        return token

    def validate_token(self, token: Token | None, scopes: Any, request: Any) -> None:
        """RFC 6750 §3.1: unknown, expired or revoked is ``invalid_token``; a token of a
        client alone (client credentials) names no customer, so it is invalid here too."""
        if token is None or not tokens.access_active(token) or not token.user_id:
            raise InvalidTokenError("The access token is invalid or expired.", realm=self.realm)
        if self.scope_insufficient(token.get_scope(), scopes):
            raise InsufficientScope("The token lacks the openid scope.", realm=self.realm)
        if token.get_user() is None or token.get_client() is None:
            raise InvalidTokenError("The access token is invalid or expired.", realm=self.realm)


class BearerTokens(ResourceProtector):
    def parse_request_authorization(self, request: Any) -> tuple[Any, str]:
        """RFC 6750 §2.1 (header, parsed by Authlib) or §2.2 (form body, added here)."""
        try:
            validator, token_string = super().parse_request_authorization(request)
        except (MissingAuthorizationError, UnsupportedTokenTypeError):
            validator, token_string = self.get_token_validator("bearer"), ""
        token_string = token_string.strip()
        if not token_string and (
            flask_request.method == "POST"
            and flask_request.mimetype == "application/x-www-form-urlencoded"
        ):
            token_string = flask_request.form.get("access_token") or ""
        if not token_string:
            raise MissingToken()
        return validator, token_string


class UserInfo(UserInfoEndpoint):
    """OIDC Core §5.3.2: ``sub`` and the claims the consent ledger releases."""

    def generate_user_info(self, user: User, scope: str) -> dict[str, Any]:
        """Claims asked for by scope (§5.4) and by ``claims.userinfo`` (§5.5), released by
        ``decide()`` through :func:`tokens.released_claims`; ``sub`` pairwise if the client
        asked (§8.1)."""
        token: Token = current_token._get_current_object()
        client = token.get_client()
        if client is None:  # checked by AccessTokens.validate_token
            raise InvalidTokenError("The access token is invalid or expired.", realm=REALM)
        session = get_session()
        names = claims_mod.requested_claims(token.scope, token.claims_request, "userinfo")
        body: dict[str, Any] = {"sub": subjects.subject(session, user, client)}
        body.update(
            tokens.released_claims(session, user, client, names, DisclosureChannel.USERINFO)
        )
        return body


def userinfo_endpoint() -> UserInfo:
    protector = BearerTokens()
    protector.register_token_validator(AccessTokens(realm=REALM))
    return UserInfo(resource_protector=protector)
