"""What the customer shares with whom, as the account page shows it; withdrawal and the
other rights live in :mod:`idp.account.changes` (re-exported here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from consent import ledger, receipts
from consent.export import export_history
from consent.model import AskAt, LegalBasis
from consent.store import EventRow
from idp import contributions

# re-exported: the command line, the admin console and tests call sharing.change
from idp.account.changes import (
    Effect as Effect,
    change as change,
    change_with_effect as change_with_effect,
)
from idp.ledger import consents, disclosures
from idp.models import Client, User


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

    recipient_id: str
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
        out.append(Disclosed(s.recipient_id, names[s.recipient_id], s.claims, s.last, s.times))
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


@dataclass(frozen=True)
class Card:
    """One recipient on the account page's Sharing section: what it gets and why, and what
    it has received (the disclosure log, when the deployment keeps one)."""

    recipient_id: str
    recipient_name: str
    controller: str | None  # an independent controller named by the catalogue
    items: list[Sharing]
    received: list[Disclosed]


def cards(items: list[Sharing], received: list[Disclosed], ctx: consents.Context) -> list[Card]:
    """:func:`overview` and :func:`disclosed` per recipient, in the overview's order; a
    recipient that only received something still gets its card."""
    order: dict[str, str] = {}
    for item in items:
        order.setdefault(item.recipient_id, item.recipient_name)
    for got in received:
        order.setdefault(got.recipient_id, got.recipient_name)
    out = []
    for recipient_id, name in order.items():
        recipient = ctx.catalogue.recipients.get(recipient_id)
        out.append(
            Card(
                recipient_id=recipient_id,
                recipient_name=name,
                controller=recipient.controller if recipient else None,
                items=[i for i in items if i.recipient_id == recipient_id],
                received=[r for r in received if r.recipient_id == recipient_id],
            )
        )
    return out
