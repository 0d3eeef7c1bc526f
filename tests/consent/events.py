"""Consent events for the ledger tests: ``ev(...)`` with defaults, at minutes after ``T0``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consent import Actor, Channel, ConsentEvent, EventType

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def ev(
    customer="customer-1",
    kind=EventType.GIVEN,
    purpose="garage_booking",
    recipient="garage",
    claims=("email",),
    minutes=0,
):
    return ConsentEvent(
        customer_id=customer,
        recipient_id=recipient,
        purpose_id=purpose,
        purpose_version=1,
        type=kind,
        at=T0 + timedelta(minutes=minutes),
        actor=Actor.CUSTOMER,
        channel=Channel.CONSENT_SCREEN,
        claims=frozenset(claims),
    )
