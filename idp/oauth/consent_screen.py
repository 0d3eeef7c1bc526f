"""What the consent screen shows, and reading the customer's answer from its form.

One structure per screen (GDPR Art. 7(2) and 13: clearly distinguishable, plain language):
who asks and who is the controller; what is always shared and on which basis (contract,
legitimate interest with the right to object, legal obligation); then each purpose on
consent as one switch with its claims beneath. A client outside the catalogue is asked all
or nothing, and the screen says so. What the ledger records (:func:`idp.ledger.consents.record`)
is built from the same ``Ask`` objects the screen was rendered from, plus :meth:`Screen.shown`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consent.catalogue import Catalogue
from consent.model import LegalBasis, Purpose
from idp.ledger import consents
from idp.ledger.labels import in_reading_order
from idp.models import Client


@dataclass(frozen=True)
class Always:
    """A purpose not resting on consent: its necessary claims go whatever the customer ticks."""

    purpose: Purpose
    claims: list[str]

    @property
    def objectable(self) -> bool:
        """GDPR Art. 21: processing on legitimate interest can be objected to."""
        return self.purpose.basis is LegalBasis.LEGITIMATE_INTEREST


@dataclass(frozen=True)
class Screen:
    recipient_id: str
    recipient_name: str
    listed: bool  # a catalogue recipient (else a client outside the catalogue)
    logo: str | None
    controller: str
    always: list[Always]
    choices: list[consents.Ask]  # consent purposes (a switch each), others' optional claims
    all_or_nothing: consents.Ask | None  # a client outside the catalogue

    def shown(self) -> dict[str, Any]:
        """What each event's details record of the screen beyond its own purpose."""
        return {
            "controller": self.controller,
            "always_shown": {a.purpose.id: a.claims for a in self.always},
        }


def build(
    catalogue: Catalogue,
    client: Client,
    asks: list[consents.Ask],
    default_controller: str,
    recipient: Client | None = None,
) -> Screen:
    """The screen for ``asks``; ``recipient`` is the partner of a handoff (else the client)."""
    target = recipient or client
    listed = catalogue.recipients.get(target.client_id)
    always = [
        Always(p, in_reading_order(p.necessary()))
        for p in catalogue.purposes_for(target.client_id)
        if p.basis is not LegalBasis.CONSENT and p.necessary()
    ]
    signin = next((a for a in asks if a.purpose.id.startswith(consents.SIGNIN_PREFIX)), None)
    return Screen(
        recipient_id=target.client_id,
        recipient_name=listed.name if listed else target.client_name,
        listed=listed is not None,
        logo=listed.logo if listed else None,
        controller=(listed.controller if listed else None) or default_controller,
        always=always,
        choices=[
            a
            for a in asks
            if a is not signin and (a.purpose.basis is LegalBasis.CONSENT or a.optional)
        ],
        all_or_nothing=signin,
    )


def read_choices(asks: list[consents.Ask], form: Mapping[str, str]) -> dict[str, set[str] | None]:
    """The customer's answer per purpose: the claims chosen, or None (refused).

    A purpose on consent is agreed to when its switch is on *or* any of its claims is
    ticked: ticking a claim is an affirmative act towards that purpose (the page's script
    turns the switch on with it), never a silent refusal. A switch left off with nothing
    ticked is a refusal. Purposes on another basis have no switch: their optional claims are
    what is ticked. A client outside the catalogue is all or nothing: Allow gives every
    claim listed.
    """
    choices: dict[str, set[str] | None] = {}
    for ask in asks:
        pid = ask.purpose.id
        ticked = {c for c in ask.optional if form.get(f"claim:{pid}:{c}") == "on"}
        if pid.startswith(consents.SIGNIN_PREFIX):
            choices[pid] = set(ask.necessary)
        elif ask.purpose.basis is LegalBasis.CONSENT:
            agreed = form.get(f"agree:{pid}") == "on" or bool(ticked)
            choices[pid] = ticked if agreed else None
        else:
            choices[pid] = ticked
    return choices
