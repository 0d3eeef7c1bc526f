"""OpenID Connect Dynamic Client Registration 1.0, behind an initial access token (RFC 7591 §3)."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Request
from sqlalchemy.orm import Session

from idp.config import Settings
from idp.oauth.clients import ClientError, ClientSpec, create, describe


def _list_of_str(meta: dict[str, Any], key: str) -> list[str]:
    value = meta.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ClientError(f"{key} must be an array of strings.")
    return value


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
        response_types = _list_of_str(meta, "response_types") or ["code"]
        if set(response_types) != {"code"}:
            raise ClientError("Only the code response type is supported.")
        grant_types = _list_of_str(meta, "grant_types") or ["authorization_code"]
        method = meta.get("token_endpoint_auth_method", "client_secret_basic")
        spec = ClientSpec(
            name=str(meta.get("client_name") or "Unnamed client")[:200],
            redirect_uris=_list_of_str(meta, "redirect_uris"),
            grant_types=grant_types,
            token_endpoint_auth_method=str(method),
            post_logout_redirect_uris=_list_of_str(meta, "post_logout_redirect_uris"),
            backchannel_logout_uri=meta.get("backchannel_logout_uri"),
            backchannel_logout_session_required=bool(
                meta.get("backchannel_logout_session_required", True)
            ),
            subject_type=str(meta.get("subject_type", "public")),
            scope=str(meta.get("scope") or "openid profile email address phone offline_access"),
            id_token_signed_response_alg=str(meta.get("id_token_signed_response_alg", "RS256")),
            jwks=meta.get("jwks") if isinstance(meta.get("jwks"), dict) else None,
        )
        if "jwks_uri" in meta and spec.jwks is None:
            raise ClientError("jwks_uri is not supported; send jwks.")
        client, secret = create(session, spec)
    except ClientError as exc:
        return {"error": exc.error, "error_description": exc.description}, 400
    body = describe(client)
    if secret:
        body["client_secret"] = secret
        body["client_secret_expires_at"] = 0
    return body, 201
