"""OpenID Connect on the code grant: nonce, and the ID token in the token response (Core §3.1)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope

from idp.db import get_session
from idp.oauth import tokens


def parse_max_age(value: str | None, redirect_uri: str) -> int | None:
    """Core §3.1.2.1: max_age is a whole number of seconds, whatever the scope; RFC 6749
    §3.1: a parameter without a value is as if omitted."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise InvalidRequestError(
            "max_age must be a non-negative integer.", redirect_uri=redirect_uri
        )
    return int(value)


class AvainOpenIDCode(OpenIDCode):
    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """The nonce binds the ID token to the RP's session; the RP checks replay."""
        return False

    def validate_openid_authorization_request(self, grant: Any, redirect_uri: str) -> None:
        """Core §3.1.2.1: ``prompt=none`` may not be combined with other values."""
        super().validate_openid_authorization_request(grant, redirect_uri)
        prompts = (grant.request.payload.data.get("prompt") or "").split()
        if "none" in prompts and len(prompts) > 1:
            raise InvalidRequestError(
                "prompt=none cannot be combined with other values.", redirect_uri=redirect_uri
            )
        unknown = set(prompts) - {"none", "login", "consent", "select_account", "create"}
        if unknown:
            raise InvalidRequestError(
                f"Unsupported prompt value {sorted(unknown)[0]!r}.", redirect_uri=redirect_uri
            )
        parse_max_age(grant.request.payload.data.get("max_age"), redirect_uri)

    def process_token(self, grant: Any, response: Any) -> Any:
        _, token, _ = response
        if not is_openid_scope(token.get("scope")):
            return token
        request = grant.request
        token["id_token"] = tokens.id_token(
            get_session(),
            request.client,
            request.user,
            grant.grant_context(),
            token.get("access_token"),
        )
        return token

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_create_token_response", self.process_token)
        if is_openid_scope(grant.request.payload.scope):
            grant.register_hook(
                "after_validate_authorization_request_payload",
                self.validate_openid_authorization_request,
            )
