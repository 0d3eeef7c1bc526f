"""Authlib grants, subclassed for Avain's storage and rules.

- Authorization code (RFC 6749 §4.1, OIDC Core §3.1): codes are stored hashed, live
  ``code_lifetime`` seconds, are claimed atomically; a second use revokes every token
  issued from the first (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
- Refresh token (RFC 6749 §6): rotated on every use; presenting a used one revokes the
  whole grant (RFC 9700 §4.14.2).
- Client credentials (RFC 6749 §4.4).
- ``iss`` on the authorization response (RFC 9207 §2), through Authlib's IssuerParameter.
- ``authorization_details`` (RFC 9396): checked at the authorization endpoint (§5), kept
  with the code and its grant, returned in the token response (§7).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core.errors import RequestNotSupportedError, RequestURINotSupportedError
from joserfc.jwk import KeySet
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from consent.model import Agreement
from idp import context, direct, revocation, signing
from idp.db import aware, get_session, utcnow
from idp.ledger.context import consent_context
from idp.models import AuthorizationCode, Client, Token, User, digest
from idp.oauth import admin_scopes, rar, tokens
from idp.oauth.claims import parse_claims_request
from idp.oauth.interaction import hint_subject

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def carried_context(request: Any) -> tokens.GrantContext:
    """The authentication facts the code, or the refresh token, of a token request passes on
    to the tokens issued from it (and to their ID token)."""
    code: AuthorizationCode | None = request.authorization_code
    if code is not None:
        return tokens.GrantContext.carried_by(code, grant_scope=code.scope, nonce=code.nonce)
    old: Token = request.refresh_token
    return tokens.GrantContext.carried_by(old, grant_scope=old.grant_scope)


class TokenIssuingMixin:
    """Grants issue and store tokens through :mod:`idp.oauth.tokens`.

    Each grant provides ``grant_context()``: the authentication facts its tokens carry.
    """

    request: Any
    grant_context: Callable[[], tokens.GrantContext]
    held: tokens.Held | None = None  # the grant, once held (:func:`tokens.hold_grant`)

    def generate_token(
        self,
        user: Any = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        ctx = self.grant_context()
        if self.held is not None:
            ctx.authorization_details = self.held.authorization_details
        return tokens.issue(
            get_session(), self.request.client, user, scope or "", ctx, include_refresh_token
        )

    def save_token(self, token: dict[str, Any]) -> None:
        """Stored by :func:`tokens.issue` already."""


class Issuer(IssuerParameter):
    """RFC 9207 §2: ``iss`` on the authorization response, added by Authlib to the
    ``Location`` that ``AuthorizationServer.create_authorization_response`` returns."""

    def get_issuer(self) -> str:
        return str(context.settings().issuer)


class AuthorizationCodeGrant(TokenIssuingMixin, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    RESPONSE_MODES = ("query", "form_post")

    #: set by the authorize view: the SSO session that approved the request
    sso: Any = None
    #: the code's customer, read with the code at the token endpoint
    code_user: User | None = None
    #: the ``sub`` of a valid ``id_token_hint`` (:meth:`validate_id_token_hint`)
    hinted_sub: str | None = None
    #: set by the authorize view: the scope the customer granted (OIDC Core §3.1.2.4).
    #: Kept apart from ``request.scope``, which ``AuthorizationServer.
    #: create_authorization_response`` resets when it validates the request again.
    granted_scope: str | None = None
    #: RFC 9396: the request's authorization_details and the partner agreement allowing them
    authorization_details: list[dict[str, Any]] | None = None
    agreement: Agreement | None = None

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        data = self.request.payload.data
        mode = data.get("response_mode", "query")
        if mode not in self.RESPONSE_MODES:
            raise InvalidRequestError(
                "Unsupported 'response_mode'; use query or form_post.", redirect_uri=redirect_uri
            )
        try:
            parse_claims_request(data.get("claims"))
        except InvalidRequestError as exc:
            exc.redirect_uri = redirect_uri
            raise
        self.validate_no_request_object(redirect_uri)
        self.hinted_sub = self.validate_id_token_hint(redirect_uri)
        self.validate_authorization_details(redirect_uri)
        return redirect_uri

    def validate_authorization_details(self, redirect_uri: str) -> None:
        """RFC 9396 §5: well-formed details of types a partner agreement lets this client
        hand over, to a partner that is registered; else ``invalid_authorization_details``."""
        raw = self.request.payload.data.get("authorization_details")
        self.authorization_details, self.agreement = None, None
        if not raw:
            return
        client_id = self.request.client.client_id
        try:
            details = rar.parse(raw)
            agreement = rar.agreement_for(consent_context().catalogue, client_id, details)
            if get_session().get(Client, agreement.to_id) is None:
                raise rar.InvalidAuthorizationDetailsError(
                    f"The partner {agreement.to_id} of agreement {agreement.id} is not registered."
                )
        except rar.InvalidAuthorizationDetailsError as exc:
            exc.redirect_uri = redirect_uri
            raise
        self.authorization_details, self.agreement = details, agreement

    def validate_no_request_object(self, redirect_uri: str) -> None:
        """OIDC Core §6.1 and §6.2: Avain supports neither ``request`` nor ``request_uri``.

        Checked here, before Authlib's ``validate_request_prompt`` runs (after the consent
        request is validated, answering ``login_required`` to ``prompt=none`` without a
        session), so that such a request is refused as unsupported whether or not the
        customer is signed in."""
        data = self.request.payload.data
        if data.get("request"):
            raise RequestNotSupportedError(redirect_uri=redirect_uri)
        if data.get("request_uri"):
            raise RequestURINotSupportedError(redirect_uri=redirect_uri)

    def validate_id_token_hint(self, redirect_uri: str) -> str | None:
        """OIDC Core §3.1.2.1: ``id_token_hint`` is an ID token this server issued (expired
        or not); its ``sub`` is returned. Checked here for the same reason as above: a
        malformed hint is ``invalid_request`` whether or not the customer is signed in."""
        hint = self.request.payload.data.get("id_token_hint")
        if not hint:
            return None
        keyset = KeySet.import_key_set(signing.public_jwks(get_session()))  # type: ignore[arg-type]
        return hint_subject(hint, keyset, redirect_uri)

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        sso = self.sso
        s = context.settings()
        now = utcnow()
        grant_id = str(uuid.uuid4())
        scope = self.granted_scope if self.granted_scope is not None else request.scope or ""
        session = get_session()
        tokens.open_grant(
            session,
            grant_id,
            request.client.client_id,
            request.user.id,
            sso.id if sso else None,
            scope,
            authorization_details=self.authorization_details,
        )
        _INSERT_CODE.execute(
            session,
            {
                "code_hash": digest(code),
                "grant_id": grant_id,
                "client_id": request.client.client_id,
                "user_id": request.user.id,
                "sid": sso.id if sso else None,
                "redirect_uri": request.payload.redirect_uri,
                "scope": scope,
                "nonce": data.get("nonce"),
                "code_challenge": data["code_challenge"],
                "code_challenge_method": "S256",
                "claims_request": parse_claims_request(data.get("claims")),
                "auth_time": sso.auth_time if sso else now,
                "acr": sso.acr if sso else None,
                "amr": sso.amr if sso else None,
                "created_at": now,
                "expires_at": now + timedelta(seconds=s.code_lifetime),
                "authorization_details": self.authorization_details,
            },
        )

    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        session = get_session()
        found = _CODE_AND_CUSTOMER.execute(session, {"hash": digest(code)}).first()
        if found is None or found.client_id != client.client_id:
            return None
        item: AuthorizationCode = _CODE.found(session, found)
        self.code_user = _USER.of(session, found, _CODE.width)  # (authenticate_user)
        if item.used_at is not None:
            revocation.revoke_grant(session, item.grant_id)
            return None
        if aware(item.expires_at) <= utcnow():
            return None
        self.held = tokens.hold_grant(session, item.grant_id, first_use=True)
        if self.held is None:
            return None
        now = utcnow()
        claimed = _CLAIM_CODE.execute(session, {"hash": item.code_hash, "now": now})
        if claimed.rowcount != 1:
            revocation.revoke_grant(session, item.grant_id)
            return None
        set_committed_value(item, "used_at", now)
        return item

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Claimed (marked used) when it was queried."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        """The customer read with the code (:meth:`query_authorization_code`)."""
        user: User | None = self.code_user
        if user is None or user.id != authorization_code.user_id:
            return get_session().get(User, authorization_code.user_id)
        return user

    def grant_context(self) -> tokens.GrantContext:
        return carried_context(self.request)


# the code written, read with its customer in one round trip, and claimed, each by one
# statement sent direct (idp.direct)
_codes, _users = (cast(Table, m.__table__) for m in (AuthorizationCode, User))
_CODE, _USER = direct.Entity(AuthorizationCode), direct.Entity(User)
_INSERT_CODE = direct.Statement(
    insert(_codes).inline(), given=tuple(c.name for c in _codes.c if c.name != "used_at")
)
_CODE_AND_CUSTOMER = direct.Statement(
    select(_codes, _users)
    .select_from(_codes.outerjoin(_users, _users.c.id == _codes.c.user_id))
    .where(_codes.c.code_hash == bindparam("hash"))
)
_CLAIM_CODE = direct.Statement(
    update(_codes)
    .where(_codes.c.code_hash == bindparam("hash"), _codes.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)


class RefreshTokenGrant(TokenIssuingMixin, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        session = get_session()
        token = tokens.find_by_refresh_token(session, refresh_token)
        if token is None or not token.check_client(self.request.client):
            return None
        if token.refresh_used_at is not None:
            revocation.revoke_grant(session, token.grant_id)
            return None
        if not tokens.refresh_active(token):
            return None
        return token

    def _validate_token_scope(self, token: Token) -> None:
        scope = self.request.payload.scope
        if scope and not set(scope_to_list(token.grant_scope)).issuperset(scope_to_list(scope)):
            raise InvalidScopeError("The requested scope exceeds what was granted.")

    def authenticate_user(self, refresh_token: Token) -> User:
        """RFC 6749 §5.2: a refresh token whose customer is gone (an account deleted while
        the request was in flight) is an invalid grant, not a malformed request."""
        user = refresh_token.get_user()
        if user is None:
            raise InvalidGrantError()
        return user

    def issue_token(self, user: User, refresh_token: Token) -> dict[str, Any]:
        """RFC 6749 §6: without ``scope`` the whole originally granted scope is issued.

        The old token is claimed only here, once the request has passed every check (a
        refused scope must not burn it), and with the grant held, so a revocation that
        committed first leaves nothing to issue (RFC 9700 §4.14).
        """
        session = get_session()
        self.held = tokens.hold_grant(session, refresh_token.grant_id)
        if self.held is None or not tokens.claim_refresh(session, refresh_token):
            raise InvalidGrantError()
        scope = self.request.payload.scope or refresh_token.grant_scope
        return self.generate_token(user=user, scope=scope, include_refresh_token=True)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Marked used when the new tokens were issued (:meth:`issue_token`)."""

    def grant_context(self) -> tokens.GrantContext:
        return carried_context(self.request)


class ClientCredentialsGrant(TokenIssuingMixin, grants.ClientCredentialsGrant):
    """RFC 6749 §4.4, with the admin API's scopes (:mod:`idp.oauth.admin_scopes`): only an
    active admin API client is issued one, with the API as the token's audience."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        try:
            self._terms()
        except admin_scopes.Refused:
            raise UnauthorizedClientError("This admin API client is disabled.") from None

    def _terms(self) -> admin_scopes.Terms:
        s = context.settings()
        return admin_scopes.terms(
            get_session(),
            self.request.client,
            self.request.payload.scope,
            s.issuer,
            s.access_token_lifetime,
        )

    def generate_token(
        self,
        user: Any = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        terms = self._terms()
        allowed = " ".join(
            s for s in scope_to_list(terms.scope) if s not in {"openid", "offline_access"}
        )
        return tokens.issue(
            get_session(),
            self.request.client,
            None,
            allowed,
            self.grant_context(),
            False,
            audience=terms.audience,
            lifetime=terms.lifetime,
        )

    def grant_context(self) -> tokens.GrantContext:
        return tokens.GrantContext(grant_id=str(uuid.uuid4()))
