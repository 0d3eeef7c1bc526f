"""Signing and delivering the Security Event Tokens queued by :mod:`idp.events.signals`.

Each SET is signed once, at its first delivery or poll, with Avain's signing key (header
``typ: secevent+jwt``, RFC 8417 §2.3), and the signed token is kept: a redelivery is byte
for byte the same. A consent event gets its ledger position then (the sequencer gives it
after the commit that recorded the change; if it has not yet run, it is run here).

Push (RFC 8935): the outbox (:mod:`idp.events.outbox`) calls :func:`push_due` after every
commit that queued SETs and from its worker loop. For each enabled push stream, each
subject's SETs go in the order they were queued: a SET that fails holds back the later ones
of its subject until it is accepted, so a receiver that is down and comes back gets every
SET once, in order. Every attempt is recorded in ``attempt_log``. 202 (or 200, 204) is
accepted; 400 is the receiver's final refusal of that SET (§2.4), recorded and not retried;
anything else is retried with backoff. Streams are locked while being pushed (PostgreSQL
``SKIP LOCKED`` across processes, a lock within one), so no SET is sent twice at once.

Poll (RFC 8936): :func:`poll` acknowledges what the receiver acknowledges (``ack`` and
``setErrs``) and hands out the oldest SETs not yet acknowledged.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker
from urllib3.exceptions import HTTPError

from consent import ledger
from consent.ledger.columns import EVENTS, INTAKE
from consent.store import CustomerKeyRow
from idp import instruments, signing
from idp.db import aware, utcnow
from idp.events.kinds import SECURITY_EVENT
from idp.events.signals import LEDGER_REF
from idp.instruments import DeliveryOutcome
from idp.models import SsfEvent, SsfStream
from idp.models.ssf import PUSH
from idp.outbound import OutboundPolicy, Refused, post

log = logging.getLogger(__name__)

ALG = "RS256"  # the SET signing algorithm (every receiver's JOSE library has it)
TYP = "secevent+jwt"
BACKOFF_BASE = 2.0  # seconds before the second attempt, doubled after each failure
BACKOFF_MAX = 600.0  # at most ten minutes between attempts
MAX_ATTEMPTS = 60  # about nine hours of a receiver that is down, then the SET fails
BATCH = 200  # SETs of a stream looked at per pass
ACCEPTED = (200, 202, 204)

_local = threading.Lock()  # one pusher at a time in this process


def _ledger_seq(session: Session, ref: dict[str, Any]) -> int | None:
    """The position of the consent event ``ref`` names in the ledger, if it is there."""
    subject = session.scalar(
        select(CustomerKeyRow.subject).where(CustomerKeyRow.customer_id == ref["customer"])
    )
    if subject is None:  # erased: nothing of it may be found any more
        return None
    at = datetime.fromisoformat(ref["at"])
    rows = session.execute(
        select(EVENTS.c.seq, EVENTS.c.at).where(
            EVENTS.c.subject == subject,
            EVENTS.c.recipient_id == ref["recipient"],
            EVENTS.c.purpose_id == ref["purpose"],
            EVENTS.c.type == ref["type"],
        )
    ).all()
    for seq, when in rows:
        if aware(when) == aware(at):
            return int(seq)
    return None


def _sequence_pending(factory: sessionmaker[Session], keys: Any) -> None:
    """Give queued consent events their place in the log now (what the sequencer does)."""
    with factory() as other:
        while ledger.sequence(other, keys) >= ledger.DRAIN_BATCH:
            other.commit()
        other.commit()


def token_of(session: Session, event: SsfEvent, app: Flask) -> str:
    """The signed SET, made on first use (with its ledger position) and kept."""
    if event.token:
        return event.token
    claims = json.loads(json.dumps(event.claims))
    for body in claims.get("events", {}).values():
        ref = body.pop(LEDGER_REF, None) if isinstance(body, dict) else None
        if ref is not None:
            seq = _ledger_seq(session, ref)
            if seq is None and session.execute(select(INTAKE.c.id).limit(1)).first():
                factory = app.extensions["avain.sessionmaker"]
                _sequence_pending(factory, app.extensions["avain.ledger_keys"])
                with factory() as fresh:  # this session's snapshot may predate it (SQLite)
                    seq = _ledger_seq(fresh, ref)
            body["ledger_seq"] = seq
    event.token = signing.sign(session, ALG, claims, typ=TYP)
    return event.token


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


def _attempt(
    session: Session,
    app: Flask,
    stream: SsfStream,
    event: SsfEvent,
    timeout: float,
    outbound: OutboundPolicy,
    now: datetime,
) -> bool:
    """One POST of one SET (RFC 8935 §2); True when the receiver has it (or refused it for
    good), so the subject's next SET may follow."""
    entry: dict[str, Any] = {"at": now.isoformat()}
    done = False
    outcome = DeliveryOutcome.FAILED
    try:
        headers = {"Content-Type": "application/secevent+jwt", "Accept": "application/json"}
        if stream.authorization_header:
            headers["Authorization"] = stream.authorization_header
        status, body = post(
            stream.endpoint_url or "",
            token_of(session, event, app).encode(),
            headers,
            timeout,
            outbound,
            read_body=True,
        )
        entry["status"] = status
        if status in ACCEPTED:
            event.delivered_at = event.acknowledged_at = now
            done, outcome = True, DeliveryOutcome.DELIVERED
        elif status == 400:  # §2.4: the receiver will never take this SET
            entry["error"] = _receiver_error(body)
            event.failed_at = event.acknowledged_at = now
            done, outcome = True, DeliveryOutcome.DROPPED
    except Refused as exc:
        entry["error"] = "refused"
        entry["reason"] = f"{(stream.endpoint_url or '')[:200]} {exc.reason}"
    except (OSError, HTTPError) as exc:
        entry["error"] = type(exc).__name__
    except Exception as exc:  # one bad SET must not stop the others
        log.exception("SET %s to stream %s failed", event.jti, stream.id)
        entry["error"] = type(exc).__name__
    event.attempts += 1
    event.attempt_log = [*event.attempt_log, entry]
    if not done:
        if event.attempts >= MAX_ATTEMPTS:
            event.failed_at = now
            done, outcome = True, DeliveryOutcome.DROPPED
        else:
            event.next_attempt_at = now + _backoff(event.attempts)
    instruments.delivery(SECURITY_EVENT, outcome)
    return done


def _receiver_error(body: bytes) -> str:
    try:
        found = json.loads(body or b"{}")
    except ValueError:
        return "invalid_request"
    if isinstance(found, dict):
        return f"{found.get('err', 'invalid_request')}: {str(found.get('description', ''))[:200]}"
    return "invalid_request"


def _due_streams(session: Session, now: datetime) -> list[str]:
    return list(
        session.scalars(
            select(SsfStream.id)
            .where(
                SsfStream.delivery_method == PUSH,
                SsfStream.status == "enabled",
                select(SsfEvent.id)
                .where(
                    SsfEvent.stream_id == SsfStream.id,
                    SsfEvent.acknowledged_at.is_(None),
                    SsfEvent.failed_at.is_(None),
                    SsfEvent.next_attempt_at <= now,
                )
                .exists(),
            )
            .order_by(SsfStream.created_at)
        )
    )


def _push_stream(
    session: Session,
    app: Flask,
    stream_id: str,
    timeout: float,
    outbound: OutboundPolicy,
    now: datetime,
) -> int:
    stmt = select(SsfStream).where(SsfStream.id == stream_id, SsfStream.status == "enabled")
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    stream = session.scalar(stmt)
    if stream is None:  # another process is pushing it, or it was paused meanwhile
        return 0
    pending = list(
        session.scalars(
            select(SsfEvent)
            .where(
                SsfEvent.stream_id == stream.id,
                SsfEvent.acknowledged_at.is_(None),
                SsfEvent.failed_at.is_(None),
            )
            .order_by(SsfEvent.id)
            .limit(BATCH)
        )
    )
    held: set[str] = set()
    attempted = 0
    for event in pending:
        if event.subject_key in held:
            continue
        session.refresh(event)  # as it is now: another process may have sent it meanwhile
        if event.acknowledged_at is not None or event.failed_at is not None:
            continue
        if aware(event.next_attempt_at) > now:
            held.add(event.subject_key)
            continue
        attempted += 1
        if not _attempt(session, app, stream, event, timeout, outbound, now):
            held.add(event.subject_key)
        session.commit()  # each outcome is durable before the next SET goes
        stream = session.scalar(stmt)  # the lock again (a commit ends it), and the status
        if stream is None:
            break
    return attempted


def push_due(
    app: Flask,
    factory: sessionmaker[Session],
    timeout: float,
    outbound: OutboundPolicy,
    now: datetime | None = None,
) -> int:
    """Push what is due to every enabled push stream; returns the attempts made."""
    with _local, app.app_context():
        when = now or utcnow()
        total = 0
        with factory() as session:
            for stream_id in _due_streams(session, when):
                total += _push_stream(session, app, stream_id, timeout, outbound, when)
                session.commit()
        return total


def poll(
    session: Session,
    app: Flask,
    stream: SsfStream,
    acks: list[str],
    errors: dict[str, dict[str, Any]],
    max_events: int | None,
    now: datetime,
    redeliver_after: float = 30.0,
) -> tuple[dict[str, str], bool]:
    """RFC 8936 §2.4: record ``ack`` and ``setErrs``, then hand out up to ``max_events``
    SETs not acknowledged (oldest first; one handed out and not acknowledged comes again
    after ``redeliver_after`` seconds). Returns the SETs by jti and ``moreAvailable``."""
    mine = set(acks) | set(errors)
    if mine:
        for event in session.scalars(
            select(SsfEvent).where(
                SsfEvent.stream_id == stream.id,
                SsfEvent.jti.in_(mine),
                SsfEvent.acknowledged_at.is_(None),
            )
        ):
            entry: dict[str, Any] = {"at": now.isoformat(), "ack": event.jti in acks}
            if event.jti in errors:
                err = errors[event.jti]
                entry["error"] = f"{err.get('err', '')}: {str(err.get('description', ''))[:200]}"
                event.failed_at = now
            event.acknowledged_at = now
            event.attempt_log = [*event.attempt_log, entry]
    if max_events == 0 or stream.status != "enabled":
        return {}, False
    limit = max_events if max_events is not None else BATCH
    again = now - timedelta(seconds=redeliver_after)
    rows = list(
        session.scalars(
            select(SsfEvent)
            .where(
                SsfEvent.stream_id == stream.id,
                SsfEvent.acknowledged_at.is_(None),
                or_(SsfEvent.delivered_at.is_(None), SsfEvent.delivered_at <= again),
            )
            .order_by(SsfEvent.id)
            .limit(limit + 1)
        )
    )
    out: dict[str, str] = {}
    for event in rows[:limit]:
        out[event.jti] = token_of(session, event, app)
        event.delivered_at = now
        event.attempts += 1
        event.attempt_log = [*event.attempt_log, {"at": now.isoformat(), "polled": True}]
    return out, len(rows) > limit
