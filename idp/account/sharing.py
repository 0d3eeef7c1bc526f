"""What the customer shares with whom, as the account page shows it, and withdrawal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from consent import ledger, receipts
from consent.export import export_history
from consent.model import LegalBasis
from consent.store import EventRow
from idp.events import backchannel
from idp.ledger import consents
from idp.models import Client, User
from idp.oauth import tokens


@dataclass(frozen=True)
class Sharing:
    recipient_id: str
    recipient_name: str
    purpose_id: str
    title: str | None  # None: signing in to the client (the page words it)
    status: str
    since: datetime
    claims: list[str]
    withdrawable: bool


def overview(session: Session, ctx: consents.Context, user: User, lang: str) -> list[Sharing]:
    out = []
    for (recipient_id, purpose_id), state in sorted(
        ledger.states(session, ctx.keys, user.id).items()
    ):
        client = session.get(Client, recipient_id)
        recipient = ctx.catalogue.recipients.get(recipient_id)
        name = recipient.name if recipient else client.client_name if client else recipient_id
        purpose = ctx.catalogue.purposes.get(purpose_id)
        title = None
        if purpose is not None:
            text = purpose.texts.get(lang) or purpose.texts.get("en")
            title = text.title if text else purpose_id
        consent_based = purpose is None or purpose.basis is LegalBasis.CONSENT
        shared = set(state.claims)
        if state.status == "active" and purpose is not None:
            shared |= purpose.necessary()
        out.append(
            Sharing(
                recipient_id,
                name,
                purpose_id,
                title,
                state.status,
                state.since,
                sorted(shared),
                state.status == "active" and consent_based and client is not None,
            )
        )
    return out


def withdraw(
    session: Session,
    ctx: consents.Context,
    issuer: str,
    user: User,
    client: Client,
    purpose_id: str,
    *,
    language: str,
    session_id: str | None,
    now: datetime,
) -> int:
    """Record the withdrawal, revoke the client's tokens in the same transaction, and when
    nothing is left for the client, queue a back-channel logout. Returns deliveries queued."""
    consents.withdraw(
        session, ctx, user, client, purpose_id, language=language, session_id=session_id, now=now
    )
    tokens.revoke_client_tokens(session, user.id, client.client_id)
    if consents.anything_active(session, ctx, user, client, now):
        return 0
    return len(backchannel.enqueue_client_logout(session, issuer, user, client))


def _purpose_texts(ctx: consents.Context, purpose_id: str) -> dict[str, Any] | None:
    purpose = ctx.catalogue.purposes.get(purpose_id)
    return dict(purpose.texts) if purpose else None


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
            controller={"piiController": controller, "url": issuer},
            purpose_texts=_purpose_texts(ctx, row.purpose_id),
            now=now,
            basis=_basis(ctx, row.purpose_id),
        )
        out.append((row, token))
    return out


def export(session: Session, ctx: consents.Context, user: User) -> dict[str, Any]:
    return export_history(
        session, ctx.keys, user.id, legal_basis=lambda purpose_id, _version: _basis(ctx, purpose_id)
    )


def describe_row(
    ctx: consents.Context, session: Session, row: EventRow, lang: str
) -> tuple[str | None, str]:
    """A receipt's purpose title (None: signing in to the client) and recipient name."""
    purpose = ctx.catalogue.purposes.get(row.purpose_id)
    title = None
    if purpose is not None:
        text = purpose.texts.get(lang) or purpose.texts.get("en")
        title = text.title if text else row.purpose_id
    recipient = ctx.catalogue.recipients.get(row.recipient_id)
    client = session.get(Client, row.recipient_id)
    name = recipient.name if recipient else client.client_name if client else row.recipient_id
    return title, name
