"""Storing, releasing, listing and deleting the claims partners contribute.

Services in the codebase's shape: a ``Session`` first, ``flush()`` at most, no request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.db import aware, upsert, utcnow
from idp.models import Client, ContributedClaim

#: the claims whose values come from partners, not from the customer's own profile
CONTRIBUTED_CLAIMS = frozenset({"tire_purchase"})
_KEY = ("user_id", "claim", "source_client_id", "source_ref")


@dataclass(frozen=True)
class Contribution:
    """One row as the customer sees it: what, from whom, when."""

    id: int
    claim: str
    value: dict[str, Any]
    source_client_id: str
    source_name: str
    source_ref: str
    recorded_at: datetime

    def released(self) -> dict[str, Any]:
        """The claim value: the stored value with its source."""
        return {
            **self.value,
            "source": {"client_id": self.source_client_id, "name": self.source_name},
        }


class ConflictingWrite(Exception):
    """The same reference was recorded before with a different value."""


def record(
    session: Session, user_id: str, client_id: str, claim: str, ref: str, value: dict[str, Any]
) -> tuple[Contribution, bool]:
    """Record a value once per (customer, claim, source, reference); a retry with the same
    value finds the first row (``created`` False), one with another value is refused."""
    for _attempt in range(2):  # the second: the row was deleted between the two statements
        stmt = (
            upsert(session)(ContributedClaim)
            .values(
                user_id=user_id,
                claim=claim,
                value=value,
                source_client_id=client_id,
                source_ref=ref,
                recorded_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=list(_KEY))
            .returning(ContributedClaim.id)
        )
        created = session.execute(stmt).scalar_one_or_none() is not None
        found = _of(session, user_id, claim=claim, client_id=client_id, ref=ref)
        if found:
            if found[0].value != value:
                raise ConflictingWrite
            return found[0], created
    raise ConflictingWrite


def latest_values(session: Session, user_id: str, names: set[str]) -> dict[str, Any]:
    """The released value of each contributed claim in ``names``: the latest purchase by
    its own time (then by when it was recorded)."""
    out: dict[str, Any] = {}
    for claim in sorted(names & CONTRIBUTED_CLAIMS):
        rows = _of(session, user_id, claim=claim)
        if rows:
            latest = max(rows, key=lambda r: (str(r.value.get("bought_at", "")), r.recorded_at))
            out[claim] = latest.released()
    return out


def of_user(session: Session, user_id: str) -> list[Contribution]:
    """Everything partners added for the customer, newest first."""
    return sorted(_of(session, user_id), key=lambda r: r.recorded_at, reverse=True)


def remove(session: Session, user_id: str, contribution_id: int) -> bool:
    """The customer deletes one entry; False when it is not theirs (or gone)."""
    result = session.execute(
        delete(ContributedClaim).where(
            ContributedClaim.id == contribution_id, ContributedClaim.user_id == user_id
        )
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def export(session: Session, user_id: str) -> list[dict[str, Any]]:
    """The entries in the customer's JSON export."""
    return [
        {
            "claim": c.claim,
            "value": c.value,
            "source": {"client_id": c.source_client_id, "name": c.source_name},
            "source_reference": c.source_ref,
            "recorded_at": c.recorded_at.isoformat(),
        }
        for c in of_user(session, user_id)
    ]


def _of(
    session: Session,
    user_id: str,
    claim: str | None = None,
    client_id: str | None = None,
    ref: str | None = None,
) -> list[Contribution]:
    stmt = (
        select(ContributedClaim, Client.client_name)
        .join(Client, Client.client_id == ContributedClaim.source_client_id)
        .where(ContributedClaim.user_id == user_id)
    )
    if claim is not None:
        stmt = stmt.where(ContributedClaim.claim == claim)
    if client_id is not None:
        stmt = stmt.where(ContributedClaim.source_client_id == client_id)
    if ref is not None:
        stmt = stmt.where(ContributedClaim.source_ref == ref)
    return [
        Contribution(
            id=row.id,
            claim=row.claim,
            value=row.value,
            source_client_id=row.source_client_id,
            source_name=name,
            source_ref=row.source_ref,
            recorded_at=aware(row.recorded_at),
        )
        for row, name in session.execute(stmt)
    ]
