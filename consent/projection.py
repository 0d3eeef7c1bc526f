"""The current state is a projection of the append-only events (nothing is updated in place)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from consent.model import ConsentEvent, ConsentState, ConsentStatus, EventType

_GRANTING = {EventType.GIVEN, EventType.RENEWED, EventType.MODIFIED}
_ENDING = {
    EventType.REFUSED: ConsentStatus.REFUSED,
    EventType.WITHDRAWN: ConsentStatus.WITHDRAWN,
    EventType.EXPIRED: ConsentStatus.EXPIRED,
}

Key = tuple[str, str, str]  # (customer, recipient, purpose)

# Events that only take away from what recipients may have. A customer's rate limit never
# refuses these (GDPR Art. 7(3): withdrawing is as easy as giving); each needs a granting
# event (or a lifted restriction) before it can change anything again, so they cannot
# grow the log faster than the limited events do.
NARROWING = frozenset(
    {
        EventType.REFUSED,
        EventType.WITHDRAWN,
        EventType.EXPIRED,
        EventType.OBJECTION,
        EventType.RESTRICTION,
        EventType.COMPLAINT_OPENED,
    }
)


def apply(state: ConsentState | None, event: ConsentEvent) -> ConsentState:
    """The state after one more event about the same (customer, recipient, purpose)."""
    if state is None:
        state = ConsentState(
            customer_id=event.customer_id,
            recipient_id=event.recipient_id,
            purpose_id=event.purpose_id,
            purpose_version=event.purpose_version,
            status=ConsentStatus.NONE,
            claims=frozenset(),
            since=event.at,
        )
    if event.type in _GRANTING:
        return replace(
            state,
            status=ConsentStatus.ACTIVE,
            claims=event.claims,
            since=event.at,
            purpose_version=event.purpose_version,
            expires_at=event.expires_at,
            seq=event.seq,
        )
    if event.type in _ENDING:
        return replace(
            state,
            status=_ENDING[event.type],
            claims=frozenset(),
            since=event.at,
            purpose_version=event.purpose_version,
            expires_at=None,
            seq=None,
        )
    if event.type is EventType.OBJECTION:
        return replace(state, objected=True)
    if event.type is EventType.RESTRICTION:
        return replace(state, restricted=True)
    if event.type is EventType.RESTRICTION_LIFTED:
        return replace(state, restricted=False)
    # a pause leaves the consent as the customer chose it (and as they change it meanwhile),
    # so that closing the complaint restores exactly that
    if event.type is EventType.COMPLAINT_OPENED:
        return replace(state, paused=True)
    if event.type is EventType.COMPLAINT_CLOSED:
        return replace(state, paused=False)
    raise ValueError(f"unknown event type {event.type!r}")


def changes(state: ConsentState | None, event: ConsentEvent) -> bool:
    """Whether ``event`` changes what its (customer, recipient, purpose) stands at.

    The intake records only events that do (:func:`consent.ledger.submit_changes`), so a
    customer who repeats a choice, or undoes what was never done, does not grow the log.
    Every event type is recorded exactly when it changes the state, and then always:

    * ``given``, ``renewed``, ``modified``: unless the consent already stands with the same
      claims, the same purpose version and the same expiry. A renewal that moves the expiry,
      consent to other claims, or to a new version of the purpose is a change.
    * ``refused``: unless this version of the purpose is already refused.
    * ``withdrawn``, ``expired``: only while the consent stands. Withdrawing one never
      given, refused, withdrawn or expired changes nothing a recipient may have.
    * ``objection``, ``restriction``: unless already objected to, or restricted;
      ``restriction_lifted``: only while restricted.
    * ``complaint_opened``: unless already paused; ``complaint_closed``: only while paused.

    ``since`` is not a change: it moves with every event. Nor is the privacy notice an
    event was shown with, which the state does not hold (a changed notice that needs new
    consent changes the purpose's version).
    """
    if event.type in _GRANTING:
        return not (
            state is not None
            and state.status == ConsentStatus.ACTIVE
            and state.claims == event.claims
            and state.purpose_version == event.purpose_version
            and state.expires_at == event.expires_at
        )
    if event.type in (EventType.WITHDRAWN, EventType.EXPIRED):
        return state is not None and state.status == ConsentStatus.ACTIVE
    if event.type is EventType.REFUSED:
        return not (
            state is not None
            and state.status == ConsentStatus.REFUSED
            and state.purpose_version == event.purpose_version
        )
    if event.type is EventType.OBJECTION:
        return state is None or not state.objected
    if event.type is EventType.RESTRICTION:
        return state is None or not state.restricted
    if event.type is EventType.RESTRICTION_LIFTED:
        return state is not None and state.restricted
    if event.type is EventType.COMPLAINT_OPENED:
        return state is None or not state.paused
    if event.type is EventType.COMPLAINT_CLOSED:
        return state is not None and state.paused
    raise ValueError(f"unknown event type {event.type!r}")


def project(events: Iterable[ConsentEvent]) -> dict[Key, ConsentState]:
    """Fold events, in ledger order, into one state per (customer, recipient, purpose)."""
    states: dict[Key, ConsentState] = {}
    for event in events:
        key = (event.customer_id, event.recipient_id, event.purpose_id)
        states[key] = apply(states.get(key), event)
    return states
