"""The disclosure log: who received which of the customer's claims, why, how and when.

Every release that lets at least one customer claim out (an ID token, userinfo,
introspection, a token exchange) is recorded by :func:`record` with the claim names, never
their values, and the grounds :func:`consent.decide` released them on. Written the way the
ledger's intake is: no lock, no read, no transaction of its own. :func:`record` sends one
prebuilt INSERT in the caller's transaction, so the commit that already makes the release
durable (the token endpoint's, introspection's) makes the row durable too; no row is
written for a release that fails. A GET
/userinfo, which wrote nothing before, now commits this one row (the ledger's own tables
stay untouched). ``bench/disclosures.py`` measures what it costs.

Erasure (GDPR Art. 17): the rows are the customer's personal data, a history of who
received what about them, kept for their right of access (Art. 15(1)(c): the recipients
of their data) and the controller's accountability while the account exists. They are
deleted with the account (:func:`forget`, and the foreign key cascades): the proof that
each release was lawful stays in the consent ledger, whose entries survive erasure without
identifying anyone, so nothing is lost that the controller must still show. Keeping the
rows would keep exactly the link between a person and their recipients that erasure ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from consent import ledger
from consent.model import Decision, LegalBasis
from idp import direct
from idp.db import aware, mark_written
from idp.models import Disclosure, DisclosureChannel


def stamp(at: datetime) -> str:
    """A stored time as ISO 8601 in UTC (the same instant reads back alike on both backends)."""
    return aware(at).astimezone(UTC).isoformat()


def record(
    session: Session,
    user_id: str,
    recipient_id: str,
    decision: Decision,
    released: Iterable[str],
    channel: DisclosureChannel,
    now: datetime,
) -> bool:
    """Record that ``released`` (claim names, as they left) went to ``recipient_id``.

    Only claims ``decision`` released count; when none is left (nothing but protocol claims
    such as ``sub``, or values the customer never gave), nothing is recorded (False). The
    row is inserted in the caller's transaction, to be committed with it
    (:func:`idp.db.has_writes` tells the caller there is something to commit).
    """
    names = sorted(set(released) & set(decision.grounds))
    if not names:
        return False
    grouped: dict[tuple[Any, ...], list[str]] = {}
    for name in names:
        g = decision.grounds[name]
        key = (g.purpose_id, g.purpose_version, str(g.basis), g.consent_at, g.consent_seq)
        grouped.setdefault(key, []).append(name)
    grounds = []
    for (purpose, version, basis, consent_at, consent_seq), claims in sorted(
        grouped.items(), key=lambda item: (item[0][0], item[0][1])
    ):
        ground: dict[str, Any] = {
            "purpose": purpose,
            "version": version,
            "basis": basis,
            "claims": claims,
        }
        if basis == LegalBasis.CONSENT:
            ground["consent_at"] = stamp(consent_at) if consent_at else None
            ground["consent_seq"] = consent_seq
        grounds.append(ground)
    _INSERT.execute(
        session,
        {
            "user_id": user_id,
            "recipient_id": recipient_id,
            "channel": str(channel),
            "claims": names,
            "grounds": grounds,
            "at": now,
        },
    )
    mark_written(session)
    return True


_INSERT = direct.Statement(
    insert(cast(Table, Disclosure.__table__)).inline(),  # no RETURNING of the new id
    given=("user_id", "recipient_id", "channel", "claims", "grounds", "at"),
)


def of_customer(session: Session, user_id: str, limit: int | None = None) -> list[Disclosure]:
    """The customer's disclosures, newest first (the ``limit`` newest, if given)."""
    stmt = (
        select(Disclosure)
        .where(Disclosure.user_id == user_id)
        .order_by(Disclosure.at.desc(), Disclosure.id.desc())
    )
    return list(session.scalars(stmt if limit is None else stmt.limit(limit)))


def forget(session: Session, user_id: str) -> int:
    """Delete the customer's disclosure log with their account (see the module's docstring
    for why); returns how many rows went."""
    result = session.execute(delete(Disclosure).where(Disclosure.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Summary:
    """Identical releases to one recipient on one day, as the account page lists them."""

    recipient_id: str
    claims: tuple[str, ...]
    day: date
    last: datetime  # the newest of them
    times: int
    channels: tuple[str, ...]


def summarise(rows: Iterable[Disclosure]) -> list[Summary]:
    """Group releases of the same claims to the same recipient on the same (UTC) day;
    newest first. Channels do not split a group: the customer sees who got what."""
    groups: dict[tuple[str, tuple[str, ...], date], list[Disclosure]] = {}
    for row in rows:
        at = aware(row.at)
        groups.setdefault((row.recipient_id, tuple(row.claims), at.date()), []).append(row)
    out = [
        Summary(
            recipient_id=recipient,
            claims=claims,
            day=day,
            last=max(aware(r.at) for r in members),
            times=len(members),
            channels=tuple(sorted({r.channel for r in members})),
        )
        for (recipient, claims, day), members in groups.items()
    ]
    return sorted(out, key=lambda s: (s.last, s.recipient_id), reverse=True)


def resolve(
    session: Session, keys: ledger.LedgerKeys, user_id: str, rows: list[Disclosure]
) -> dict[tuple[str, str, str], int]:
    """The log positions of consent events that rows name only by time (released while the
    event still waited in the intake), keyed by (recipient, purpose, time as stored)."""
    wanted = {
        (row.recipient_id, g["purpose"], g["consent_at"])
        for row in rows
        for g in row.grounds
        if g.get("consent_at") and g.get("consent_seq") is None
    }
    if not wanted:
        return {}
    found = {}
    for event in ledger.customer_rows(session, keys, user_id):
        key = (event.recipient_id, event.purpose_id, stamp(event.at))
        if key in wanted:
            found[key] = event.seq
    return found


def as_json(row: Disclosure, positions: dict[tuple[str, str, str], int]) -> dict[str, Any]:
    """One disclosure as the export and ``idp ledger disclosures --json`` give it."""
    grounds = []
    for g in row.grounds:
        g = dict(g)
        if g.get("consent_at") and g.get("consent_seq") is None:
            g["consent_seq"] = positions.get((row.recipient_id, g["purpose"], g["consent_at"]))
        grounds.append(g)
    return {
        "recipient": row.recipient_id,
        "channel": row.channel,
        "claims": list(row.claims),
        "grounds": grounds,
        "at": stamp(row.at),
    }


def export(session: Session, keys: ledger.LedgerKeys, user_id: str) -> list[dict[str, Any]]:
    """The customer's disclosure log for their export (GDPR Art. 15, 20), newest first."""
    rows = of_customer(session, user_id)
    positions = resolve(session, keys, user_id, rows)
    return [as_json(row, positions) for row in rows]
