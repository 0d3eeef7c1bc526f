"""The admin API's OAuth scopes, and what a client credentials token of an admin API client
carries (RFC 6749 §4.4, RFC 9068 §2.2 ``aud``).

``admin:<role>`` (one per console role) grants that role's permissions at
``/admin/api/v1``; ``admin:dangerous`` is the API's form of the console's fresh passkey: the
dangerous operations (erasure, secret rotation, role changes, disabling an admin) need it
besides their permission. Only a client with an active ``admin_api_clients`` row, made by
the operator (``idp admins api-client create``), is ever issued an admin scope: the scopes
are outside :data:`idp.oauth.claims.SUPPORTED_SCOPES`, so neither dynamic registration nor
``idp clients create`` can register them, and :func:`terms` drops them for any other
client even if a ``clients`` row carried them.

An admin token's audience is the admin API itself, so it is no customer-facing token; a
token with ``admin:dangerous`` is asked for explicitly and lives no longer than the
console's fresh-passkey window.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.oauth2.rfc6749.util import scope_to_list
from sqlalchemy.orm import Session

from idp.models import AdminApiClient, Client, Role

API_PATH = "/admin/api/v1"
PREFIX = "admin:"
DANGEROUS = "admin:dangerous"
ROLE_SCOPES: dict[str, Role] = {f"{PREFIX}{role.value}": role for role in Role}
ADMIN_SCOPES = (*ROLE_SCOPES, DANGEROUS)
DANGEROUS_LIFETIME = 300  # seconds: the console's FRESH window (idp.admin.sessions)


def audience(issuer: str) -> str:
    """The ``aud`` of every admin token: the admin API's base URL."""
    return issuer.rstrip("/") + API_PATH


def role_scope(role: str) -> str:
    return f"{PREFIX}{role}"


def registered_scope(role: Role, dangerous: bool) -> str:
    """The scope an admin API client is registered with."""
    return " ".join([role_scope(role.value)] + ([DANGEROUS] if dangerous else []))


class Refused(Exception):
    """The client is a disabled admin API client: no token at all."""


@dataclass(frozen=True)
class Terms:
    scope: str
    audience: str | None = None  # None: the issuer, as for every other token
    lifetime: int | None = None  # None: access_token_lifetime


def terms(
    session: Session, client: Client, requested: str | None, issuer: str, lifetime: int
) -> Terms:
    """The scope, audience and lifetime of a client credentials token for ``client``.

    An ordinary client gets what it is registered for, never an admin scope. An admin API
    client gets its role's scope, and ``admin:dangerous`` only when it asks for it and was
    allowed it; its token is for the admin API alone.
    """
    # only a client registered with an admin scope can be an admin API client: the others,
    # every partner's client_credentials request, are answered without another query
    registered = scope_to_list(client.scope or "")
    admin = any(s.startswith(PREFIX) for s in registered)
    row = session.get(AdminApiClient, client.client_id) if admin else None
    if row is None:
        allowed = scope_to_list(client.get_allowed_scope(requested or client.scope))
        return Terms(" ".join(s for s in allowed if not s.startswith(PREFIX)))
    if not row.active:
        raise Refused()
    granted = [role_scope(row.role)]
    if row.dangerous and DANGEROUS in scope_to_list(requested or ""):
        granted.append(DANGEROUS)
    short = DANGEROUS in granted
    return Terms(
        " ".join(granted),
        audience(issuer),
        min(lifetime, DANGEROUS_LIFETIME) if short else lifetime,
    )
