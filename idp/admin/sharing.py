"""The data-sharing map of a partner: what it may receive, why, how many customers let it,
what it last received, and how Avain tells it about changes.

The counts are computed in the database, not by reading every event into Python as the
Overview does: a (customer, purpose) consent to one recipient stands when its newest
event that gives or ends consent (in ledger order: logged events by position, then queued
ones by arrival) gives it, no objection was ever recorded (Art. 21) and its newest
restriction event is not a restriction (Art. 18), exactly as
:func:`consent.projection.apply` folds them. A consent whose ``expires_at`` has passed
is not counted, as :func:`consent.decide` would not release on it.
``tests/admin/test_sharing_map.py`` checks the SQL against the projection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from consent.catalogue import Catalogue
from consent.model import Agreement, EventType, LegalBasis, Need, Purpose, Recipient
from consent.store import EventRow, IntakeRow
from idp.admin.overview import WINDOWS
from idp.events.kinds import BACKCHANNEL_LOGOUT
from idp.ledger.consents import signin_purpose
from idp.models import Client, Delivery, Disclosure, SsfEvent, SsfStream

GRANTING = (EventType.GIVEN, EventType.RENEWED, EventType.MODIFIED)
STATUS_TYPES = (*GRANTING, EventType.REFUSED, EventType.WITHDRAWN, EventType.EXPIRED)
RESTRICTING = (EventType.RESTRICTION, EventType.RESTRICTION_LIFTED)


@dataclass(frozen=True)
class Counts:
    """One purpose's consents to one recipient."""

    current: int = 0  # active, to the purpose's present version
    outdated: int = 0  # active, but to an older version: withheld until asked again
    withdrawals: dict[int, int] = field(default_factory=dict)  # days -> withdrawals
    objections: dict[int, int] = field(default_factory=dict)  # days -> objections


@dataclass(frozen=True)
class Share:
    purpose: Purpose
    claims: list[tuple[str, str, Need]]  # (claim, category, need), necessary first
    counts: Counts

    @property
    def on_consent(self) -> bool:
        return self.purpose.basis is LegalBasis.CONSENT


@dataclass(frozen=True)
class Stream:
    """A partner's Shared Signals stream (SSF 1.0) and how its deliveries stand."""

    status: str
    method: str  # push or poll (RFC 8935, RFC 8936)
    endpoint: str | None
    events: list[str]
    pending: int  # not yet accepted (push) or acknowledged (poll)
    failed: int  # given up after the last attempt
    last_delivered: datetime | None


@dataclass(frozen=True)
class Logouts:
    """Back-channel logout deliveries to the partner (the outbox)."""

    waiting: int
    failed: int
    last_delivered: datetime | None


@dataclass(frozen=True)
class SharingMap:
    recipient_id: str
    recipient: Recipient | None  # None: a client the catalogue does not name
    client: Client | None  # None: a catalogue recipient with no client registered
    #: the catalogue's purposes for the partner; for a client it does not name, the sign-in
    #: purpose its customers are asked (consent, or contract for a first-party client)
    shares: list[Share]
    hands_over: list[Agreement]  # agreements from this partner
    receives: list[Agreement]  # agreements to this partner
    last_disclosure: Disclosure | None
    disclosures_30d: int
    stream: Stream | None
    logouts: Logouts


def partner_ids(session: Session, catalogue: Catalogue) -> list[str]:
    """Every partner: catalogue recipients first (in file order), then other clients."""
    ids = list(catalogue.recipients)
    clients = session.scalars(select(Client.client_id).order_by(Client.client_id))
    return ids + [c for c in clients if c not in catalogue.recipients]


def _events(recipient_id: str) -> Subquery:
    """The recipient's events, logged and queued, with their place in ledger order."""
    columns = ("subject", "purpose_id", "purpose_version", "type", "at", "expires_at")
    logged = select(
        *[getattr(EventRow, c) for c in columns],
        literal(0).label("queued"),
        EventRow.seq.label("pos"),
    ).where(EventRow.recipient_id == recipient_id)
    waiting = select(*[getattr(IntakeRow, c) for c in columns], literal(1), IntakeRow.id).where(
        IntakeRow.recipient_id == recipient_id
    )
    return union_all(logged, waiting).subquery()


def _newest(ev: Subquery, types: tuple[EventType, ...]) -> Subquery:
    """Each (customer, purpose)'s events of ``types``, numbered newest first."""
    rank = (
        func.row_number()
        .over(
            partition_by=(ev.c.subject, ev.c.purpose_id),
            order_by=(ev.c.queued.desc(), ev.c.pos.desc()),
        )
        .label("rank")
    )
    return (
        select(
            ev.c.subject, ev.c.purpose_id, ev.c.purpose_version, ev.c.type, ev.c.expires_at, rank
        )
        .where(ev.c.type.in_([t.value for t in types]))
        .subquery()
    )


def active_by_version(
    session: Session, recipient_id: str, now: datetime
) -> dict[tuple[str, int], int]:
    """(purpose, version consented to) -> customers whose consent stands now."""
    ev = _events(recipient_id)
    status = _newest(ev, STATUS_TYPES)
    restrict = _newest(ev, RESTRICTING)
    restricted = (
        select(restrict.c.subject, restrict.c.purpose_id)
        .where(restrict.c.rank == 1, restrict.c.type == EventType.RESTRICTION.value)
        .subquery()
    )
    objected = (
        select(ev.c.subject, ev.c.purpose_id)
        .where(ev.c.type == EventType.OBJECTION.value)
        .distinct()
        .subquery()
    )
    stmt = (
        select(status.c.purpose_id, status.c.purpose_version, func.count())
        .outerjoin(
            restricted,
            and_(
                restricted.c.subject == status.c.subject,
                restricted.c.purpose_id == status.c.purpose_id,
            ),
        )
        .outerjoin(
            objected,
            and_(
                objected.c.subject == status.c.subject,
                objected.c.purpose_id == status.c.purpose_id,
            ),
        )
        .where(
            status.c.rank == 1,
            status.c.type.in_([t.value for t in GRANTING]),
            restricted.c.subject.is_(None),
            objected.c.subject.is_(None),
            or_(status.c.expires_at.is_(None), status.c.expires_at > now),
        )
        .group_by(status.c.purpose_id, status.c.purpose_version)
    )
    return {(row[0], row[1]): row[2] for row in session.execute(stmt)}


def endings(session: Session, recipient_id: str, now: datetime) -> dict[tuple[str, str, int], int]:
    """(purpose, withdrawn|objection, days) -> events in the last ``days``."""
    found: dict[tuple[str, str, int], int] = {}
    kinds = [EventType.WITHDRAWN.value, EventType.OBJECTION.value]
    for days in WINDOWS:
        since = now - timedelta(days=days)
        for table in (EventRow, IntakeRow):
            rows = session.execute(
                select(table.purpose_id, table.type, func.count())
                .where(table.recipient_id == recipient_id, table.type.in_(kinds), table.at >= since)
                .group_by(table.purpose_id, table.type)
            )
            for purpose, kind, n in rows:
                found[(purpose, kind, days)] = found.get((purpose, kind, days), 0) + n
    return found


def _counts(
    purpose: Purpose,
    active: dict[tuple[str, int], int],
    ended: dict[tuple[str, str, int], int],
) -> Counts:
    mine = {v: n for (p, v), n in active.items() if p == purpose.id}
    return Counts(
        current=mine.get(purpose.version, 0),
        outdated=sum(n for v, n in mine.items() if v != purpose.version),
        withdrawals={d: ended.get((purpose.id, EventType.WITHDRAWN.value, d), 0) for d in WINDOWS},
        objections={d: ended.get((purpose.id, EventType.OBJECTION.value, d), 0) for d in WINDOWS},
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """COUNT of the rows where ``condition`` holds (portable; no FILTER clause)."""
    return func.count(case((condition, 1)))


def _stream(session: Session, client_id: str) -> Stream | None:
    row = session.scalar(select(SsfStream).where(SsfStream.client_id == client_id))
    if row is None:
        return None
    pending, failed, last = session.execute(
        select(
            _count_if(and_(SsfEvent.acknowledged_at.is_(None), SsfEvent.failed_at.is_(None))),
            _count_if(SsfEvent.failed_at.is_not(None)),
            func.max(SsfEvent.delivered_at),
        ).where(SsfEvent.stream_id == row.id)
    ).one()
    return Stream(
        status=row.status,
        method="push" if row.delivery_method.endswith("8935") else "poll",
        endpoint=row.endpoint_url,
        events=[e.rsplit("/", 1)[-1] for e in row.events_delivered or []],
        pending=pending or 0,
        failed=failed or 0,
        last_delivered=last,
    )


def _logouts(session: Session, client_id: str) -> Logouts:
    waiting, failed, last = session.execute(
        select(
            _count_if(and_(Delivery.delivered_at.is_(None), Delivery.failed_at.is_(None))),
            _count_if(and_(Delivery.delivered_at.is_(None), Delivery.failed_at.is_not(None))),
            func.max(Delivery.delivered_at),
        ).where(Delivery.client_id == client_id, Delivery.kind == BACKCHANNEL_LOGOUT)
    ).one()
    return Logouts(waiting or 0, failed or 0, last)


def sharing_map(
    session: Session, catalogue: Catalogue, recipient_id: str, now: datetime
) -> SharingMap | None:
    """The partner's map, or None when neither the catalogue nor a client knows the id."""
    recipient = catalogue.recipients.get(recipient_id)
    client = session.get(Client, recipient_id) if len(recipient_id) <= 64 else None
    if recipient is None and client is None:
        return None
    active = active_by_version(session, recipient_id, now)
    ended = endings(session, recipient_id, now)
    listed = catalogue.purposes_for(recipient_id)
    if not listed and client is not None:  # as the sign-in asks it (idp.ledger.consents)
        listed = [signin_purpose(client)]
    shares = []
    for purpose in listed:
        claims = [
            (name, info.category if (info := catalogue.claims.get(name)) else "", need)
            for name, need in purpose.claims.items()
        ]
        claims.sort(key=lambda c: (c[2] is not Need.NECESSARY, c[0]))
        shares.append(Share(purpose, claims, _counts(purpose, active, ended)))
    last = session.scalar(
        select(Disclosure)
        .where(Disclosure.recipient_id == recipient_id)
        .order_by(Disclosure.at.desc(), Disclosure.id.desc())
        .limit(1)
    )
    recent = session.scalar(
        select(func.count())
        .select_from(Disclosure)
        .where(Disclosure.recipient_id == recipient_id, Disclosure.at >= now - timedelta(days=30))
    )
    agreements = list(catalogue.agreements.values())
    return SharingMap(
        recipient_id=recipient_id,
        recipient=recipient,
        client=client,
        shares=shares,
        hands_over=[a for a in agreements if a.from_id == recipient_id],
        receives=[a for a in agreements if a.to_id == recipient_id],
        last_disclosure=last,
        disclosures_30d=recent or 0,
        stream=_stream(session, recipient_id),
        logouts=_logouts(session, recipient_id),
    )
