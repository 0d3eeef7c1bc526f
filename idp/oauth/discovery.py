"""OpenID Provider metadata (OIDC Discovery 1.0 §3) and RFC 8414 metadata."""

from __future__ import annotations

from typing import Any

from idp.config import Settings
from idp.oauth.claims import SUPPORTED_CLAIMS, SUPPORTED_SCOPES
from idp.oauth.clients import GRANT_TYPES
from idp.oauth.endpoints import ENDPOINT_AUTH_METHODS

ACR_VALUES = ["urn:avain:acr:pwd", "phr", "phrh"]


def metadata(s: Settings, details_types: list[str] | None = None) -> dict[str, Any]:
    """``details_types``: the RFC 9396 types the catalogue's partner agreements carry (§10)."""
    iss = s.issuer
    data: dict[str, Any] = {
        "issuer": iss,
        "authorization_endpoint": f"{iss}/authorize",
        "token_endpoint": f"{iss}/token",
        "userinfo_endpoint": f"{iss}/userinfo",
        "jwks_uri": f"{iss}/jwks.json",
        "revocation_endpoint": f"{iss}/revoke",
        "introspection_endpoint": f"{iss}/introspect",
        "end_session_endpoint": f"{iss}/logout",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ENDPOINT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": ENDPOINT_AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ENDPOINT_AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(SUPPORTED_CLAIMS),
        "claims_parameter_supported": True,
        "claim_types_supported": ["normal"],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": True,
        "ui_locales_supported": list(s.languages),
        "claims_locales_supported": list(s.languages),
        "prompt_values_supported": ["none", "login", "consent", "select_account", "create"],
        "acr_values_supported": ACR_VALUES,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
    }
    if details_types:
        data["authorization_details_types_supported"] = details_types
    if s.initial_access_token:
        data["registration_endpoint"] = f"{iss}/connect/register"
    return data
