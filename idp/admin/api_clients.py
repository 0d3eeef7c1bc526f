"""Clients of the admin API: OAuth clients (client credentials) that act in one console role.

The operator makes them at the command line (``idp admins api-client create``), as the first
owner is made; the secret is shown once and only its digest is kept. A client's ``clients``
row carries its scopes (:mod:`idp.oauth.admin_scopes`); its ``admin_api_clients`` row says
which role it acts in and whether it may ask for ``admin:dangerous``. Disabling one revokes
every token it holds at once, and the API refuses it from then on even with a token it held.

Services: a ``Session`` first, ``flush()`` but never ``commit()``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from idp.db import aware
from idp.models import AdminApiClient, AdminStatus, Role, Token
from idp.oauth import admin_scopes
from idp.oauth.clients import ClientSpec, create as create_client


class ApiClientError(Exception):
    """An operation on an admin API client was refused; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def create(
    session: Session, name: str, role: Role, dangerous: bool, now: datetime
) -> tuple[AdminApiClient, str]:
    """A new admin API client and its secret (shown once)."""
    name = " ".join(name.split())[:200]
    if not name:
        raise ApiClientError("name_required")
    client, secret = create_client(
        session,
        ClientSpec(
            name=name,
            redirect_uris=[],
            grant_types=["client_credentials"],
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106
        ),
    )
    if secret is None:  # client_secret_basic always has one
        raise ApiClientError("no_secret")
    # set here, after validation: admin scopes are never among a client's registrable ones
    client.scope = admin_scopes.registered_scope(role, dangerous)
    row = AdminApiClient(
        client_id=client.client_id,
        name=name,
        role=role.value,
        dangerous=dangerous,
        status=AdminStatus.ACTIVE.value,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row, secret


def find(session: Session, client_id: str) -> AdminApiClient | None:
    return session.get(AdminApiClient, client_id[:64])


def all_api_clients(session: Session) -> list[AdminApiClient]:
    return list(
        session.scalars(
            select(AdminApiClient).order_by(AdminApiClient.created_at, AdminApiClient.name)
        )
    )


def disable(session: Session, row: AdminApiClient, now: datetime) -> int:
    """Disable ``row``: it gets no new token and every token it holds is revoked now.
    Returns how many live tokens were revoked."""
    if not row.active:
        raise ApiClientError("already_disabled")
    row.status = AdminStatus.DISABLED.value
    row.disabled_at = now
    result = session.execute(
        update(Token)
        .where(Token.client_id == row.client_id, Token.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def describe(row: AdminApiClient) -> dict[str, object]:
    return {
        "client_id": row.client_id,
        "name": row.name,
        "role": row.role,
        "dangerous": row.dangerous,
        "status": row.status,
        "created_at": aware(row.created_at).isoformat(),
        "disabled_at": aware(row.disabled_at).isoformat() if row.disabled_at else None,
    }
