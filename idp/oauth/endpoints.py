"""Revocation (RFC 7009), introspection (RFC 7662) and private_key_jwt (RFC 7523 §2.2)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from idp import cache, context, replay, revocation, subjects
from idp.db import aware, get_session, utcnow
from idp.models import Client, DisclosureChannel, Token, User
from idp.oauth import admin_scopes, claims as claims_mod, tokens
from idp.oauth.client_keys import UnusableKeys, signing_keys

ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def _find(token_string: str, hint: str | None, detailed: bool = False) -> Token | None:
    """The token by either of its values, the hinted kind tried first; ``detailed`` reads
    the grant's ``authorization_details`` with it (introspection answers with them)."""
    session = get_session()
    order = (
        ("refresh_token", "access_token")
        if hint == "refresh_token"
        else ("access_token", "refresh_token")
    )
    for kind in order:
        if detailed:
            found = tokens.find_for_introspection(session, token_string, kind)
        elif kind == "access_token":
            found = tokens.find_by_access_token(session, token_string)
        else:
            found = tokens.find_by_refresh_token(session, token_string)
        if found is not None:
            found.matched_as = kind
            return found
    return None


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ENDPOINT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return _find(token_string, token_type_hint)

    def revoke_token(self, token: Token, request: Any) -> None:
        """RFC 7009 §2.1: revoking a refresh token ends the grant's access tokens too."""
        if token.matched_as == "refresh_token":
            revocation.revoke_grant(get_session(), token.grant_id)
        elif token.access_revoked_at is None:
            token.access_revoked_at = utcnow()


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ENDPOINT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return _find(token_string, token_type_hint, detailed=True)

    def check_permission(self, token: Token, client: Any, request: Any) -> bool:
        """A client may introspect the tokens issued to it."""
        return bool(token.client_id == client.client_id)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        kind = token.matched_as
        active = (
            tokens.refresh_active(token) if kind == "refresh_token" else tokens.access_active(token)
        )
        if not active:
            return {"active": False}
        session = get_session()
        s = context.settings()
        client = cache.row(session, Client, token.client_id)
        out: dict[str, Any] = {
            "active": True,
            "scope": token.scope,
            "client_id": token.client_id,
            "token_type": "Bearer" if kind == "access_token" else "refresh_token",
            "iat": int(aware(token.issued_at).timestamp()),
            "iss": s.issuer,
            "aud": admin_scopes.token_audience(token.scope, s.issuer),
            "jti": token.jti,
            "exp": int(
                aware(
                    token.access_expires_at
                    if kind == "access_token"
                    else token.refresh_expires_at or token.access_expires_at
                ).timestamp()
            ),
        }
        if token.user_id and client is not None:
            user = token.get_user()
            if user is not None:
                out["sub"] = subjects.subject(session, user, client)
                out.update(self._released(session, token, user, client))
        elif client is not None:
            out["sub"] = client.client_id
        if token.auth_time:
            out["auth_time"] = int(aware(token.auth_time).timestamp())
        if token.acr:
            out["acr"] = token.acr
        details = token.authorization_details()
        if details:
            out["authorization_details"] = details  # RFC 9396 §9.2
        return out

    @staticmethod
    def _released(session: Session, token: Token, user: User, client: Client) -> dict[str, Any]:
        """RFC 7662 §2.2 allows more claims: the customer's, as userinfo gives them.

        Only what ``decide()`` lets this client have, for the token's scopes and its
        ``claims.userinfo`` request; the caller is the client itself (see above).
        """
        if "openid" not in token.scope.split():
            return {}
        names = claims_mod.requested_claims(token.scope, token.claims_request, "userinfo")
        return tokens.released_claims(session, user, client, names, DisclosureChannel.INTROSPECTION)


def check_lifetime(claims: Any, max_lifetime: int) -> None:
    """RFC 7523 §3 item 4: the server "may reject JWTs with an "exp" claim value that is
    unreasonably far in the future". Lifetime is ``exp - iat``, or ``exp - now`` without
    ``iat``; a missing or malformed ``exp`` is left to Authlib, which refuses it.

    Avain remembers each assertion's ``jti`` until its ``exp``, so this also bounds how
    long an entry of the replay cache lives.
    """
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_time(exp):
        return
    start = iat if _is_time(iat) else time.time()
    if exp - start > max_lifetime:
        raise InvalidClientError(
            description=f"The client assertion must expire within {max_lifetime} seconds."
        )


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


class PrivateKeyJWT(JWTBearerClientAssertion):
    """RFC 7523 §2.2 client authentication with keys the client registered."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def get_audiences(self) -> list[str]:
        issuer = context.settings().issuer
        return [issuer, f"{issuer}/token", f"{issuer}/introspect", f"{issuer}/revoke"]

    def verify_claims(self, claims: Any) -> None:
        """A bounded lifetime first, then Authlib's RFC 7523 §3 checks (ending in the jti)."""
        check_lifetime(claims, context.settings().client_assertion_max_lifetime)
        super().verify_claims(claims)

    def validate_jti(self, claims: Any, jti: str) -> bool:
        """RFC 7523 §3 item 7: each ``jti`` once, remembered for as long as the assertion
        would be accepted (its ``exp`` plus the clock leeway)."""
        until = datetime.fromtimestamp(claims["exp"] + self.leeway, UTC)
        return replay.first_use(get_session(), f"jti:{claims['sub']}:{jti}", until)

    def resolve_client_public_key(self, client: Any) -> KeySet:
        """RFC 6749 §5.2: keys that cannot verify anything make the client unauthenticated
        (``invalid_client``); only its usable public signing keys are tried."""
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered keys.")
        try:
            return signing_keys(client.jwks)
        except UnusableKeys:
            raise InvalidClientError(
                description="The client's registered keys cannot verify an assertion."
            ) from None
