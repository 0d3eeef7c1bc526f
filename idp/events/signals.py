"""Shared Signals Framework 1.0: the Security Event Tokens (RFC 8417) Avain queues for its
partners' streams, each in the transaction of the change it reports (an outbox row), so a
crash loses none. Signing and delivery are in :mod:`idp.events.sets`.

Event types (``events`` member of each SET):

* ``https://schemas.openid.net/secevent/caep/event-type/session-revoked`` (CAEP 1.0): the
  customer's session with the client ended: logout, "sign out everywhere", a password
  change, a deleted account. Sent to the clients that took part in the session, and to
  clients whose offline grants ended with it.
* ``https://schemas.openid.net/secevent/risc/event-type/account-purged`` (RISC 1.0): the
  customer deleted their account (GDPR Art. 17). Sent to every client that had the
  customer (a grant, a code, or a consent record).
* ``{issuer}/ssf/event-type/consent-withdrawn``, ``{issuer}/ssf/event-type/consent-objected``
  and ``{issuer}/ssf/event-type/consent-restricted`` (Avain's own, under its issuer URL,
  which also serves a description of each): the customer withdrew a consent (GDPR Art.
  7(3)), objected to processing on legitimate interest (Art. 21) or restricted it (Art. 18).
  Sent to the recipient of that consent only. Members: ``purpose`` (the catalogue's purpose
  id), ``recipient`` (the client id), ``event_timestamp`` (seconds), ``initiating_entity``
  (``user`` or ``admin``) and ``ledger_seq``, the event's position in Avain's consent ledger
  (its proof that the change was recorded), or null when the customer's records were
  erased before it was sequenced.
* ``https://schemas.openid.net/secevent/ssf/event-type/verification`` (SSF 1.0 §8.1.4):
  asked for by the receiver; its subject is the stream (``opaque``).

Each SET names the customer as the client knows them: ``sub_id`` in the ``iss_sub`` format
(RFC 9493 §3.2.5) with the client's own ``sub`` (pairwise when the client is pairwise).
Streams get only the event types they asked for (``events_delivered``), nothing while
disabled, and nothing about a subject they removed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp import subjects
from idp.events.kinds import SIGNALS_QUEUED
from idp.models import Client, SsfEvent, SsfStream, SsfSubject, User

SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
ACCOUNT_PURGED = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"
CONSENT_EVENTS = ("consent-withdrawn", "consent-objected", "consent-restricted")
#: a consent right (``consent.model.EventType`` value) -> Avain's event type name
CONSENT_EVENT_OF = {
    "withdrawn": "consent-withdrawn",
    "objection": "consent-objected",
    "restriction": "consent-restricted",
    # a complaint pauses marketing: processing restricted while it is handled (Art. 18(1))
    "complaint_opened": "consent-restricted",
}
#: the key in a queued SET's claims that asks the signer for the ledger position
LEDGER_REF = "_ledger"


def avain_event_type(issuer: str, name: str) -> str:
    return f"{issuer.rstrip('/')}/ssf/event-type/{name}"


def supported(issuer: str) -> list[str]:
    """What a stream can ask for (``events_supported``); verification is always sent."""
    return [
        SESSION_REVOKED,
        ACCOUNT_PURGED,
        *(avain_event_type(issuer, n) for n in CONSENT_EVENTS),
    ]


def iss_sub(issuer: str, sub: str) -> dict[str, str]:
    return {"format": "iss_sub", "iss": issuer, "sub": sub}


def subject_key(subject: dict[str, Any]) -> str:
    """One string per subject, for ordering and for the stream's subject list."""
    fmt = str(subject.get("format"))
    if fmt == "iss_sub":
        return f"iss_sub|{subject.get('iss')}|{subject.get('sub')}"
    if fmt == "opaque":
        return f"opaque|{subject.get('id')}"
    if fmt == "email":
        return f"email|{str(subject.get('email', '')).lower()}"
    return f"{fmt}|" + "|".join(f"{k}={subject[k]}" for k in sorted(subject) if k != "format")


def new_set(
    issuer: str, stream: SsfStream, subject: dict[str, Any], event_type: str, body: dict[str, Any]
) -> SsfEvent:
    """An SET for ``stream`` (RFC 8417 §2.2; SSF 1.0 §4: ``sub_id`` at the top level)."""
    claims = {
        "iss": issuer,
        "aud": stream.client_id,
        "iat": int(time.time()),
        "jti": secrets.token_urlsafe(24),
        "sub_id": subject,
        "events": {event_type: body},
    }
    return SsfEvent(
        stream_id=stream.id,
        jti=claims["jti"],
        event_type=event_type,
        subject_key=subject_key(subject),
        claims=claims,
        attempts=0,
        attempt_log=[],
    )


def _streams(session: Session, client_id: str, event_type: str) -> list[SsfStream]:
    found = session.scalars(
        select(SsfStream).where(SsfStream.client_id == client_id, SsfStream.status != "disabled")
    )
    return [s for s in found if event_type in (s.events_delivered or [])]


def _removed(session: Session, stream: SsfStream, key: str) -> bool:
    included = session.scalar(
        select(SsfSubject.included).where(
            SsfSubject.stream_id == stream.id, SsfSubject.subject_key == key
        )
    )
    return included is False


def queue(
    session: Session,
    issuer: str,
    user: User,
    client: Client,
    event_type: str,
    body: dict[str, Any],
) -> list[SsfEvent]:
    """Queue the event about ``user`` for every stream of ``client`` that gets it."""
    streams = _streams(session, client.client_id, event_type)
    if not streams:
        return []
    subject = iss_sub(issuer, subjects.subject(session, user, client))
    queued = []
    for stream in streams:
        if _removed(session, stream, subject_key(subject)):
            continue
        row = new_set(issuer, stream, subject, event_type, dict(body))
        session.add(row)
        queued.append(row)
    if queued:
        session.flush()
        session.info[SIGNALS_QUEUED] = True
    return queued


def queue_verification(
    session: Session, issuer: str, stream: SsfStream, state: str | None
) -> SsfEvent:
    body = {"state": state} if state is not None else {}
    row = new_set(issuer, stream, {"format": "opaque", "id": stream.id}, VERIFICATION, body)
    session.add(row)
    session.flush()
    session.info[SIGNALS_QUEUED] = True
    return row


def session_revoked(
    session: Session,
    issuer: str,
    user: User,
    clients: Iterable[Client],
    initiating_entity: str = "user",
) -> int:
    """CAEP session-revoked to each client; returns the SETs queued."""
    body = {"event_timestamp": int(time.time()), "initiating_entity": initiating_entity}
    return sum(len(queue(session, issuer, user, c, SESSION_REVOKED, body)) for c in clients)


def account_purged(session: Session, issuer: str, user: User, clients: Iterable[Client]) -> int:
    """RISC account-purged to each client; returns the SETs queued."""
    return sum(len(queue(session, issuer, user, c, ACCOUNT_PURGED, {})) for c in clients)


def consent_changed(
    session: Session,
    issuer: str,
    user: User,
    client: Client,
    purpose_id: str,
    right: str,
    at: datetime,
    initiating_entity: str,
) -> int:
    """Avain's consent event to the recipient; ``right`` is the ledger event type
    (withdrawn, objection, restriction). The ledger position is filled in when the SET is
    signed (:mod:`idp.events.sets`): the sequencer gives it after this commit."""
    name = CONSENT_EVENT_OF.get(right)
    if name is None:
        return 0
    body: dict[str, Any] = {
        "event_timestamp": int(at.timestamp()),
        "initiating_entity": initiating_entity,
        "purpose": purpose_id,
        "recipient": client.client_id,
        LEDGER_REF: {
            "customer": user.id,
            "recipient": client.client_id,
            "purpose": purpose_id,
            "type": right,
            "at": at.isoformat(),
        },
    }
    return len(queue(session, issuer, user, client, avain_event_type(issuer, name), body))
