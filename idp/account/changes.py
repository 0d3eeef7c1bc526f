"""Withdrawal, objection and restriction from the account page (or the admin's command
line), what each stopped, and the tokens that end with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from consent.model import Actor, Channel, LegalBasis
from idp.ledger import consents
from idp.models import Client, User
from idp.revocation import revoke_client_tokens, revoke_purpose_tokens
from idp.sso import enqueue_client_logout


@dataclass(frozen=True)
class Effect:
    """What a withdrawal, objection or restriction stopped, for the notice that says so."""

    queued: int  # back-channel logouts queued
    stopped: tuple[str, ...] = ()  # claims of the purpose the recipient no longer receives
    kept: tuple[str, ...] = ()  # claims of the purpose it still receives for other purposes
    ended: bool = False  # nothing is left for the recipient: all its tokens were ended


def change(
    session: Session,
    ctx: consents.Context,
    issuer: str,
    user: User,
    client: Client,
    purpose_id: str,
    action: str,
    *,
    language: str | None,
    session_id: str | None,
    now: datetime,
    actor: Actor = Actor.CUSTOMER,
    channel: Channel = Channel.ACCOUNT_PAGE,
    reason: str | None = None,
    admin: str | None = None,
) -> int:
    """Withdraw a consent, object, restrict or lift a restriction (:func:`change_with_effect`);
    returns the deliveries queued."""
    return change_with_effect(
        session,
        ctx,
        issuer,
        user,
        client,
        purpose_id,
        action,
        language=language,
        session_id=session_id,
        now=now,
        actor=actor,
        channel=channel,
        reason=reason,
        admin=admin,
    ).queued


def _received(
    session: Session, ctx: consents.Context, user: User, client: Client, now: datetime
) -> frozenset[str]:
    """Every claim ``decide()`` lets the client have now, whatever the purpose."""
    wanted = {c for p in consents.purposes_for(session, ctx, client) for c in p.claims}
    return consents.release(session, ctx, user, client, wanted, now).claims


def _purpose_claims(
    session: Session, ctx: consents.Context, user: User, client: Client, purpose_id: str
) -> frozenset[str]:
    """The claims the purpose shares with the client for this customer: a consent's chosen
    and necessary ones while it stands, every claim of a purpose on another basis."""
    purpose = next(
        (p for p in consents.purposes_for(session, ctx, client) if p.id == purpose_id), None
    )
    if purpose is None:
        return frozenset()
    if purpose.basis is not LegalBasis.CONSENT:
        return frozenset(purpose.claims)
    state = consents.states_for(session, ctx, user, client).get(purpose_id)
    if state is None or state.status != "active":
        return frozenset()
    return state.claims | purpose.necessary()


def _is_contract(session: Session, ctx: consents.Context, client: Client, purpose_id: str) -> bool:
    """Whether the purpose is the customer contract with the client: what signing in to it
    rests on, so that the client's sign-in tokens depend on it."""
    purpose = next(
        (p for p in consents.purposes_for(session, ctx, client) if p.id == purpose_id), None
    )
    return purpose is not None and purpose.basis is LegalBasis.CONTRACT


def change_with_effect(
    session: Session,
    ctx: consents.Context,
    issuer: str,
    user: User,
    client: Client,
    purpose_id: str,
    action: str,
    *,
    language: str | None,
    session_id: str | None,
    now: datetime,
    actor: Actor = Actor.CUSTOMER,
    channel: Channel = Channel.ACCOUNT_PAGE,
    reason: str | None = None,
    admin: str | None = None,
) -> Effect:
    """Withdraw a consent, object, restrict or lift a restriction, and say what stopped.

    What narrows what a recipient may get ends, in the same transaction, the tokens that
    rested on it. While another purpose still lets the recipient have something (the shop's
    customer account when its email offers are withdrawn), only the handoff tokens of this
    purpose and the grants their redemption opened end: the recipient's other tokens keep
    working, and ``decide()`` stops this purpose's claims at their next release (userinfo,
    introspection, a refreshed ID token). The customer contract is what signing in rests
    on: restricting it ends every token of the recipient, as does a change that leaves the
    recipient nothing, which also queues a back-channel logout (once: not for a repeated
    request that changed nothing).
    """
    if action not in consents.RIGHTS:
        raise LookupError(f"no such action {action}")
    shared = _purpose_claims(session, ctx, user, client, purpose_id)
    recorded = consents.exercise(
        session,
        ctx,
        user,
        client,
        purpose_id,
        consents.RIGHTS[action],
        language=language,
        session_id=session_id,
        now=now,
        actor=actor,
        channel=channel,
        reason=reason,
        admin=admin,
    )
    if action == "lift_restriction":
        return Effect(0)
    after = _received(session, ctx, user, client, now)
    stopped, kept = tuple(sorted(shared - after)), tuple(sorted(shared & after))
    left = consents.anything_active(session, ctx, user, client, now)
    if left and not _is_contract(session, ctx, client, purpose_id):
        revoke_purpose_tokens(session, user.id, client.client_id, purpose_id)
        return Effect(0, stopped, kept, ended=False)
    revoke_client_tokens(session, user.id, client.client_id)
    if not recorded or left:
        return Effect(0, stopped, kept, ended=True)
    queued = len(enqueue_client_logout(session, issuer, user, client))
    return Effect(queued, stopped, kept, ended=True)
