"""Consent for a client: which purposes to ask about, recording choices, releasing claims.

A client that the catalogue names as a recipient is asked about per purpose, each optional
claim its own unticked choice; a purpose the catalogue offers on the account page
(``ask = "account"``) is not asked at sign-in (:func:`give` records it from there). Any other
client gets one purpose of its own, ``signin:<client_id>``: the customer allows or denies,
all or nothing, the claims its scopes ask for, as OpenID Connect consent does; the screen
lists them as what is shared if allowed (``Ask.necessary``), not as choices, and so does the
event. Either way the choice is a ledger event, and every claim that leaves Avain goes
through :func:`consent.decide`.

A partner agreement (``[[agreements]]``) adds a third case: the handing-over client asks,
and the customer decides on the agreement's purpose *for the partner* (:func:`handoff_ask`);
the event is the partner's, its details name the agreement and the client that asked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy.orm import Session

from consent import ledger
from consent.catalogue import Catalogue
from consent.decide import decide
from consent.model import (
    Actor,
    Agreement,
    AskAt,
    Channel,
    ConsentEvent,
    ConsentState,
    Decision,
    EventType,
    LegalBasis,
    Need,
    Purpose,
    ReleaseRequest,
)
from idp import direct
from idp.db import KEPT_READS
from idp.errors import IdpError
from idp.events import signals
from idp.models import Client, User
from idp.scopes import SCOPE_CLAIMS

log = logging.getLogger(__name__)

SIGNIN_PREFIX = "signin:"
PROFILE_CLAIMS = frozenset(c for claims in SCOPE_CLAIMS.values() for c in claims)


class NotSynced(IdpError):
    """The catalogue has not been numbered against the database (start-up could not)."""

    error = "temporarily_unavailable"
    status_code = 503


@dataclass(frozen=True)
class Context:
    """What the consent services need from the running app.

    ``catalogue`` is the one numbered at start-up: its purposes carry their stored versions.
    """

    catalogue: Catalogue
    keys: ledger.LedgerKeys
    limit: ledger.RateLimit | None = None  # how fast a customer may record events
    #: the issuer URL, for the Shared Signals events a change queues (none without it)
    issuer: str = ""


def signin_purpose(client: Client) -> Purpose:
    """A client outside the catalogue: consent to what its scopes ask for. The company's own
    (first-party) services rest on the customer contract instead and need no consent."""
    own = client.first_party
    return Purpose(
        id=f"{SIGNIN_PREFIX}{client.client_id}",
        version=1,
        basis=LegalBasis.CONTRACT if own else LegalBasis.CONSENT,
        texts={},
        claims={c: Need.NECESSARY if own else Need.OPTIONAL for c in sorted(PROFILE_CLAIMS)},
        recipients=frozenset({client.client_id}),
    )


def purposes_for(session: Session, ctx: Context, client: Client) -> list[Purpose]:
    """The purposes the client is asked about, numbered as stored; no SQL (the catalogue
    was numbered at start-up, :func:`idp.ledger.service.sync_purposes`)."""
    listed = ctx.catalogue.purposes_for(client.client_id)
    if any(p.version < 1 for p in listed):
        log.error(
            "the consent catalogue's purposes are not in the database yet; "
            "run `idp db upgrade`, or wait for the database to be reachable"
        )
        raise NotSynced(
            lazy_gettext("Your sharing choices cannot be shown just now. Try again in a while.")
        )
    return listed or [signin_purpose(client)]


def states_for(
    session: Session, ctx: Context, user: User, client: Client
) -> dict[str, ConsentState]:
    """The customer's states for this client's purposes: ``ledger.states``, its one
    statement sent direct (it runs on every release of claims), or the rows
    :func:`keep_rows` kept for the pair."""
    kept = session.info.get(KEPT_READS, {}).pop((_CONSENT_ROWS, user.id, client.client_id), None)
    rows = (
        kept
        if kept is not None
        else _STATES_OF_RECIPIENT.execute(
            session, {"customer_id": user.id, "recipient_id": client.client_id}
        ).rows
    )
    return {purpose: state for (_, purpose), state in ledger.states_of_rows(rows, user.id).items()}


_STATES_OF_RECIPIENT = direct.Statement(ledger.STATES_BY_CUSTOMER[True])
_CONSENT_ROWS = "consent rows"


def keep_rows(session: Session, customer_id: str, recipient_id: str, rows: list[Any]) -> None:
    """The customer's events for the recipient, as ``ledger.STATES_BY_CUSTOMER[True]``
    reads them, read by the caller in another statement of its own (the token lookup of
    userinfo and introspection, on PostgreSQL): the next :func:`states_for` of the pair
    in this session takes them instead of a round trip, once. Only for a caller whose
    release follows at once, with no consent written between."""
    session.info.setdefault(KEPT_READS, {})[_CONSENT_ROWS, customer_id, recipient_id] = rows


@dataclass(frozen=True)
class Ask:
    """A purpose to put before the customer, with the claims this request touches."""

    purpose: Purpose
    necessary: list[str]
    optional: list[str]
    #: the partner the purpose shares with, when another client asks on its behalf
    recipient_id: str | None = None


def _is_current(state: ConsentState | None, purpose: Purpose, now: datetime) -> bool:
    return (
        state is not None
        and state.status == "active"
        and state.purpose_version == purpose.version
        and (state.expires_at is None or state.expires_at > now)
    )


def to_ask(
    session: Session,
    ctx: Context,
    user: User,
    client: Client,
    wanted: set[str],
    now: datetime,
    force: bool = False,
) -> list[Ask]:
    """The purposes the customer must decide on before this request can go on."""
    asks = []
    states = states_for(session, ctx, user, client)
    for purpose in purposes_for(session, ctx, client):
        touched = wanted & set(purpose.claims)
        if purpose.ask is AskAt.ACCOUNT:
            continue  # offered on the account page, not bundled into signing in
        if purpose.id.startswith(SIGNIN_PREFIX):
            if purpose.basis is not LegalBasis.CONSENT:
                continue
            state = states.get(purpose.id)
            current = _is_current(state, purpose, now)
            kept = state.claims if state is not None and current else frozenset()
            if force or not current or not touched <= kept:
                # all or nothing: what the client has if allowed, the earlier ones included
                asks.append(Ask(purpose, sorted(touched | kept), []))
            continue
        optional = sorted(touched & purpose.optional())
        if purpose.basis is not LegalBasis.CONSENT and not optional:
            continue
        state = states.get(purpose.id)
        decided = state is not None and state.status in {"refused", "withdrawn"}
        if force or not (_is_current(state, purpose, now) or decided):
            # consent is to the whole purpose: show all it needs and every choice it offers
            asks.append(Ask(purpose, sorted(purpose.necessary()), sorted(purpose.optional())))
    return asks


def handoff_ask(
    session: Session,
    ctx: Context,
    user: User,
    recipient: Client,
    agreement: Agreement,
    now: datetime,
    force: bool = False,
) -> Ask | None:
    """The agreement's purpose for its recipient, unless the customer's consent to it is
    current. A refusal or withdrawal is asked again: the customer has just asked the
    handing-over client for the handoff."""
    purpose = next(
        (p for p in purposes_for(session, ctx, recipient) if p.id == agreement.purpose_id), None
    )
    if purpose is None:
        raise LookupError(f"{recipient.client_id} has no purpose {agreement.purpose_id}")
    state = states_for(session, ctx, user, recipient).get(purpose.id)
    if not force and _is_current(state, purpose, now):
        return None
    return Ask(
        purpose,
        sorted(purpose.necessary()),
        sorted(purpose.optional()),
        recipient_id=recipient.client_id,
    )


def record(
    session: Session,
    ctx: Context,
    user: User,
    client: Client,
    choices: dict[str, set[str] | None],
    *,
    asked: list[Ask],
    language: str,
    session_id: str | None,
    now: datetime,
    channel: Channel = Channel.CONSENT_SCREEN,
    details: Mapping[str, Any] | None = None,
) -> bool:
    """Record one event per purpose asked: ``choices[purpose] = claims`` or None (refused).

    Only choices that change something are recorded (:func:`consent.projection.changes`).
    The events count at once; the sequencer gives them their log positions after the
    commit (:mod:`idp.ledger.sequencer`). Raises ``ledger.TooFast``, recording nothing,
    when the customer has recorded events faster than ``ctx.limit`` allows. ``details`` are
    added to each event's details (a handoff's agreement and the client that asked, the
    controller the screen named). True when something was recorded."""
    notice = ctx.catalogue.current_notice()
    items = []
    for ask in asked:
        chosen = choices.get(ask.purpose.id)
        granted = chosen is not None
        claims = frozenset(chosen or ()) & set(ask.optional) if granted else frozenset()
        if ask.purpose.id.startswith(SIGNIN_PREFIX) and granted:
            # all or nothing: the claims listed (the earlier allowed ones among them)
            claims = frozenset(ask.necessary)
        validity = ask.purpose.validity_days
        event = ConsentEvent(
            customer_id=user.id,
            recipient_id=client.client_id,
            purpose_id=ask.purpose.id,
            purpose_version=ask.purpose.version,
            type=EventType.GIVEN if granted else EventType.REFUSED,
            at=now,
            actor=Actor.CUSTOMER,
            channel=channel,
            claims=claims,
            notice_version=notice.version,
            notice_hash=notice.content_hash,
            language=language,
            offered=tuple((c, False) for c in ask.optional),
            session_id=session_id,
            expires_at=now + timedelta(days=validity) if granted and validity else None,
        )
        items.append((event, {**_details(event, ask, client), **(details or {})}))
    tokens = ledger.submit_changes(session, ctx.keys, items, limit=ctx.limit, now=now)
    return any(t is not None for t in tokens)


def give(
    session: Session,
    ctx: Context,
    user: User,
    client: Client,
    purpose_id: str,
    claims: set[str],
    *,
    language: str,
    session_id: str | None,
    now: datetime,
) -> bool:
    """GDPR Art. 7: a consent given on the account page (a purpose offered there, or one
    refused or withdrawn earlier): what it needs and the optional ``claims`` ticked. False
    when nothing changed (the same consent stands). Raises LookupError for a purpose the
    client has not, NotApplicable for one not resting on consent."""
    purpose = next((p for p in purposes_for(session, ctx, client) if p.id == purpose_id), None)
    if purpose is None or purpose.id.startswith(SIGNIN_PREFIX):
        raise LookupError(f"{client.client_id} has no purpose {purpose_id} to offer")
    if purpose.basis is not LegalBasis.CONSENT:
        raise NotApplicable("only a consent is given on the account page")
    ask = Ask(purpose, sorted(purpose.necessary()), sorted(purpose.optional()))
    return record(
        session,
        ctx,
        user,
        client,
        {purpose.id: claims & purpose.optional()},
        asked=[ask],
        language=language,
        session_id=session_id,
        now=now,
        channel=Channel.ACCOUNT_PAGE,
    )


def _details(event: ConsentEvent, ask: Ask | None, client: Client) -> dict[str, Any]:
    """What the screen showed beyond the event's own fields (which the ledger adds)."""
    return {
        "recipient_name": client.client_name,
        "necessary_shown": ask.necessary if ask else [],
        "chosen": sorted(event.claims),
    }


def withdraw(
    session: Session,
    ctx: Context,
    user: User,
    client: Client,
    purpose_id: str,
    *,
    language: str,
    session_id: str | None,
    now: datetime,
    actor: Actor = Actor.CUSTOMER,
    channel: Channel = Channel.ACCOUNT_PAGE,
) -> bool:
    """GDPR Art. 7(3): withdraw a consent; False when it did not stand (nothing recorded)."""
    return exercise(
        session,
        ctx,
        user,
        client,
        purpose_id,
        EventType.WITHDRAWN,
        language=language,
        session_id=session_id,
        now=now,
        actor=actor,
        channel=channel,
    )


class NotApplicable(ValueError):
    """The right cannot be exercised here (e.g. objecting to a consent-based purpose)."""


RIGHTS = {
    "withdraw": EventType.WITHDRAWN,
    "object": EventType.OBJECTION,
    "restrict": EventType.RESTRICTION,
    "lift_restriction": EventType.RESTRICTION_LIFTED,
}


def exercise(
    session: Session,
    ctx: Context,
    user: User,
    client: Client,
    purpose_id: str,
    right: EventType,
    *,
    language: str | None,
    session_id: str | None,
    now: datetime,
    actor: Actor = Actor.CUSTOMER,
    channel: Channel = Channel.ACCOUNT_PAGE,
    reason: str | None = None,
    admin: str | None = None,
) -> bool:
    """Record a withdrawal (GDPR Art. 7(3)), an objection (Art. 21), a restriction (Art. 18)
    or its lifting; True when it changed something and was recorded.

    A consent is withdrawn; processing on legitimate interest is objected to; any purpose
    can be restricted. ``decide()`` stops the release at once. What changes nothing (a
    withdrawal of a consent that does not stand, a second objection) is not recorded. The
    customer's own requests are limited by ``ctx.limit`` (``ledger.TooFast``); an admin's
    are not.
    """
    purpose = next((p for p in purposes_for(session, ctx, client) if p.id == purpose_id), None)
    if purpose is None:
        raise LookupError(f"{client.client_id} has no purpose {purpose_id}")
    state = states_for(session, ctx, user, client).get(purpose_id)
    if right is EventType.WITHDRAWN:
        if purpose.basis is not LegalBasis.CONSENT:
            raise NotApplicable("only a consent can be withdrawn")
    elif right is EventType.OBJECTION:
        if purpose.basis is not LegalBasis.LEGITIMATE_INTEREST:
            raise NotApplicable("only processing on legitimate interest can be objected to")
        if state is not None and state.objected:
            raise NotApplicable("already objected")
    elif right is EventType.RESTRICTION:
        if state is not None and state.restricted:
            raise NotApplicable("already restricted")
    elif right is EventType.RESTRICTION_LIFTED:
        if state is None or not state.restricted:
            raise NotApplicable("not restricted")
    else:
        raise NotApplicable(f"{right} is not a right exercised this way")
    event = ConsentEvent(
        customer_id=user.id,
        recipient_id=client.client_id,
        purpose_id=purpose.id,
        purpose_version=purpose.version,
        type=right,
        at=now,
        actor=actor,
        channel=channel,
        language=language,
        session_id=session_id,
    )
    details = _details(event, None, client)
    if reason:
        details["reason"] = reason
    if admin:  # which admin recorded it (the event's actor is "admin")
        details["admin"] = admin
    limit = ctx.limit if actor is Actor.CUSTOMER else None
    (token,) = ledger.submit_changes(session, ctx.keys, [(event, details)], limit=limit, now=now)
    if token is not None and ctx.issuer:  # the recipient's streams hear of it, in this commit
        signals.consent_changed(
            session,
            ctx.issuer,
            user,
            client,
            purpose.id,
            str(right),
            now,
            "user" if actor is Actor.CUSTOMER else "admin",
        )
    return token is not None


def release(
    session: Session, ctx: Context, user: User, client: Client, wanted: set[str], now: datetime
) -> Decision:
    """GDPR Art. 6 and 25: only the claims ``decide()`` allows leave Avain."""
    request = ReleaseRequest(user.id, client.client_id, frozenset(wanted))
    return decide(
        request, purposes_for(session, ctx, client), states_for(session, ctx, user, client), now
    )


def anything_active(
    session: Session, ctx: Context, user: User, client: Client, now: datetime
) -> bool:
    """Whether any purpose still lets the client have something about the customer."""
    states = states_for(session, ctx, user, client)
    for purpose in purposes_for(session, ctx, client):
        state = states.get(purpose.id)
        if state is not None and (state.restricted or state.paused):
            continue
        if purpose.basis is LegalBasis.CONSENT:
            if _is_current(state, purpose, now):
                return True
        elif purpose.basis is LegalBasis.LEGITIMATE_INTEREST:
            if state is None or not state.objected:
                return True
        elif purpose.necessary():
            return True
    return False
