"""Who calls the admin API: a bearer token (RFC 6750 §2.1, the header only) checked on
every call as a resource server checks a JWT access token (RFC 9068 §4), and then against
Avain's own records.

The token must be one Avain signed (signature by a published key, ``typ`` ``at+jwt``), for
this API (``iss``, ``aud`` the admin API's URL), unexpired, its row unrevoked, issued to an
active admin API client and to no customer, and carry that client's role scope. Every
failure is the same ``invalid_token`` to the caller: which check failed is nobody's
business but the log's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from idp import signing
from idp.admin.api.problems import Problem, challenge
from idp.admin.roles import PERMISSIONS, Permission
from idp.models import AdminApiClient, Role, Token
from idp.oauth import admin_scopes, tokens

log = logging.getLogger(__name__)
# what access tokens are signed with (idp.oauth.tokens.issue: the server's setting or the
# client's); each key verifies only its own algorithm, so naming both lets no RSA key pass
# for an EC one or the reverse
ALGORITHMS = ["RS256", "ES256"]


@dataclass(frozen=True)
class Caller:
    """An authenticated admin API client and what its token lets it do."""

    client: AdminApiClient
    token: Token
    scopes: frozenset[str]
    permissions: frozenset[Permission]

    @property
    def dangerous(self) -> bool:
        """The token carries ``admin:dangerous`` (and the client may have it)."""
        return self.client.dangerous and admin_scopes.DANGEROUS in self.scopes


def bearer(header: str | None) -> str | None:
    """RFC 6750 §2.1: ``Authorization: Bearer <token>``; None when there is none."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 8192:
        return None
    return value


def _invalid(why: str) -> Problem:
    log.info("admin API token refused: %s", why)
    return Problem(
        401,
        "The access token is invalid, expired or revoked.",
        "invalid_token",
        headers=challenge("invalid_token"),
    )


def authenticate(session: Session, value: str, issuer: str, now: datetime) -> Caller:
    """The caller of a token, or :class:`Problem` 401 ``invalid_token``."""
    row = tokens.find_by_access_token(session, value)
    if row is None:
        raise _invalid("unknown token")
    try:
        keyset = KeySet.import_key_set(signing.public_jwks(session))  # type: ignore[arg-type]
        decoded = jwt.decode(value, keyset, algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError):
        raise _invalid("bad signature") from None
    claims = decoded.claims
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    exp = claims.get("exp")
    if (
        decoded.header.get("typ") != "at+jwt"
        or claims.get("iss") != issuer
        or admin_scopes.audience(issuer) not in audiences
        or not isinstance(exp, int)
        or exp <= now.timestamp()
        or claims.get("jti") != row.jti
        or claims.get("client_id") != row.client_id
    ):
        raise _invalid("claims")
    if not tokens.access_active(row, now) or row.user_id is not None:
        raise _invalid("revoked, expired or a customer's")
    client = session.get(AdminApiClient, row.client_id)
    if client is None or not client.active:
        raise _invalid("not an active admin API client")
    scopes = frozenset((row.scope or "").split())
    if admin_scopes.role_scope(client.role) not in scopes:
        raise _invalid("without its client's role scope")
    try:
        permissions = PERMISSIONS[Role(client.role)]
    except ValueError:  # a role this version does not know grants nothing
        permissions = frozenset()
    return Caller(client, row, scopes, permissions)
