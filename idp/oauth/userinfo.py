"""Bearer access tokens at Avain's own resources (RFC 6750), and the UserInfo endpoint
(OIDC Core §5.3) on them.

The token is read, checked and answered here rather than through Authlib's
``UserInfoEndpoint`` and ``ResourceProtector``: those wrap every request in an
``OAuth2Request`` and a validator registry, and that machinery cost about a tenth of a
userinfo request's CPU (issue 14). What RFC 6750 asks, and Authlib partly lacked:

* §2.1 and §2.2: the token comes in the ``Authorization: Bearer`` header or in a
  form-encoded POST body (``access_token``). Another scheme, or a header without a token,
  counts as no token.
* §3.1: a request without a token gets the bare ``WWW-Authenticate: Bearer realm=...``
  challenge and no error code in it (the JSON body says ``missing_token``).
* §3: ``invalid_token`` and ``insufficient_scope`` carry the challenge with the error.

The partner claims endpoint (:mod:`idp.resources.claims`) takes its tokens through the same
functions.
"""

from __future__ import annotations

import json
from typing import Any

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import Request, Response
from sqlalchemy.orm import Session

from idp import cache, subjects
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


def bearer_token(request: Request) -> str:
    """The token of RFC 6750 §2.1 (header) or §2.2 (form body); :class:`MissingToken`
    if there is none. Over plain http to an address other than loopback (RFC 6750 §5.3
    asks for TLS), Authlib's ``InsecureTransportError``, as the token endpoint answers."""
    if request.scheme != "https" and not is_secure_transport(request.host_url):
        raise InsecureTransportError()
    token = ""
    parts = (request.headers.get("Authorization") or "").split(None, 1)
    if len(parts) == 2 and parts[0].lower() == "bearer":
        token = parts[1].strip()
    if (
        not token
        and request.method == "POST"
        and request.mimetype == "application/x-www-form-urlencoded"
    ):
        token = (request.form.get("access_token") or "").strip()
    if not token:
        raise MissingToken()
    return token


def customer_token(
    session: Session, token_string: str, scope: str, releases: bool = False
) -> tuple[Token, User, Client]:
    """The live access token of a customer, its customer and its client. Unknown, expired,
    revoked, of a client alone (client credentials), or of a customer or client gone:
    ``invalid_token``; live but without ``scope``: ``insufficient_scope`` (RFC 6750 §3.1).
    ``releases``: the caller releases claims to the client next (the consent events are
    read with the token)."""
    token = tokens.find_by_access_token(session, token_string, with_consent=releases)
    if token is None or not tokens.access_active(token) or not token.user_id:
        raise InvalidTokenError("The access token is invalid or expired.", realm=REALM)
    user = token.get_user()
    client = cache.row(session, Client, token.client_id)
    if user is None or client is None:
        raise InvalidTokenError("The access token is invalid or expired.", realm=REALM)
    if scope not in token.scope.split():
        raise InsufficientScope(
            f"The token lacks the {scope} scope: ask for it at /authorize.", realm=REALM
        )
    return token, user, client


def user_info(session: Session, token: Token, user: User, client: Client) -> dict[str, Any]:
    """OIDC Core §5.3.2: ``sub`` (pairwise if the client asked, §8.1) and the claims asked
    for by scope (§5.4) and by ``claims.userinfo`` (§5.5) that the consent ledger releases
    (``decide()``, through :func:`tokens.released_claims`)."""
    names = claims_mod.requested_claims(token.scope, token.claims_request, "userinfo")
    body: dict[str, Any] = {"sub": subjects.subject(session, user, client)}
    body.update(tokens.released_claims(session, user, client, names, DisclosureChannel.USERINFO))
    return body


def userinfo_response(session: Session, request: Request) -> Response:
    """The UserInfo answer (JSON), or the token's fault as RFC 6750 says."""
    try:
        token, user, client = customer_token(session, bearer_token(request), "openid", True)
    except InsecureTransportError:
        raise  # the app's answer to it (idp.errors), as at the token endpoint
    except OAuth2Error as error:
        return error_response(error)
    body = user_info(session, token, user, client)
    return Response(json.dumps(body), mimetype="application/json")


def error_response(error: OAuth2Error) -> Response:
    """An OAuth error as JSON, with its headers (the challenge)."""
    status, body, headers = error()
    return Response(json.dumps(body), status=status, headers=headers)
