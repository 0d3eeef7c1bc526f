"""OpenID Connect Dynamic Client Registration 1.0, behind an initial access token (RFC 7591 §3).

Written by hand, not on Authlib's ``ClientRegistrationEndpoint`` (``oauth2/rfc7591``), whose
fixed ``create_registration_response`` gets these wrong for Avain:

* it reads the body with Flask's non-silent ``get_json()``: a body that is not JSON ends as
  Werkzeug's 400 or 415, an empty object as ``invalid_request``, and a JSON array in a
  ``TypeError`` (``list.pop(key, None)``), where RFC 7591 §3.2.2 wants
  ``invalid_client_metadata``;
* it issues the ``client_id`` and a ``client_secret`` itself, to every client, public ones
  (``token_endpoint_auth_method=none``) included, and puts that secret in the response;
  :func:`idp.oauth.clients.create` issues them and keeps only the secret's digest;
* its response echoes the request's metadata, where RFC 7591 §3.2.1 wants what was
  registered, defaults and replaced values included (:func:`idp.oauth.clients.describe`);
* a missing or wrong initial access token is ``access_denied`` (400), where RFC 6750 §3.1
  wants ``invalid_token`` (401) with its challenge.

Keeping its shell would mean overriding every step of it; the checks below are Avain's.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Request
from sqlalchemy.orm import Session

from idp.config import Settings
from idp.oauth.claims import OIDC_SCOPES, WRITE_SCOPES
from idp.oauth.clients import ClientError, ClientSpec, create, describe
from idp.outbound import policy_from

# RFC 7591 §2 and OpenID Connect Registration 1.0 §2: the JSON type of each metadata field.
# A field of another type is invalid_client_metadata (RFC 7591 §3.2.2), whether Avain uses
# the field or ignores it; null counts as absent.
STRING_FIELDS = frozenset(
    {
        "client_name",
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "scope",
        "software_id",
        "software_version",
        "software_statement",
        "token_endpoint_auth_method",
        "token_endpoint_auth_signing_alg",
        "application_type",
        "subject_type",
        "sector_identifier_uri",
        "id_token_signed_response_alg",
        "access_token_signed_response_alg",
        "userinfo_signed_response_alg",
        "initiate_login_uri",
        "jwks_uri",
        "backchannel_logout_uri",
        "frontchannel_logout_uri",
    }
)
LIST_FIELDS = frozenset(
    {
        "redirect_uris",
        "response_types",
        "grant_types",
        "contacts",
        "default_acr_values",
        "request_uris",
        "post_logout_redirect_uris",
    }
)
BOOL_FIELDS = frozenset(
    {
        "require_auth_time",
        "backchannel_logout_session_required",
        "frontchannel_logout_session_required",
    }
)
# URIs the OP would have to fetch itself; Avain does not, and says so instead of ignoring them.
UNSUPPORTED = {
    "jwks_uri": "jwks_uri is not supported; send the keys in jwks.",
    "sector_identifier_uri": "sector_identifier_uri is not supported; pairwise clients keep "
    "their redirect URIs on one host.",
}


def _check_types(meta: dict[str, Any]) -> None:
    """RFC 7591 §3.2.2: metadata of the wrong JSON type is ``invalid_client_metadata``."""
    for key, value in meta.items():
        if value is None:
            continue
        if key in STRING_FIELDS and not isinstance(value, str):
            raise ClientError(f"{key} must be a string.")
        if key in LIST_FIELDS and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise ClientError(f"{key} must be an array of strings.")
        if key in BOOL_FIELDS and not isinstance(value, bool):
            raise ClientError(f"{key} must be true or false.")
        if key == "default_max_age" and (isinstance(value, bool) or not isinstance(value, int)):
            raise ClientError("default_max_age must be a number of seconds.")
        if key == "jwks" and not isinstance(value, dict):
            raise ClientError("jwks must be a JWK Set object.")
    for key, why in UNSUPPORTED.items():
        if meta.get(key) is not None:
            raise ClientError(why)


def _get(meta: dict[str, Any], key: str, default: Any) -> Any:
    value = meta.get(key)
    return default if value is None else value


def register_client(session: Session, s: Settings, request: Request) -> tuple[dict[str, Any], int]:
    if not s.initial_access_token:
        return {
            "error": "access_denied",
            "error_description": "Dynamic registration is not enabled.",
        }, 403
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not given or not hmac.compare_digest(given, s.initial_access_token):
        return {
            "error": "invalid_token",
            "error_description": "A valid initial access token is required.",
        }, 401
    meta = request.get_json(silent=True)
    if not isinstance(meta, dict):
        return {
            "error": "invalid_client_metadata",
            "error_description": "The body must be a JSON object.",
        }, 400
    try:
        _check_types(meta)
        response_types = _get(meta, "response_types", []) or ["code"]
        if set(response_types) != {"code"}:
            raise ClientError("Only the code response type is supported.")
        spec = ClientSpec(
            name=(_get(meta, "client_name", "") or "Unnamed client")[:200],
            redirect_uris=_get(meta, "redirect_uris", []),
            grant_types=_get(meta, "grant_types", []) or ["authorization_code"],
            token_endpoint_auth_method=_get(
                meta, "token_endpoint_auth_method", "client_secret_basic"
            ),
            post_logout_redirect_uris=_get(meta, "post_logout_redirect_uris", []),
            backchannel_logout_uri=meta.get("backchannel_logout_uri"),
            backchannel_logout_session_required=_get(
                meta, "backchannel_logout_session_required", True
            ),
            subject_type=_get(meta, "subject_type", "public"),
            # a write scope is granted by the operator (idp seed, the CLI), never self-asserted
            scope=" ".join(
                name
                for name in (_get(meta, "scope", "") or " ".join(OIDC_SCOPES)).split()
                if name not in WRITE_SCOPES
            ),
            id_token_signed_response_alg=_get(meta, "id_token_signed_response_alg", "RS256"),
            access_token_signed_response_alg=meta.get("access_token_signed_response_alg"),
            jwks=meta.get("jwks"),
        )
        client, secret = create(session, spec, policy_from(s))
    except ClientError as exc:
        return {"error": exc.error, "error_description": exc.description}, 400
    body = describe(client)
    if secret:
        body["client_secret"] = secret
        body["client_secret_expires_at"] = 0
    return body, 201
