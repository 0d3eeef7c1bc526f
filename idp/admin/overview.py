"""The console's Overview: figures computed from the data itself, nothing estimated.

Active consents come from the ledger's own projection (:func:`consent.projection.project`)
over every customer's events, logged and queued, read in one statement as
:func:`consent.ledger.reading.events` reads one customer's; withdrawals and objections are
counted from the events' own times; undelivered logouts from the outbox; the last
verification of each log from its record (:mod:`idp.ledger.verify_runs`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from consent.ledger import latest_checkpoint
from consent.ledger.columns import EVENT_FIELDS, as_event
from consent.model import ConsentStatus, EventType
from consent.projection import project
from consent.store import EventRow, IntakeRow
from idp.db import aware
from idp.events.kinds import BACKCHANNEL_LOGOUT
from idp.ledger import verify_runs
from idp.models import Delivery, User, VerifyRun

ENDINGS = (EventType.WITHDRAWN, EventType.OBJECTION)
WINDOWS = (7, 30)  # days


@dataclass(frozen=True)
class Overview:
    customers: int
    active: dict[tuple[str, str], int]  # (purpose, recipient) -> consents in use
    endings: dict[tuple[str, int], int]  # (event type, days) -> events in the last days
    logouts_waiting: int  # back-channel logouts still to be retried
    logouts_failed: int  # given up after the last attempt
    checkpoint_size: int | None  # the consent ledger's newest signed checkpoint
    checkpoint_at: datetime | None
    queued: int
    consent_verified: VerifyRun | None  # the last full check of the consent ledger
    audit_verified: VerifyRun | None  # and of the audit log


def _union() -> Subquery:
    logged = select(
        EventRow.subject,
        literal(0).label("queued"),
        EventRow.seq.label("pos"),
        *[getattr(EventRow, n) for n in EVENT_FIELDS],
    )
    waiting = select(
        IntakeRow.subject, literal(1), IntakeRow.id, *[getattr(IntakeRow, n) for n in EVENT_FIELDS]
    )
    return union_all(logged, waiting).subquery()


def active_consents(session: Session) -> dict[tuple[str, str], int]:
    """Each customer's events in ledger order, folded by the ledger's projection."""
    both = _union()
    rows = session.execute(select(both).order_by(both.c.subject, both.c.queued, both.c.pos))
    counts: Counter[tuple[str, str]] = Counter()
    for subject, events in groupby(rows, key=lambda r: r.subject):
        for (_, recipient, purpose), state in project(as_event(r, subject) for r in events).items():
            # an objection (Art. 21) or a restriction (Art. 18) stops the use: not active
            if state.status == ConsentStatus.ACTIVE and not (state.objected or state.restricted):
                counts[(purpose, recipient)] += 1
    return dict(sorted(counts.items()))


def endings(session: Session, now: datetime) -> dict[tuple[str, int], int]:
    found: dict[tuple[str, int], int] = {}
    for days in WINDOWS:
        since = now - timedelta(days=days)
        for table in (EventRow, IntakeRow):
            rows = session.execute(
                select(table.type, func.count())
                .where(table.type.in_([t.value for t in ENDINGS]), table.at >= since)
                .group_by(table.type)
            )
            for kind, n in rows:
                found[(kind, days)] = found.get((kind, days), 0) + n
    return {(t.value, d): found.get((t.value, d), 0) for t in ENDINGS for d in WINDOWS}


def build(session: Session, now: datetime) -> Overview:
    undelivered = (
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.kind == BACKCHANNEL_LOGOUT, Delivery.delivered_at.is_(None))
    )
    checkpoint = latest_checkpoint(session)
    return Overview(
        customers=session.scalar(select(func.count()).select_from(User)) or 0,
        active=active_consents(session),
        endings=endings(session, now),
        logouts_waiting=session.scalar(undelivered.where(Delivery.failed_at.is_(None))) or 0,
        logouts_failed=session.scalar(undelivered.where(Delivery.failed_at.is_not(None))) or 0,
        checkpoint_size=checkpoint.size if checkpoint else None,
        checkpoint_at=aware(checkpoint.created_at) if checkpoint else None,
        queued=session.scalar(select(func.count()).select_from(IntakeRow)) or 0,
        consent_verified=verify_runs.latest(session, verify_runs.CONSENT),
        audit_verified=verify_runs.latest(session, verify_runs.AUDIT),
    )
