"""The workload: a realistic five-purpose catalogue and seeded consent events for it."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from consent import Actor, Channel, ConsentEvent, EventType, LegalBasis, Need, Purpose

ORIGIN = "bench.avain.example/consent-log"
T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)
NEC, OPT = Need.NECESSARY, Need.OPTIONAL

Event = tuple[ConsentEvent, dict[str, Any]]  # an event and its details, as ledger.append takes

PURPOSES = {
    "garage_booking": Purpose(
        id="garage_booking",
        version=2,
        basis=LegalBasis.CONSENT,
        texts={},
        claims={
            "name": NEC,
            "car_registration": NEC,
            "email": OPT,
            "phone_number": OPT,
            "tire_purchase": OPT,
        },
        recipients=frozenset({"garage"}),
        validity_days=365,
    ),
    "account": Purpose(
        id="account",
        version=1,
        basis=LegalBasis.CONTRACT,
        texts={},
        claims={"name": NEC, "email": NEC, "locale": OPT},
        recipients=frozenset({"shop"}),
    ),
    "marketing": Purpose(
        id="marketing",
        version=3,
        basis=LegalBasis.CONSENT,
        texts={},
        claims={"email": OPT, "given_name": OPT, "phone_number": OPT, "locale": OPT},
        recipients=frozenset({"shop", "newsletter"}),
        validity_days=730,
    ),
    "analytics": Purpose(
        id="analytics",
        version=1,
        basis=LegalBasis.LEGITIMATE_INTEREST,
        texts={},
        claims={"locale": NEC, "purchase_history": OPT},
        recipients=frozenset({"shop"}),
    ),
    "insurance_quote": Purpose(
        id="insurance_quote",
        version=1,
        basis=LegalBasis.CONSENT,
        texts={},
        claims={
            "name": NEC,
            "birthdate": NEC,
            "car_registration": NEC,
            "address": OPT,
            "email": OPT,
        },
        recipients=frozenset({"insurance"}),
        validity_days=180,
    ),
}
PAIRS = [(r, p.id) for p in PURPOSES.values() for r in sorted(p.recipients)]
KINDS = [
    EventType.GIVEN,
    EventType.MODIFIED,
    EventType.RENEWED,
    EventType.WITHDRAWN,
    EventType.REFUSED,
    EventType.OBJECTION,
    EventType.RESTRICTION,
    EventType.RESTRICTION_LIFTED,
]
KIND_WEIGHTS = [60, 10, 5, 10, 8, 3, 2, 2]
GRANTING = {EventType.GIVEN, EventType.MODIFIED, EventType.RENEWED}
LANGS = ["fi", "fi", "fi", "sv", "en"]
CHANNELS = [Channel.CONSENT_SCREEN, Channel.CONSENT_SCREEN, Channel.ACCOUNT_PAGE]
NOTICE_HASH = hashlib.sha256(b"privacy notice 2026-11").hexdigest()


class EventGen:
    """Realistic events: many customers, all purposes, weighted event types, sealed details."""

    def __init__(self, seed: int, customers: int, prefix: str = "cust") -> None:
        self.rng = random.Random(seed)
        self.customers = customers
        self.prefix = prefix

    def customer(self, i: int) -> str:
        return f"{self.prefix}-{i:07d}"

    def event(
        self,
        customer_id: str,
        at: datetime,
        pair: tuple[str, str] | None = None,
        kind: EventType | None = None,
    ) -> Event:
        """One event (random pair and weighted type unless given) and its details."""
        rng = self.rng
        recipient, purpose_id = pair or rng.choice(PAIRS)
        purpose = PURPOSES[purpose_id]
        kind = kind or rng.choices(KINDS, KIND_WEIGHTS)[0]
        optional = sorted(purpose.optional())
        chosen, expires = self._grant(purpose, kind, optional, at)
        language = rng.choice(LANGS)
        session_id = f"{rng.getrandbits(64):016x}"
        event = ConsentEvent(
            customer_id=customer_id,
            recipient_id=recipient,
            purpose_id=purpose_id,
            purpose_version=purpose.version,
            type=kind,
            at=at,
            actor=Actor.CUSTOMER if rng.random() < 0.9 else Actor.ADMIN,
            channel=rng.choice(CHANNELS),
            claims=chosen,
            expires_at=expires,
            notice_version="2026-11",
            notice_hash=NOTICE_HASH,
            language=language,
            offered=tuple((c, False) for c in optional),
            session_id=session_id,
        )
        details = {
            "language": language,
            "notice": "2026-11",
            "offered": [[c, False] for c in optional],
            "session": session_id,
        }
        return event, details

    def _grant(
        self, purpose: Purpose, kind: EventType, optional: list[str], at: datetime
    ) -> tuple[frozenset[str], datetime | None]:
        """A granting event's optional claims (each chosen 60 % of the time) and expiry."""
        if kind not in GRANTING:
            return frozenset(), None
        chosen = frozenset(c for c in optional if self.rng.random() < 0.6)
        expires = at + timedelta(days=purpose.validity_days) if purpose.validity_days else None
        return chosen, expires

    def stream(self, n: int, start_seq: int = 1) -> list[Event]:
        """``n`` events of random customers, 3 s apart from the ``start_seq``-th."""
        return [
            self.event(
                self.customer(self.rng.randrange(self.customers)),
                T0 + timedelta(seconds=3 * (start_seq + i)),
            )
            for i in range(n)
        ]
