"""The current state is a projection of the append-only events (nothing is updated in place)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from consent.model import ConsentEvent, ConsentState, EventType

_GRANTING = {EventType.GIVEN, EventType.RENEWED, EventType.MODIFIED}
_ENDING = {
    EventType.REFUSED: "refused",
    EventType.WITHDRAWN: "withdrawn",
    EventType.EXPIRED: "expired",
}

Key = tuple[str, str, str]  # (customer, recipient, purpose)


def apply(state: ConsentState | None, event: ConsentEvent) -> ConsentState:
    """The state after one more event about the same (customer, recipient, purpose)."""
    if state is None:
        state = ConsentState(
            customer_id=event.customer_id,
            recipient_id=event.recipient_id,
            purpose_id=event.purpose_id,
            purpose_version=event.purpose_version,
            status="none",
            claims=frozenset(),
            since=event.at,
        )
    if event.type in _GRANTING:
        return replace(
            state,
            status="active",
            claims=event.claims,
            since=event.at,
            purpose_version=event.purpose_version,
            expires_at=event.expires_at,
        )
    if event.type in _ENDING:
        return replace(
            state,
            status=_ENDING[event.type],
            claims=frozenset(),
            since=event.at,
            purpose_version=event.purpose_version,
            expires_at=None,
        )
    if event.type is EventType.OBJECTION:
        return replace(state, objected=True)
    if event.type is EventType.RESTRICTION:
        return replace(state, restricted=True)
    if event.type is EventType.RESTRICTION_LIFTED:
        return replace(state, restricted=False)
    raise ValueError(f"unknown event type {event.type!r}")


def project(events: Iterable[ConsentEvent]) -> dict[Key, ConsentState]:
    """Fold events, in ledger order, into one state per (customer, recipient, purpose)."""
    states: dict[Key, ConsentState] = {}
    for event in events:
        key = (event.customer_id, event.recipient_id, event.purpose_id)
        states[key] = apply(states.get(key), event)
    return states
