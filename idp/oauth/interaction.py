"""Which step an authorization request still needs from the customer.

``next_step`` is a pipeline of one-purpose checks, each citing its spec; it returns
``None`` when a code can be issued, a step name (``login``, ``select_account``,
``consent``) when the customer has to act, or raises the OIDC error for ``prompt=none``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, scope_to_list
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.db import aware, utcnow
from idp.models import Client, ClientConsent, Interaction, SsoSession, User

INTERACTION_LIFETIME = timedelta(minutes=30)


@dataclass
class Request:
    """The parts of a validated authorization request that decide the interaction."""

    client: Client
    scope: str
    redirect_uri: str
    prompts: set[str]
    max_age: int | None
    id_token_hint: str | None
    interaction: Interaction | None


def create(session: Session, client_id: str, params: dict[str, Any]) -> Interaction:
    now = utcnow()
    session.execute(delete(Interaction).where(Interaction.expires_at < now))
    item = Interaction(
        id=secrets.token_urlsafe(24),
        client_id=client_id,
        params=params,
        created_at=now,
        expires_at=now + INTERACTION_LIFETIME,
    )
    session.add(item)
    session.flush()
    return item


def load(session: Session, interaction_id: str | None, owned: list[str]) -> Interaction | None:
    """An interaction started by this browser and not expired."""
    if not interaction_id or interaction_id not in owned:
        return None
    item = session.get(Interaction, interaction_id)
    if item is None or aware(item.expires_at) <= utcnow():
        return None
    return item


def hint_subject(id_token_hint: str, keyset: Any, redirect_uri: str) -> str:
    """OIDC Core §3.1.2.1: an expired ID token we issued is a valid hint."""
    try:
        token = jwt.decode(id_token_hint, keyset)
    except (JoseError, ValueError):
        raise InvalidRequestError(
            "id_token_hint is not an ID token issued by this server.", redirect_uri=redirect_uri
        ) from None
    sub = token.claims.get("sub")
    if not isinstance(sub, str):
        raise InvalidRequestError("id_token_hint has no subject.", redirect_uri=redirect_uri)
    return sub


def remembered_scope(session: Session, user: User, client: Client) -> set[str]:
    row = session.scalar(
        select(ClientConsent).where(
            ClientConsent.user_id == user.id, ClientConsent.client_id == client.client_id
        )
    )
    return set(scope_to_list(row.scope)) if row else set()


def remember_consent(session: Session, user: User, client: Client, scope: str) -> None:
    row = session.scalar(
        select(ClientConsent).where(
            ClientConsent.user_id == user.id, ClientConsent.client_id == client.client_id
        )
    )
    if row is None:
        session.add(ClientConsent(user_id=user.id, client_id=client.client_id, scope=scope))
    else:
        row.scope = " ".join(sorted(set(scope_to_list(row.scope)) | set(scope_to_list(scope))))
        row.granted_at = utcnow()
    session.flush()


def fresh_login(sso: SsoSession | None, interaction: Interaction | None) -> bool:
    """The customer authenticated during this very interaction."""
    return bool(sso and interaction and aware(sso.auth_time) >= aware(interaction.created_at))


def check_login(
    req: Request,
    sso: SsoSession | None,
    hinted_sub: str | None,
    sub_of_session: str | None,
    now: datetime,
) -> bool:
    """Core §3.1.2.1 prompt=login and max_age; §3.1.2.3 a hinted other account."""
    if sso is None:
        return True
    if fresh_login(sso, req.interaction):
        return hinted_sub is not None and hinted_sub != sub_of_session
    if "login" in req.prompts:
        return True
    if req.max_age is not None and (now - aware(sso.auth_time)).total_seconds() > req.max_age:
        return True
    return hinted_sub is not None and hinted_sub != sub_of_session


def check_consent(session: Session, req: Request, user: User) -> bool:
    """Core §3.1.2.4: ask unless this customer already allowed these scopes to this client."""
    if req.interaction and req.interaction.consented_for == user.id:
        return False
    if "consent" in req.prompts:
        return True
    if req.client.first_party:
        return False
    wanted = set(scope_to_list(req.scope)) - {"offline_access"}
    return not wanted.issubset(remembered_scope(session, user, req.client))


def next_step(
    session: Session,
    req: Request,
    sso: SsoSession | None,
    hinted_sub: str | None,
    sub_of_session: str | None,
) -> str | None:
    none = "none" in req.prompts
    if check_login(req, sso, hinted_sub, sub_of_session, utcnow()):
        if none:
            raise LoginRequiredError(redirect_uri=req.redirect_uri)
        return "login"
    assert sso is not None
    if "select_account" in req.prompts and not (
        req.interaction and req.interaction.account_selected_for == sso.id
    ):
        return "select_account"
    if check_consent(session, req, sso.user):
        if none:
            raise ConsentRequiredError(redirect_uri=req.redirect_uri)
        return "consent"
    return None


def granted_scope(req: Request, user: User) -> str:
    """Core §11: offline_access only when the customer consented in this interaction
    or the client is first-party."""
    scopes = scope_to_list(req.scope)
    consented = bool(req.interaction and req.interaction.consented_for == user.id)
    if consented and req.interaction and req.interaction.consented_scope is not None:
        allowed = set(scope_to_list(req.interaction.consented_scope))
        scopes = [s for s in scopes if s in allowed or s == "openid"]
    if "offline_access" in scopes and not (consented or req.client.first_party):
        scopes = [s for s in scopes if s != "offline_access"]
    return " ".join(scopes)
