"""id_token_hint: only an ID token this server issued to one of its clients counts as one.

RP-Initiated Logout 1.0 §2 and OIDC Core §3.1.2.1 take the hint to be an ID token the OP
issued. Our access tokens (RFC 9068 §2.1, ``typ: at+jwt``) and logout tokens (Back-Channel
Logout 1.0 §2.4, ``typ: logout+jwt``) are signed with the same keys, so a valid signature
alone does not make a JWT an ID token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ["RS256", "ES256"]  # the ID token algorithms discovery announces
ID_TOKEN_TYPES = {None, "JWT"}  # ID tokens carry no typ of their own (OIDC Core §2)
NOT_AN_ID_TOKEN = "id_token_hint is not an ID token issued by this server."  # noqa: S105


def id_token_claims(
    raw: str, jwks: dict[str, Any], issuer: str, is_client: Callable[[str], bool]
) -> dict[str, Any]:
    """The hint's claims, if it is an ID token we issued to a registered client.

    Expiry is not checked: RP-Initiated Logout 1.0 §2 has the OP accept an expired ID token
    as a hint, and OIDC Core §3.1.2.1 uses it only to say whom the RP expects.
    """
    try:
        token = jwt.decode(raw, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError):
        raise InvalidRequestError(NOT_AN_ID_TOKEN) from None
    claims = dict(token.claims)
    aud = claims.get("aud")
    if (
        token.header.get("typ") not in ID_TOKEN_TYPES
        or "events" in claims  # Back-Channel Logout 1.0 §2.4: what makes a logout token
        or claims.get("iss") != issuer
        or not isinstance(claims.get("sub"), str)
        or not isinstance(aud, str)  # we issue ID tokens to one audience, the client
        or not is_client(aud)
    ):
        raise InvalidRequestError(NOT_AN_ID_TOKEN)
    return claims
