"""Which step an authorization request still needs from the customer.

``next_step`` is a pipeline of one-purpose checks, each citing its spec; it returns
``None`` when a code can be issued, a step name (``login``, ``select_account``,
``consent``) when the customer has to act, or raises the OIDC error for ``prompt=none``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error, scope_to_list
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consent.model import Agreement, AskAt
from idp.db import aware, utcnow
from idp.ledger import consents
from idp.models import Client, Interaction, Passkey, SsoSession, User

INTERACTION_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class Handoff:
    """RFC 9396 authorization_details of a partner agreement: the customer is asked the
    agreement's purpose for the partner (``recipient``) as well."""

    agreement: Agreement
    recipient: Client
    details: list[dict[str, Any]]


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
    consent: consents.Context
    wanted: set[str] = field(default_factory=set)  # claims the request would release
    acr_wanted: set[str] = field(default_factory=set)  # acr_values and essential acr
    acr_essential: bool = False
    has_passkey: bool = False
    handoff: Handoff | None = None


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


def fresh_login(sso: SsoSession | None, interaction: Interaction | None) -> bool:
    """The customer authenticated during this very interaction."""
    return bool(sso and interaction and aware(sso.auth_time) >= aware(interaction.created_at))


def check_login(
    req: Request,
    sso: SsoSession,
    hinted_sub: str | None,
    sub_of_session: str | None,
    now: datetime,
) -> bool:
    """Core §3.1.2.1 prompt=login and max_age; §3.1.2.3 a hinted other account."""
    if fresh_login(sso, req.interaction):
        return hinted_sub is not None and hinted_sub != sub_of_session
    if "login" in req.prompts:
        return True
    if req.max_age is not None and (now - aware(sso.auth_time)).total_seconds() > req.max_age:
        return True
    return hinted_sub is not None and hinted_sub != sub_of_session


def pending_consents(session: Session, req: Request, user: User) -> list[consents.Ask]:
    """Core §3.1.2.4 and the ledger: the purposes this customer has yet to decide on."""
    if req.interaction and req.interaction.consented_for == user.id:
        return []
    force = "consent" in req.prompts
    if req.handoff is not None:
        # A handoff's page is about the partner only: what goes to it and why. The handing-over
        # client's own purposes (its offers by email, say) are not bundled into it; they are
        # asked at its own sign-in.
        ask = consents.handoff_ask(
            session,
            req.consent,
            user,
            req.handoff.recipient,
            req.handoff.agreement,
            utcnow(),
            force,
        )
        return [ask] if ask is not None else []
    asks = consents.to_ask(session, req.consent, user, req.client, req.wanted, utcnow(), force)
    if force and not asks:
        # prompt=consent with nothing to decide still shows the screen for offline access
        asks = [
            consents.Ask(p, [], [])
            for p in consents.purposes_for(session, req.consent, req.client)
            if p.ask is not AskAt.ACCOUNT
        ][:1]
    return asks


def check_consent(session: Session, req: Request, user: User) -> bool:
    return bool(pending_consents(session, req, user))


PHISHING_RESISTANT = {"phr": {"phr", "phrh"}, "phrh": {"phrh"}}


def has_passkey(session: Session, user: User) -> bool:
    """Whether the customer could step up to a phishing-resistant sign-in (``phr``)."""
    found = session.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1))
    return found is not None


def step_up_needed(req: Request, sso: SsoSession | None) -> bool:
    """Core §3.1.2.1 acr_values, §5.5.1.1 essential acr: a phishing-resistant level asked for
    and not yet reached in this session. Voluntary levels are tried only when the customer
    has a passkey; an essential one that cannot be met fails the request."""
    levels = [PHISHING_RESISTANT[v] for v in req.acr_wanted if v in PHISHING_RESISTANT]
    if not levels or sso is None:
        return False
    if any(sso.acr in accepted for accepted in levels):
        return False
    if not req.has_passkey:
        if req.acr_essential:
            raise OAuth2Error(
                error="unmet_authentication_requirements",
                description="The customer has no passkey for the acr asked for.",
                redirect_uri=req.redirect_uri,
            )
        return False
    return True


def next_step(
    session: Session,
    req: Request,
    sso: SsoSession | None,
    hinted_sub: str | None,
    sub_of_session: str | None,
) -> str | None:
    none = "none" in req.prompts
    if sso is None or check_login(req, sso, hinted_sub, sub_of_session, utcnow()):
        if none:
            raise LoginRequiredError(redirect_uri=req.redirect_uri)
        return "login"
    if step_up_needed(req, sso):
        if none:
            raise LoginRequiredError(redirect_uri=req.redirect_uri)
        return "step_up"
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
