"""Complaints: a customer complains about how their data is used; while the complaint is open,
every purpose the catalogue marks ``marketing`` is paused for them.

The pause is in the consent ledger, not beside it: opening writes a ``complaint_opened`` event
for each (recipient, marketing purpose) of the customer, closing a ``complaint_closed`` event
for each that is paused, both by the admin with the reason in the event's sealed details. The
projection turns them into ``ConsentState.paused``, which ``decide()`` refuses to release under,
so every way a claim leaves (ID token, userinfo, JWT access token, introspection, token
exchange, refresh) stops at once without a check of its own. The consent itself stays as the
customer chose it, and as they change it meanwhile; closing restores exactly that.

Opening also does what a withdrawal does for each recipient that was receiving something under
a paused purpose: its tokens are revoked in the same transaction, it hears of it through a
Shared Signals ``consent-restricted`` event (processing restricted while the complaint is
handled), and it gets a back-channel logout when nothing else is left for it. Recipients of a
paused purpose that received nothing under it keep their tokens: nothing they hold depended on
it. Closing revokes nothing and revives nothing: revoked tokens stay revoked, new ones release
the purposes again.

Plain functions taking a ``Session`` first, who acts (an admin in the console, or an admin API
client) and the time; they flush and never commit, so the console and the admin API call the
same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from consent import ledger
from consent.model import (
    Actor,
    Channel,
    ConsentEvent,
    ConsentState,
    ConsentStatus,
    EventType,
    LegalBasis,
    Purpose,
)
from idp.auth.accounts import find_by_email
from idp.db import aware
from idp.events import signals
from idp.ledger import consents
from idp.models import Admin, AdminApiClient, Client, Complaint, User
from idp.revocation import revoke_client_tokens
from idp.sso import enqueue_client_logout

#: who opens or closes a complaint: an admin in the console, or an admin API client
Acting = Admin | AdminApiClient

MAX_REASON = 2000  # characters; a complaint is summarised, the letter itself is kept elsewhere
PAGE_SIZE = 25


class ComplaintError(ValueError):
    """Why a complaint cannot be opened or closed; ``code`` names it for the console."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Opened:
    """What opening a complaint did: the complaint, the (recipient, purpose) pairs paused and
    the recipients whose tokens were revoked."""

    complaint: Complaint
    paused: list[tuple[str, str]]
    revoked: list[str]


def clean_reason(text: str | None) -> str:
    """The reason as recorded: whitespace runs made one space; required, and bounded."""
    reason = " ".join((text or "").split())
    if not reason:
        raise ComplaintError("reason_required")
    if len(reason) > MAX_REASON:
        raise ComplaintError("reason_too_long")
    return reason


def find_customer(session: Session, query: str | None) -> User:
    """A customer by id or email address, as an admin types either."""
    text = (query or "").strip()
    if not text:
        raise ComplaintError("customer_required")
    if len(text) > 320:
        raise ComplaintError("no_such_customer")
    found = find_by_email(session, text) if "@" in text else session.get(User, text)
    if found is None:
        raise ComplaintError("no_such_customer")
    return found


def marketing_purposes(ctx: consents.Context) -> list[Purpose]:
    """The catalogue's marketing purposes, in catalogue order (numbered as stored)."""
    return [p for p in ctx.catalogue.purposes.values() if p.marketing]


def open_of(session: Session, customer_id: str) -> Complaint | None:
    """The customer's open complaint, if any (at most one is open)."""
    return session.scalar(
        select(Complaint).where(Complaint.customer_id == customer_id, Complaint.closed_at.is_(None))
    )


def _releases_under(purpose: Purpose, state: ConsentState | None, now: datetime) -> bool:
    """Whether ``purpose`` let anything out to the recipient before the pause: then tokens
    the recipient holds may carry what it released, and they end as on a withdrawal."""
    if state is not None and (state.restricted or state.paused):
        return False
    if purpose.basis is LegalBasis.CONSENT:
        return (
            state is not None
            and state.status == ConsentStatus.ACTIVE
            and state.purpose_version == purpose.version
            and (state.expires_at is None or state.expires_at > now)
        )
    if purpose.basis is LegalBasis.LEGITIMATE_INTEREST and state is not None and state.objected:
        return False
    return bool(purpose.necessary()) or (state is not None and bool(state.claims))


def _details(complaint: Complaint, actor: Acting, reason: str, recipient: str) -> dict[str, Any]:
    """An event's sealed details: the complaint, who acted and why."""
    who: dict[str, Any] = (
        {"admin_id": actor.id, "admin_email": actor.email}
        if isinstance(actor, Admin)
        else {"api_client_id": actor.client_id}
    )
    return {"complaint": complaint.id, **who, "reason": reason, "recipient_name": recipient}


def _by(actor: Acting) -> tuple[str | None, str | None]:
    """(admin id, admin API client id) of who acted; the other is None."""
    if isinstance(actor, Admin):
        return actor.id, None
    return None, actor.client_id


def _recipient_name(ctx: consents.Context, session: Session, recipient_id: str) -> str:
    listed = ctx.catalogue.recipients.get(recipient_id)
    if listed is not None:
        return listed.name
    client = session.get(Client, recipient_id)
    return client.client_name if client is not None else recipient_id


def open_complaint(
    session: Session,
    ctx: consents.Context,
    actor: Acting,
    customer: User,
    reason: str | None,
    now: datetime,
    *,
    channel: Channel = Channel.ADMIN_CONSOLE,
) -> Opened:
    """Open a complaint for ``customer`` and pause their marketing purposes until it closes.

    Raises :class:`ComplaintError` ``already_open`` when the customer has an open one (the
    customer's ledger lock, taken first, makes two admins opening at once see each other),
    ``reason_required`` or ``reason_too_long``.
    """
    reason = clean_reason(reason)
    ledger.lock_customer(session, ctx.keys, customer.id)
    if open_of(session, customer.id) is not None:
        raise ComplaintError("already_open")
    purposes = marketing_purposes(ctx)
    admin_id, client_id = _by(actor)
    complaint = Complaint(
        customer_id=customer.id,
        opened_at=now,
        opened_by=admin_id,
        opened_by_client=client_id,
        reason=reason,
        purposes=[p.id for p in purposes],
    )
    session.add(complaint)
    session.flush()
    before = ledger.states(session, ctx.keys, customer.id)
    items = []
    for purpose in purposes:
        for recipient_id in sorted(purpose.recipients):
            event = ConsentEvent(
                customer_id=customer.id,
                recipient_id=recipient_id,
                purpose_id=purpose.id,
                purpose_version=purpose.version,
                type=EventType.COMPLAINT_OPENED,
                at=now,
                actor=Actor.ADMIN,
                channel=channel,
            )
            name = _recipient_name(ctx, session, recipient_id)
            items.append((event, _details(complaint, actor, reason, name)))
    tokens = ledger.submit_changes(session, ctx.keys, items, now=now)
    paused = [
        (event.recipient_id, event.purpose_id)
        for (event, _), token in zip(items, tokens, strict=True)
        if token is not None
    ]
    by_id = {p.id: p for p in purposes}
    affected: dict[str, list[str]] = {}
    for recipient_id, purpose_id in paused:
        if _releases_under(by_id[purpose_id], before.get((recipient_id, purpose_id)), now):
            affected.setdefault(recipient_id, []).append(purpose_id)
    for recipient_id, purpose_ids in sorted(affected.items()):
        client = session.get(Client, recipient_id)
        if client is not None:
            _end_as_on_withdrawal(session, ctx, customer, client, purpose_ids, now)
    return Opened(complaint, paused, sorted(affected))


def _end_as_on_withdrawal(
    session: Session,
    ctx: consents.Context,
    customer: User,
    client: Client,
    purpose_ids: list[str],
    now: datetime,
) -> None:
    """What a withdrawal does after its event (:func:`idp.account.sharing.change`), for the
    purposes the complaint paused: the client's tokens for the customer end, it hears of
    each purpose through Shared Signals, and a back-channel logout is queued when nothing is
    left for it. One place, so that it follows the withdrawal path when that changes."""
    revoke_client_tokens(session, customer.id, client.client_id)
    if not ctx.issuer:
        return
    for purpose_id in purpose_ids:
        signals.consent_changed(
            session,
            ctx.issuer,
            customer,
            client,
            purpose_id,
            str(EventType.COMPLAINT_OPENED),
            now,
            "admin",
        )
    if not consents.anything_active(session, ctx, customer, client, now):
        enqueue_client_logout(session, ctx.issuer, customer, client)


def close_complaint(
    session: Session,
    ctx: consents.Context,
    actor: Acting,
    complaint: Complaint,
    reason: str | None,
    now: datetime,
    *,
    channel: Channel = Channel.ADMIN_CONSOLE,
) -> list[tuple[str, str]]:
    """Close the complaint and lift the pause of every purpose it paused for the customer.

    What the customer chose stands again (the projection kept it). Tokens revoked on opening
    stay revoked; new ones release the purposes again. Returns the (recipient, purpose) pairs
    resumed. Raises :class:`ComplaintError` ``already_closed`` (also when another admin closed
    it a moment earlier), ``reason_required`` or ``reason_too_long``.
    """
    reason = clean_reason(reason)
    ledger.lock_customer(session, ctx.keys, complaint.customer_id)
    session.refresh(complaint)
    if complaint.closed_at is not None:
        raise ComplaintError("already_closed")
    states = ledger.states(session, ctx.keys, complaint.customer_id)
    items = []
    for (recipient_id, purpose_id), state in sorted(states.items()):
        if not state.paused:
            continue
        event = ConsentEvent(
            customer_id=complaint.customer_id,
            recipient_id=recipient_id,
            purpose_id=purpose_id,
            purpose_version=state.purpose_version,
            type=EventType.COMPLAINT_CLOSED,
            at=now,
            actor=Actor.ADMIN,
            channel=channel,
        )
        name = _recipient_name(ctx, session, recipient_id)
        items.append((event, _details(complaint, actor, reason, name)))
    tokens = ledger.submit_changes(session, ctx.keys, items, now=now)
    complaint.closed_at = now
    complaint.closed_by, complaint.closed_by_client = _by(actor)
    complaint.closing_reason = reason
    session.flush()
    return [
        (event.recipient_id, event.purpose_id)
        for (event, _), token in zip(items, tokens, strict=True)
        if token is not None
    ]


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A complaint as the console lists it."""

    complaint: Complaint
    customer_email: str
    customer_name: str
    opened_by: str | None  # the admin's email; None when that admin was deleted
    closed_by: str | None


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    page: int
    pages: int
    total: int


STATES = ("open", "closed", "all")


def _rows(session: Session, where: list[Any], page: int, size: int) -> list[Row]:
    opener, closer = aliased(Admin), aliased(Admin)
    query = (
        select(Complaint, User.email, User.name, opener.email, closer.email)
        .join(User, User.id == Complaint.customer_id)
        .outerjoin(opener, opener.id == Complaint.opened_by)
        .outerjoin(closer, closer.id == Complaint.closed_by)
        .where(*where)
        .order_by(Complaint.opened_at.desc(), Complaint.id)
        .limit(size)
        .offset((page - 1) * size)
    )
    return [
        Row(c, email, name, by, closed) for c, email, name, by, closed in session.execute(query)
    ]


def page_of(session: Session, state: str = "open", page: int = 1, size: int = PAGE_SIZE) -> Page:
    """One page of complaints, newest first: ``state`` is open, closed or all."""
    if state not in STATES:
        raise ComplaintError("bad_filter")
    where: list[Any] = []
    if state == "open":
        where.append(Complaint.closed_at.is_(None))
    elif state == "closed":
        where.append(Complaint.closed_at.is_not(None))
    total = session.scalar(select(func.count()).select_from(Complaint).where(*where)) or 0
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    return Page(_rows(session, where, page, size), page, pages, total)


def get(session: Session, complaint_id: str) -> Row:
    """One complaint with the emails of its customer and admins."""
    found = _rows(session, [Complaint.id == complaint_id[:36]], 1, 1)
    if not found:
        raise ComplaintError("no_such_complaint")
    return found[0]


def of_customer(session: Session, customer_id: str) -> list[Row]:
    """Every complaint of the customer, newest first (the customer's page links them)."""
    return _rows(session, [Complaint.customer_id == customer_id], 1, 1000)


def count_open(session: Session) -> int:
    """For the Overview."""
    return (
        session.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.closed_at.is_(None))
        )
        or 0
    )


@dataclass(frozen=True)
class Pause:
    """What the customer's account page says about an open complaint."""

    since: datetime
    purposes: list[str]  # the paused purposes' titles, in the page's language
    recipients: list[str]  # who the paused purposes share with


def pause_of(session: Session, ctx: consents.Context, customer_id: str, lang: str) -> Pause | None:
    """The pause the customer's open complaint holds, for their account page; None without
    an open complaint. Read from the ledger's states, so it names what is paused in fact."""
    complaint = open_of(session, customer_id)
    if complaint is None:
        return None
    states = ledger.states(session, ctx.keys, customer_id)
    titles: list[str] = []
    recipients: list[str] = []
    for (recipient_id, purpose_id), state in sorted(states.items()):
        if not state.paused:
            continue
        purpose = ctx.catalogue.purposes.get(purpose_id)
        text = (purpose.texts.get(lang) or purpose.texts.get("en")) if purpose else None
        title = text.title if text else purpose_id
        if title not in titles:
            titles.append(title)
        name = _recipient_name(ctx, session, recipient_id)
        if name not in recipients:
            recipients.append(name)
    return Pause(aware(complaint.opened_at), titles, recipients)
