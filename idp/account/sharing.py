"""What the customer shares with whom, as the account page shows it, and withdrawal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from consent import ledger, receipts
from consent.export import export_history
from consent.model import Actor, AskAt, Channel, LegalBasis
from consent.store import EventRow
from idp import contributions
from idp.ledger import consents, disclosures
from idp.models import Client, User
from idp.revocation import revoke_client_tokens
from idp.sso import enqueue_client_logout


@dataclass(frozen=True)
class Sharing:
    recipient_id: str
    recipient_name: str
    purpose_id: str
    title: str | None  # None: signing in to the client (the page words it)
    basis: str
    status: str  # active, refused, withdrawn, expired, objected, restricted
    since: datetime | None
    claims: list[str]  # what the recipient gets now
    withdrawable: bool  # a consent that stands (Art. 7(3))
    objectable: bool  # legitimate interest not yet objected to (Art. 21)
    restrictable: bool  # not yet restricted (Art. 18)
    #: a consent the catalogue offers here (``ask = "account"``) that does not stand: the
    #: page shows its full text and claims with a "Turn on" action (:func:`turn_on`)
    offerable: bool = False
    description: str | None = None
    necessary: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


def overview(session: Session, ctx: consents.Context, user: User, lang: str) -> list[Sharing]:
    """Every purpose the customer's data serves for a recipient they have dealt with.

    Purposes on legitimate interest are listed without any event of the customer's, so that
    the right to object is in front of them (Art. 21(4)); so are the consents the catalogue
    offers on this page (``ask = "account"``), so that they can be turned on.
    """
    states = ledger.states(session, ctx.keys, user.id)
    keys = set(states)
    for recipient_id in {r for r, _ in states}:
        for listed in ctx.catalogue.purposes_for(recipient_id):
            if listed.basis is LegalBasis.LEGITIMATE_INTEREST or listed.ask is AskAt.ACCOUNT:
                keys.add((recipient_id, listed.id))
    out = []
    for recipient_id, purpose_id in sorted(keys):
        state = states.get((recipient_id, purpose_id))
        client = session.get(Client, recipient_id)
        recipient = ctx.catalogue.recipients.get(recipient_id)
        name = recipient.name if recipient else client.client_name if client else recipient_id
        purpose = ctx.catalogue.purposes.get(purpose_id)
        title = description = None
        if purpose is not None:
            text = purpose.texts.get(lang) or purpose.texts.get("en")
            title = text.title if text else purpose_id
            description = text.description if text else None
        basis = purpose.basis if purpose is not None else LegalBasis.CONSENT
        restricted = state is not None and state.restricted
        objected = state is not None and state.objected
        if restricted:
            status = "restricted"
        elif basis is LegalBasis.LEGITIMATE_INTEREST:
            status = "objected" if objected else "active"
        else:
            status = state.status if state is not None else "none"
        shared: set[str] = set()
        if status == "active":
            shared = set(state.claims) if state is not None else set()
            if purpose is not None:
                shared |= purpose.necessary()
        out.append(
            Sharing(
                recipient_id=recipient_id,
                recipient_name=name,
                purpose_id=purpose_id,
                title=title,
                basis=str(basis),
                status=status,
                since=state.since if state is not None else None,
                claims=sorted(shared),
                withdrawable=(
                    state is not None
                    and state.status == "active"
                    and basis is LegalBasis.CONSENT
                    and client is not None
                ),
                objectable=(
                    basis is LegalBasis.LEGITIMATE_INTEREST and not objected and client is not None
                ),
                restrictable=status == "active" and client is not None,
                offerable=(
                    purpose is not None
                    and purpose.ask is AskAt.ACCOUNT
                    and status not in {"active", "restricted"}
                    and client is not None
                ),
                description=description,
                necessary=tuple(sorted(purpose.necessary())) if purpose is not None else (),
                optional=tuple(sorted(purpose.optional())) if purpose is not None else (),
            )
        )
    return out


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
    """Withdraw a consent, object, restrict or lift a restriction.

    Whatever narrows what a recipient may get also ends its tokens in the same transaction,
    so nothing issued under the old terms stays usable; when nothing is left for the client,
    a back-channel logout is queued (once: not for a repeated request that changed nothing).
    Returns the deliveries queued.
    """
    if action not in consents.RIGHTS:
        raise LookupError(f"no such action {action}")
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
        return 0
    revoke_client_tokens(session, user.id, client.client_id)
    if not recorded or consents.anything_active(session, ctx, user, client, now):
        return 0
    return len(enqueue_client_logout(session, issuer, user, client))


def turn_on(
    session: Session,
    ctx: consents.Context,
    user: User,
    client: Client,
    purpose_id: str,
    claims: set[str],
    *,
    language: str,
    session_id: str | None,
    now: datetime,
) -> bool:
    """Give a consent the catalogue offers on the account page (``ask = "account"``), with
    the optional ``claims`` ticked; True when it was recorded. A purpose offered at sign-in
    is given there (LookupError here), so that each is asked in one place."""
    purpose = ctx.catalogue.purposes.get(purpose_id)
    if purpose is None or purpose.ask is not AskAt.ACCOUNT:
        raise LookupError(f"{purpose_id} is not offered on the account page")
    return consents.give(
        session,
        ctx,
        user,
        client,
        purpose_id,
        claims,
        language=language,
        session_id=session_id,
        now=now,
    )


def _purpose_texts(ctx: consents.Context, purpose_id: str) -> dict[str, Any] | None:
    purpose = ctx.catalogue.purposes.get(purpose_id)
    return dict(purpose.texts) if purpose else None


def _controller(ctx: consents.Context, recipient_id: str, default: str) -> str:
    """The catalogue's controller of what the recipient receives, else the deployment's."""
    recipient = ctx.catalogue.recipients.get(recipient_id)
    return (recipient.controller if recipient else None) or default


def _basis(ctx: consents.Context, purpose_id: str) -> str:
    purpose = ctx.catalogue.purposes.get(purpose_id)
    return str(purpose.basis) if purpose else str(LegalBasis.CONSENT)


def receipts_of(
    session: Session, ctx: consents.Context, user: User, issuer: str, controller: str, now: datetime
) -> list[tuple[EventRow, str]]:
    """Every ledger event of the customer with its signed receipt, newest first."""
    out = []
    for row in reversed(ledger.customer_rows(session, ctx.keys, user.id)):
        token = receipts.issue_receipt(
            session,
            ctx.keys,
            user.id,
            row,
            issuer=issuer,
            controller={
                "piiController": _controller(ctx, row.recipient_id, controller),
                "url": issuer,
            },
            purpose_texts=_purpose_texts(ctx, row.purpose_id),
            now=now,
            basis=_basis(ctx, row.purpose_id),
        )
        out.append((row, token))
    return out


def export(session: Session, ctx: consents.Context, user: User) -> dict[str, Any]:
    """The consent history, the disclosure log (who received which claims, when, why) and
    what partners added to the profile (who, what, when)."""
    history = export_history(
        session, ctx.keys, user.id, legal_basis=lambda purpose_id, _version: _basis(ctx, purpose_id)
    )
    history["disclosures"] = disclosures.export(session, ctx.keys, user.id)
    history["contributed_claims"] = contributions.export(session, user.id)
    return history


@dataclass(frozen=True)
class Disclosed:
    """Releases alike to one recipient on one day, for the account page."""

    recipient_name: str
    claims: tuple[str, ...]
    last: datetime
    times: int


PAGE_DISCLOSURES = 50  # groups shown on the account page; the export has every release
# releases read for them: a partner that polls userinfo all day makes many rows, one line
PAGE_DISCLOSURE_ROWS = 5000


def disclosed(session: Session, ctx: consents.Context, user: User) -> list[Disclosed]:
    """Who received which of the customer's claims, grouped per recipient and day, newest
    first (:func:`idp.ledger.disclosures.summarise`)."""
    names: dict[str, str] = {}
    out = []
    rows = disclosures.of_customer(session, user.id, limit=PAGE_DISCLOSURE_ROWS)
    summaries = disclosures.summarise(rows)
    for s in summaries[:PAGE_DISCLOSURES]:
        if s.recipient_id not in names:
            names[s.recipient_id] = _recipient_name(ctx, session, s.recipient_id)
        out.append(Disclosed(names[s.recipient_id], s.claims, s.last, s.times))
    return out


def _recipient_name(ctx: consents.Context, session: Session, recipient_id: str) -> str:
    recipient = ctx.catalogue.recipients.get(recipient_id)
    if recipient is not None:
        return recipient.name
    client = session.get(Client, recipient_id)
    return client.client_name if client is not None else recipient_id


def describe_row(
    ctx: consents.Context, session: Session, row: EventRow, lang: str
) -> tuple[str | None, str]:
    """A receipt's purpose title (None: signing in to the client) and recipient name."""
    purpose = ctx.catalogue.purposes.get(row.purpose_id)
    title = None
    if purpose is not None:
        text = purpose.texts.get(lang) or purpose.texts.get("en")
        title = text.title if text else row.purpose_id
    return title, _recipient_name(ctx, session, row.recipient_id)
