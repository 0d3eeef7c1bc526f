"""The console's Overview: figures computed from the data itself, nothing estimated.

Active consents are counted in SQL per recipient, as each partner's data-sharing map counts
them (:mod:`idp.admin.consent_counts`, checked against the ledger's own projection over
random histories), so the page does not read every event; a consent past its expiry is not
active. Withdrawals and objections are counted from the events' own times; undelivered
logouts from the outbox; the last verification of each log from its record
(:mod:`idp.ledger.verify_runs`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consent.ledger import latest_checkpoint
from consent.model import EventType
from consent.store import EventRow, IntakeRow
from idp.admin.consent_counts import WINDOWS as WINDOWS, active_by_version
from idp.db import aware
from idp.events.kinds import BACKCHANNEL_LOGOUT
from idp.ledger import verify_runs
from idp.models import Complaint, Delivery, User, VerifyRun

ENDINGS = (EventType.WITHDRAWN, EventType.OBJECTION)


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
    complaints_open: int = 0  # complaints not closed yet (each pauses marketing)


def recipients(session: Session) -> list[str]:
    """Every recipient the ledger holds events for, logged or queued."""
    logged = select(EventRow.recipient_id).distinct()
    waiting = select(IntakeRow.recipient_id).distinct()
    return sorted(set(session.scalars(logged)) | set(session.scalars(waiting)))


def active_consents(session: Session, now: datetime) -> dict[tuple[str, str], int]:
    """(purpose, recipient) -> customers whose consent stands now, counted in SQL per
    recipient (:mod:`idp.admin.consent_counts`, the sharing map's own count), whatever
    the version consented to."""
    counts: Counter[tuple[str, str]] = Counter()
    for recipient in recipients(session):
        for (purpose, _version), n in active_by_version(session, recipient, now).items():
            counts[(purpose, recipient)] += n
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
        active=active_consents(session, now),
        endings=endings(session, now),
        logouts_waiting=session.scalar(undelivered.where(Delivery.failed_at.is_(None))) or 0,
        logouts_failed=session.scalar(undelivered.where(Delivery.failed_at.is_not(None))) or 0,
        checkpoint_size=checkpoint.size if checkpoint else None,
        checkpoint_at=aware(checkpoint.created_at) if checkpoint else None,
        queued=session.scalar(select(func.count()).select_from(IntakeRow)) or 0,
        consent_verified=verify_runs.latest(session, verify_runs.CONSENT),
        audit_verified=verify_runs.latest(session, verify_runs.AUDIT),
        complaints_open=session.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.closed_at.is_(None))
        )
        or 0,
    )
