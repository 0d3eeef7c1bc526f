"""Claims about the customer: scopes (OIDC Core §5.4, the vocabulary in :mod:`idp.scopes`)
and the claims parameter (§5.5); subjects (§8) are in :mod:`idp.subjects`."""

from __future__ import annotations

import json
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, scope_to_list

from idp.db import aware
from idp.models import User
from idp.scopes import SCOPE_CLAIMS as SCOPE_CLAIMS

# Avain's own claims about the customer, outside every standard scope: a client asks for
# them by name with the claims parameter (§5.5), and the consent ledger decides per purpose.
# tire_purchase is contributed by a partner (idp.contributions), the others are the customer's own.
PROFILE_CLAIMS = ("car_registration", "tire_purchase")
SUPPORTED_CLAIMS = (
    ("sub", "iss", "auth_time", "acr", "amr", "sid")
    + tuple(c for claims in SCOPE_CLAIMS.values() for c in claims)
    + PROFILE_CLAIMS
)
OIDC_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
# scopes that let a partner write to the customer's profile (POST /claims/tire_purchase); a
# client has them only when registered with them, never by default
WRITE_SCOPES = ("tire_purchase:write",)
SUPPORTED_SCOPES = OIDC_SCOPES + WRITE_SCOPES


def parse_claims_request(raw: str | None) -> dict[str, Any] | None:
    """OIDC Core §5.5: a JSON object with optional ``userinfo`` and ``id_token`` members."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
        raise InvalidRequestError("The 'claims' parameter is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("The 'claims' parameter must be a JSON object.")
    out: dict[str, Any] = {}
    for member in ("userinfo", "id_token"):
        requested = data.get(member)
        if requested is None:
            continue
        if not isinstance(requested, dict):
            raise InvalidRequestError(f"claims.{member} must be a JSON object.")
        for name, spec in requested.items():
            if spec is not None and not isinstance(spec, dict):
                raise InvalidRequestError(f"claims.{member}.{name} must be null or an object.")
        out[member] = requested
    return out


def requested_claims(scope: str, claims_request: dict[str, Any] | None, member: str) -> set[str]:
    """Claim names asked for by scope (userinfo only) and by the claims parameter."""
    names: set[str] = set()
    if member == "userinfo":
        for s in scope_to_list(scope or ""):
            names.update(SCOPE_CLAIMS.get(s, ()))
    if claims_request and member in claims_request:
        names.update(n for n in claims_request[member] if n in SUPPORTED_CLAIMS)
    return names


def essential_acr_values(claims_request: dict[str, Any] | None) -> list[str]:
    """The acr values a client marks essential in ``claims.id_token.acr`` (§5.5.1.1)."""
    spec = ((claims_request or {}).get("id_token") or {}).get("acr") or {}
    if not isinstance(spec, dict):
        return []
    if "value" in spec and isinstance(spec["value"], str):
        return [spec["value"]]
    values = spec.get("values")
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def claim_values(user: User, names: set[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in sorted(names):
        if name in {"sub", "iss", "auth_time", "acr", "amr", "sid"}:
            continue
        value: Any = getattr(user, name, None)
        if name == "updated_at" and value is not None:
            value = int(aware(value).timestamp())
        if value is None:
            continue
        values[name] = value
    return values


PROTOCOL_CLAIMS = frozenset({"sub", "iss", "auth_time", "acr", "amr", "sid"})


def wanted_claims(scope: str, raw_claims_request: str | None) -> set[str]:
    """Every customer claim an authorization request could release, by scope or by name."""
    try:
        request = parse_claims_request(raw_claims_request)
    except InvalidRequestError:
        request = None
    names = requested_claims(scope, request, "userinfo") | requested_claims("", request, "id_token")
    return names - PROTOCOL_CLAIMS
