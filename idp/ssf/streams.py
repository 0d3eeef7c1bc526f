"""Stream configuration (SSF 1.0 §8.1.1): checking what a receiver asks for, and the
stream as the receiver sees it. Raises :class:`StreamError` with the HTTP status the spec
gives; nothing here knows about Flask."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.db import utcnow
from idp.events import signals
from idp.models import SsfEvent, SsfStream, SsfSubject
from idp.models.ssf import POLL, PUSH
from idp.outbound import OutboundPolicy, Refused, check_target

STATUSES = ("enabled", "paused", "disabled")
MAX_TEXT = 500
MAX_EVENTS = 20
#: what the receiver may set; the rest (stream_id, iss, aud, events_supported,
#: events_delivered) is the transmitter's and ignored in a request (§8.1.1)
RECEIVER_FIELDS = ("delivery", "events_requested", "description")


class StreamError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def bad(description: str) -> StreamError:
    return StreamError(400, "invalid_request", description)


def not_found() -> StreamError:
    return StreamError(404, "not_found", "No stream with that stream_id for this client.")


def poll_url(issuer: str, stream_id: str) -> str:
    return f"{issuer.rstrip('/')}/ssf/poll/{stream_id}"


def describe(issuer: str, stream: SsfStream) -> dict[str, Any]:
    """The stream configuration as returned to its receiver. The push authorization header
    is never echoed (it is the receiver's secret)."""
    delivery: dict[str, Any] = {"method": stream.delivery_method}
    if stream.delivery_method == PUSH:
        delivery["endpoint_url"] = stream.endpoint_url
    else:
        delivery["endpoint_url"] = poll_url(issuer, stream.id)
    out: dict[str, Any] = {
        "stream_id": stream.id,
        "iss": issuer,
        "aud": stream.client_id,
        "delivery": delivery,
        "events_supported": signals.supported(issuer),
        "events_requested": list(stream.events_requested or []),
        "events_delivered": list(stream.events_delivered or []),
        "min_verification_interval": 0,
    }
    if stream.description:
        out["description"] = stream.description
    return out


def find(session: Session, client_id: str, stream_id: Any) -> SsfStream:
    """The client's stream ``stream_id``; 404 for any other (another client's too)."""
    if not isinstance(stream_id, str) or not stream_id:
        raise bad("stream_id is required.")
    stream = session.get(SsfStream, stream_id[:36])
    if stream is None or stream.client_id != client_id or len(stream_id) > 36:
        raise not_found()
    return stream


def of_client(session: Session, client_id: str) -> list[SsfStream]:
    return list(session.scalars(select(SsfStream).where(SsfStream.client_id == client_id)))


def _apply(
    stream: SsfStream,
    body: dict[str, Any],
    issuer: str,
    outbound: OutboundPolicy,
    replace: bool,
) -> None:
    """Check and set the receiver-supplied fields; PUT (``replace``) resets omitted ones."""
    if "delivery" in body or replace:
        delivery = body.get("delivery", {"method": POLL})
        if not isinstance(delivery, dict):
            raise bad("delivery must be an object.")
        method = delivery.get("method")
        if method == PUSH:
            url = delivery.get("endpoint_url")
            try:
                check_target(url, outbound)
            except Refused as exc:
                raise bad(f"delivery.endpoint_url {exc.reason}.") from None
            auth = delivery.get("authorization_header")
            if auth is not None and (
                not isinstance(auth, str)
                or not auth
                or len(auth) > 2000
                or not auth.isprintable()
                or not auth.isascii()
            ):
                raise bad("delivery.authorization_header must be a printable ASCII string.")
            stream.delivery_method, stream.endpoint_url = PUSH, url
            stream.authorization_header = auth
        elif method == POLL:
            stream.delivery_method, stream.endpoint_url = POLL, None
            stream.authorization_header = None
        else:
            raise bad(f"delivery.method must be {PUSH} (push) or {POLL} (poll).")
    if "events_requested" in body or replace:
        requested = body.get("events_requested", [])
        if (
            not isinstance(requested, list)
            or len(requested) > MAX_EVENTS
            or not all(isinstance(e, str) and len(e) <= 200 for e in requested)
        ):
            raise bad(f"events_requested must be a list of at most {MAX_EVENTS} event type URIs.")
        supported = signals.supported(issuer)
        stream.events_requested = list(dict.fromkeys(requested))
        stream.events_delivered = [e for e in supported if e in requested]
    if "description" in body or replace:
        description = body.get("description")
        if description is not None and (
            not isinstance(description, str) or len(description) > MAX_TEXT
        ):
            raise bad(f"description must be a string of at most {MAX_TEXT} characters.")
        stream.description = description or None
    stream.updated_at = utcnow()


def create(
    session: Session, client_id: str, body: Any, issuer: str, outbound: OutboundPolicy
) -> SsfStream:
    """§8.1.1.1: one stream per client; a second is 409."""
    if not isinstance(body, dict):
        raise bad("The request body must be a JSON object.")
    if of_client(session, client_id):
        raise StreamError(
            409, "conflict", "This client has a stream already; update or delete it first."
        )
    stream = SsfStream(
        id=str(uuid.uuid4()),
        client_id=client_id,
        delivery_method=POLL,
        events_requested=[],
        events_delivered=[],
        status="enabled",
        created_at=utcnow(),
    )
    _apply(stream, body, issuer, outbound, replace=True)
    try:
        with session.begin_nested():  # two creates in flight: the unique index decides
            session.add(stream)
            session.flush()
    except IntegrityError:
        raise StreamError(
            409, "conflict", "This client has a stream already; update or delete it first."
        ) from None
    return stream


def update(
    session: Session,
    client_id: str,
    body: Any,
    issuer: str,
    outbound: OutboundPolicy,
    replace: bool,
) -> SsfStream:
    """§8.1.1.3 (PATCH: the fields given) and §8.1.1.4 (PUT: the whole configuration)."""
    if not isinstance(body, dict):
        raise bad("The request body must be a JSON object.")
    stream = find(session, client_id, body.get("stream_id"))
    _apply(stream, body, issuer, outbound, replace)
    return stream


def remove(session: Session, client_id: str, stream_id: Any) -> None:
    """§8.1.1.5: the stream and everything queued for it."""
    stream = find(session, client_id, stream_id)
    session.execute(delete(SsfEvent).where(SsfEvent.stream_id == stream.id))
    session.execute(delete(SsfSubject).where(SsfSubject.stream_id == stream.id))
    session.delete(stream)


def set_status(session: Session, stream: SsfStream, status: Any, reason: Any) -> None:
    """§8.1.2.2. Paused: SETs are held and sent when enabled again. Disabled: nothing is
    held (what was queued is dropped, recorded as such)."""
    if status not in STATUSES:
        raise bad("status must be enabled, paused or disabled.")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_TEXT):
        raise bad(f"reason must be a string of at most {MAX_TEXT} characters.")
    stream.status, stream.reason = status, reason
    stream.updated_at = utcnow()
    if status == "disabled":
        now = utcnow()
        for event in session.scalars(
            select(SsfEvent).where(
                SsfEvent.stream_id == stream.id, SsfEvent.acknowledged_at.is_(None)
            )
        ):
            event.failed_at = event.acknowledged_at = now
            event.attempt_log = [*event.attempt_log, {"at": now.isoformat(), "error": "disabled"}]


def checked_subject(issuer: str, subject: Any) -> dict[str, Any]:
    """A subject a receiver may add or remove (RFC 9493): ``iss_sub`` with Avain's issuer,
    or ``opaque``."""
    if not isinstance(subject, dict) or not isinstance(subject.get("format"), str):
        raise bad("subject must be a subject identifier object with a format.")
    fmt = subject["format"]
    if fmt == "iss_sub":
        if subject.get("iss") != issuer or not isinstance(subject.get("sub"), str):
            raise bad(f"An iss_sub subject needs iss {issuer} and a sub.")
        return {"format": fmt, "iss": issuer, "sub": subject["sub"][:255]}
    if fmt == "opaque" and isinstance(subject.get("id"), str):
        return {"format": fmt, "id": subject["id"][:255]}
    raise bad("subject format must be iss_sub or opaque.")


def mark_subject(
    session: Session, stream: SsfStream, subject: dict[str, Any], included: bool
) -> None:
    """§8.1.3.2/§8.1.3.3: remember that the receiver added or removed the subject."""
    key = signals.subject_key(subject)
    row = session.scalar(
        select(SsfSubject).where(SsfSubject.stream_id == stream.id, SsfSubject.subject_key == key)
    )
    if row is None:
        session.add(
            SsfSubject(stream_id=stream.id, subject_key=key, subject=subject, included=included)
        )
    else:
        row.included = included
    session.flush()
