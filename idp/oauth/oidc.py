"""OpenID Connect on Authlib's extensions: the authorization request of the code flow
(Core §3.1.2, ``OpenIDCode``) and the ID token in token responses (Core §3.1.3.3 for the
code grant, §12.2 for the refresh grant, ``OpenIDToken``).

Authlib decides when an ID token is due (``process_token``: the token's scope has
``openid``) and runs ``validate_request_prompt`` (Core §3.1.2.1); Avain supplies the hooks.
The ID token itself is built by :func:`idp.oauth.tokens.id_token`, not by Authlib's
``encode_id_token``, because that method:

* signs with joserfc directly, without the ``kid`` of the signing service
  (:func:`idp.signing.sign`) that verifiers pick the key by after a rotation;
* asks ``generate_user_info(user, scope)`` for the claims with neither the client nor the
  authorization code: so no pairwise ``sub`` (Core §8.1), no release per client by the
  consent ledger (``decide()``), no ``claims.id_token`` request (Core §5.5) and no ``sid``
  (Back-Channel Logout 1.0 §2.4);
* without an authorization code (the refresh grant) sets ``auth_time`` to now, where Core
  §12.2 wants the time the customer authenticated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.core.grants import OpenIDCode, OpenIDToken

from idp.db import get_session
from idp.oauth import tokens
from idp.oauth.grants import carried_context


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


class IdTokenHooks:
    """What Avain's ID tokens are made of, for both extensions below."""

    #: Registration 1.0 §2 ``id_token_signed_response_alg``, else RS256: Authlib's rule
    #: (``OpenIDToken.get_client_algorithm``), whose answer the signing service signs with.
    get_client_algorithm: Callable[[Any], str]

    def encode_id_token(self, token: dict[str, Any], request: Any) -> str:
        """Core §3.1.3.6 and §12.2: the ID token of this token response (see the module
        docstring for why it is not Authlib's)."""
        return tokens.id_token(
            get_session(),
            request.client,
            request.user,
            carried_context(request),
            token.get("access_token"),
            alg=self.get_client_algorithm(request.client),
        )


class AvainOpenIDToken(IdTokenHooks, OpenIDToken):
    """Core §12.2: a refreshed ``openid`` grant gets a new ID token."""


class AvainOpenIDCode(IdTokenHooks, OpenIDCode):
    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """Core §3.1.2.1: the nonce binds the ID token to the RP's session; the RP checks
        replay (§3.1.3.7 item 11), so the OP does not refuse a nonce it has seen."""
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
