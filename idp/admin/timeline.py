"""A customer's consents as the console shows them: per recipient and purpose, the state
and every ledger event behind it, each with its proof.

An event's proof is checked on every view, not trusted from the row: its columns must still
hash to its stored leaf (RFC 9162 §2.1.1), and that leaf must be in the newest signed
checkpoint by an inclusion proof (§2.1.3.2) under a checkpoint note whose Ed25519 signature
verifies (:func:`consent.ledger.prove_in_latest`). An event still in the intake has no
place in the log yet and says so. "What was shown and chosen" comes from the event's sealed
details (notice, language, the boxes offered and their default, the claims chosen), which
only the customer's key opens: after erasure there is nothing to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent import ledger, merkle
from consent.keys import customer_key
from consent.model import ConsentState
from consent.sealing import SealError, open_sealed
from consent.store import CheckpointRow, EventRow, IntakeRow
from idp.db import aware
from idp.ledger import consents
from idp.models import Client, User

ALTERED = "altered"  # the event's columns no longer hash to its leaf
QUEUED = "queued"  # waiting for the sequencer: no place in the log yet


@dataclass(frozen=True)
class Step:
    """One ledger event: who acted, through what, what was shown and chosen, its proof."""

    seq: int | None  # None while queued
    at: datetime
    type: str
    actor: str
    channel: str
    claims: list[str]
    details: dict[str, Any]  # sealed details: notice, language, offered, chosen, reason
    proven: bool
    problem: str | None  # a consent.ledger.Unproven code, ALTERED or QUEUED

    @property
    def offered(self) -> list[tuple[str, bool]]:
        found = self.details.get("offered") or []
        return [(str(o.get("claim")), bool(o.get("default"))) for o in found if isinstance(o, dict)]


@dataclass
class Line:
    recipient_id: str
    recipient_name: str
    purpose_id: str
    purpose_title: str
    state: ConsentState | None
    steps: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class Timeline:
    lines: list[Line]
    checkpoint: CheckpointRow | None  # the newest signed one, every proof is against it

    @property
    def all_proven(self) -> bool:
        return all(s.proven for line in self.lines for s in line.steps if s.problem != QUEUED)


def _proof(session: Session, origin: str, row: EventRow) -> tuple[bool, str | None]:
    leaf = merkle.leaf_hash(ledger.leaf_data(row))
    if leaf.hex() != row.leaf_hash:
        return False, ALTERED
    found = ledger.prove_in_latest(session, origin, row.seq, leaf)
    return found.included, (str(found.failures[0].reason) if found.failures else None)


def _recipient_name(session: Session, ctx: consents.Context, recipient_id: str) -> str:
    recipient = ctx.catalogue.recipients.get(recipient_id)
    if recipient is not None:
        return recipient.name
    client = session.get(Client, recipient_id)
    return client.client_name if client is not None else recipient_id


def _purpose_title(ctx: consents.Context, purpose_id: str, lang: str) -> str:
    purpose = ctx.catalogue.purposes.get(purpose_id)
    text = (purpose.texts.get(lang) or purpose.texts.get("en")) if purpose else None
    return text.title if text else purpose_id


@dataclass(frozen=True)
class Target:
    """A (recipient, purpose) a rights request can be about."""

    recipient_id: str
    recipient_name: str
    purpose_id: str
    purpose_title: str

    @property
    def value(self) -> str:
        return f"{self.recipient_id}|{self.purpose_id}"


def request_targets(
    session: Session, ctx: consents.Context, found: Timeline, lang: str
) -> list[Target]:
    """Every purpose of the catalogue's recipients, and whatever else the customer's ledger
    names (a client of their own sign-in purpose)."""
    pairs = {(line.recipient_id, line.purpose_id) for line in found.lines}
    for recipient_id in ctx.catalogue.recipients:
        pairs |= {(recipient_id, p.id) for p in ctx.catalogue.purposes_for(recipient_id)}
    targets = [
        Target(r, _recipient_name(session, ctx, r), p, _purpose_title(ctx, p, lang))
        for r, p in pairs
    ]
    return sorted(targets, key=lambda t: (t.recipient_name, t.purpose_title))


def _opened(key: bytes, sealed: bytes, commitment: str, associated: bytes) -> dict[str, Any]:
    try:
        return open_sealed(key, sealed, commitment, associated)
    except (SealError, ValueError):  # tampered with: the proof says the rest
        return {}


def of_customer(session: Session, ctx: consents.Context, user: User, lang: str) -> Timeline:
    ck = customer_key(session, ctx.keys, user.id)
    checkpoint = ledger.latest_checkpoint(session)
    if ck is None:
        return Timeline([], checkpoint)
    lines: dict[tuple[str, str], Line] = {}

    def line(recipient_id: str, purpose_id: str) -> Line:
        if (recipient_id, purpose_id) not in lines:
            lines[(recipient_id, purpose_id)] = Line(
                recipient_id,
                _recipient_name(session, ctx, recipient_id),
                purpose_id,
                _purpose_title(ctx, purpose_id, lang),
                None,
            )
        return lines[(recipient_id, purpose_id)]

    for row in ledger.customer_rows(session, ctx.keys, user.id):
        proven, problem = _proof(session, ctx.keys.origin, row)
        details = _opened(ck.key, row.details, row.details_commitment, f"event:{row.seq}".encode())
        line(row.recipient_id, row.purpose_id).steps.append(
            _step(row, row.seq, details, proven, problem)
        )
    waiting = select(IntakeRow).where(IntakeRow.subject == ck.subject).order_by(IntakeRow.id)
    for queued in session.scalars(waiting):
        details = _opened(
            ck.key, queued.details, queued.details_commitment, f"intake:{queued.token}".encode()
        )
        line(queued.recipient_id, queued.purpose_id).steps.append(
            _step(queued, None, details, False, QUEUED)
        )
    for (recipient_id, purpose_id), state in ledger.states(session, ctx.keys, user.id).items():
        line(recipient_id, purpose_id).state = state
    return Timeline(
        sorted(lines.values(), key=lambda x: (x.recipient_name, x.purpose_title)), checkpoint
    )


def _step(
    row: EventRow | IntakeRow,
    seq: int | None,
    details: dict[str, Any],
    proven: bool,
    problem: str | None,
) -> Step:
    return Step(
        seq=seq,
        at=aware(row.at),
        type=row.type,
        actor=row.actor,
        channel=row.channel,
        claims=sorted(row.claims or []),
        details=details,
        proven=proven,
        problem=problem,
    )
