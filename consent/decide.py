"""``decide()``: which claims may leave Avain for a recipient, and why the others may not.

A pure function of the request, the recipient's purposes, the customer's current consent
states and the time: no storage, no clock of its own. GDPR Art. 6(1) and 7: a claim is
released under a purpose only on that purpose's legal basis; a consent-based purpose
needs a current, unexpired consent to its present version, and an optional claim must
have been chosen. Restriction (Art. 18) stops release; objection (Art. 21) stops
release on legitimate interest; an open complaint stops release under a marketing purpose
(the state is ``paused``), whatever its basis, until the complaint is closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from consent.model import (
    ConsentState,
    ConsentStatus,
    Decision,
    Ground,
    LegalBasis,
    Purpose,
    Reason,
    ReleaseRequest,
)

# When no purpose lets a claim out, report the reason that says most to the customer.
_PRIORITY = (
    Reason.RESTRICTED,
    Reason.PAUSED,
    Reason.OBJECTED,
    Reason.WITHDRAWN,
    Reason.REFUSED,
    Reason.EXPIRED,
    Reason.OUTDATED,
    Reason.NOT_CHOSEN,
    Reason.NO_CONSENT,
    Reason.NO_PURPOSE,
)


def _consent_valid(purpose: Purpose, state: ConsentState | None, now: datetime) -> Reason | None:
    if state is None or state.status == ConsentStatus.NONE:
        return Reason.NO_CONSENT
    if state.status == ConsentStatus.REFUSED:
        return Reason.REFUSED
    if state.status == ConsentStatus.WITHDRAWN:
        return Reason.WITHDRAWN
    if state.status == ConsentStatus.EXPIRED or (
        state.expires_at is not None and state.expires_at <= now
    ):
        return Reason.EXPIRED
    if state.purpose_version != purpose.version:
        return Reason.OUTDATED
    return None


def _verdict(
    claim: str, purpose: Purpose, state: ConsentState | None, now: datetime
) -> Reason | None:
    """None when ``purpose`` lets ``claim`` out, else the reason it does not."""
    if state is not None and state.restricted:
        return Reason.RESTRICTED
    if state is not None and state.paused:
        return Reason.PAUSED
    necessary = claim in purpose.necessary()
    if purpose.basis is not LegalBasis.CONSENT and necessary:
        if (
            purpose.basis is LegalBasis.LEGITIMATE_INTEREST
            and state is not None
            and (state.objected)
        ):
            return Reason.OBJECTED
        return None
    problem = _consent_valid(purpose, state, now)
    if problem is not None:
        return problem
    assert state is not None
    if necessary or claim in state.claims:
        return None
    return Reason.NOT_CHOSEN


def _ground(claim: str, purpose: Purpose, state: ConsentState | None) -> Ground:
    """What a release :func:`_verdict` allowed rests on: the purpose's own basis for a
    necessary claim of a purpose not based on consent, else the consent that stands."""
    if purpose.basis is not LegalBasis.CONSENT and claim in purpose.necessary():
        return Ground(purpose.id, purpose.version, purpose.basis)
    assert state is not None  # _verdict released it on a consent that stands
    return Ground(purpose.id, purpose.version, LegalBasis.CONSENT, state.since, state.seq)


def decide(
    request: ReleaseRequest,
    purposes: Sequence[Purpose],
    states: Mapping[str, ConsentState],
    now: datetime,
) -> Decision:
    """Decide each requested claim.

    ``purposes`` are the recipient's purposes (current versions); ``states`` maps a
    purpose id to this customer's state for this recipient.
    """
    released: dict[str, str] = {}
    withheld: dict[str, str] = {}
    grounds: dict[str, Ground] = {}
    for claim in sorted(request.claims):
        reasons: list[Reason] = []
        for purpose in purposes:
            if claim not in purpose.claims or request.recipient_id not in purpose.recipients:
                continue
            state = states.get(purpose.id)
            reason = _verdict(claim, purpose, state, now)
            if reason is None:
                released[claim] = purpose.id
                grounds[claim] = _ground(claim, purpose, state)
                break
            reasons.append(reason)
        else:
            reasons.append(Reason.NO_PURPOSE)
            withheld[claim] = str(min(reasons, key=_PRIORITY.index))
    return Decision(released=released, withheld=withheld, grounds=grounds)
