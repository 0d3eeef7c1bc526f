"""The data-sharing map of a partner: what it may receive, why, how many customers let it,
what it last received, and how Avain tells it about changes. The consents are counted in
the database by :mod:`idp.admin.consent_counts`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from consent.catalogue import Catalogue
from consent.model import Agreement, EventType, LegalBasis, Need, Purpose, Recipient
from idp.admin import consent_counts, partners
from idp.admin.consent_counts import WINDOWS
from idp.db import aware
from idp.events.kinds import BACKCHANNEL_LOGOUT
from idp.ledger.consents import signin_purpose
from idp.models import Client, Delivery, Disclosure, SsfEvent, SsfStream


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
    clients = [c.client_id for c in partners.all_clients(session)]
    return ids + sorted(c for c in clients if c not in catalogue.recipients)


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
    try:
        client: Client | None = partners.find(session, recipient_id)
    except partners.PartnerError:
        client = None
    if recipient is None and client is None:
        return None
    active = consent_counts.active_by_version(session, recipient_id, now)
    ended = consent_counts.endings(session, recipient_id, now)
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


def _at(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value else None


def as_json(m: SharingMap, agreements: bool) -> dict[str, Any]:
    """The map as the admin API gives it; ``agreements`` only for a role that may see them."""
    out: dict[str, Any] = {
        "partner_id": m.recipient_id,
        "name": m.recipient.name if m.recipient else (m.client.client_name if m.client else None),
        "controller": m.recipient.controller if m.recipient else None,
        "client_registered": m.client is not None,
        "purposes": [
            {
                "purpose_id": s.purpose.id,
                "version": s.purpose.version,
                "basis": str(s.purpose.basis),
                "validity_days": s.purpose.validity_days,
                "claims": [
                    {"claim": c, "category": category, "need": str(need)}
                    for c, category, need in s.claims
                ],
                "active_consents": s.counts.current,
                "consents_to_older_versions": s.counts.outdated,
                "withdrawals": {f"{d}d": n for d, n in s.counts.withdrawals.items()},
                "objections": {f"{d}d": n for d, n in s.counts.objections.items()},
            }
            for s in m.shares
        ],
        "last_disclosure": None,
        "disclosures_30d": m.disclosures_30d,
        "shared_signals": None,
        "backchannel_logout": {
            "uri": m.client.backchannel_logout_uri if m.client else None,
            "waiting": m.logouts.waiting,
            "failed": m.logouts.failed,
            "last_delivered_at": _at(m.logouts.last_delivered),
        },
    }
    if m.last_disclosure is not None:
        d = m.last_disclosure
        out["last_disclosure"] = {
            "at": _at(d.at),
            "channel": d.channel,
            "claims": list(d.claims),
            "purposes": sorted({str(g.get("purpose")) for g in d.grounds}),
        }
    if m.stream is not None:
        out["shared_signals"] = {
            "status": m.stream.status,
            "delivery": m.stream.method,
            "endpoint": m.stream.endpoint,
            "events": list(m.stream.events),
            "pending": m.stream.pending,
            "failed": m.stream.failed,
            "last_delivered_at": _at(m.stream.last_delivered),
        }
    if agreements:
        out["agreements"] = [
            {
                "agreement_id": a.id,
                "from": a.from_id,
                "to": a.to_id,
                "purpose_id": a.purpose_id,
                "details_types": sorted(a.details_types),
            }
            for a in [*m.hands_over, *m.receives]
        ]
    return out
