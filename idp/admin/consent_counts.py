"""Counting consents in the database, one recipient at a time, not by reading every event
into Python: the Overview and each partner's data-sharing map.

A (customer, purpose) consent to one recipient stands when its newest event that gives or
ends consent (in ledger order: logged events by position, then queued ones by arrival)
gives it, no objection was ever recorded (Art. 21) and its newest restriction event is not
a restriction (Art. 18), exactly as :func:`consent.projection.apply` folds them. A consent
whose ``expires_at`` has passed is not counted, as :func:`consent.decide` would not release
on it. ``tests/admin/test_sharing_map.py`` checks the SQL against the projection over
random histories. The index on ``consent_events (recipient_id, purpose_id)`` (migration
0018) keeps each count to the recipient's own rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from consent.model import EventType
from consent.store import EventRow, IntakeRow

WINDOWS = (7, 30)  # days: the Overview's and the sharing map's withdrawals and objections

GRANTING = (EventType.GIVEN, EventType.RENEWED, EventType.MODIFIED)
STATUS_TYPES = (*GRANTING, EventType.REFUSED, EventType.WITHDRAWN, EventType.EXPIRED)
RESTRICTING = (EventType.RESTRICTION, EventType.RESTRICTION_LIFTED)


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
